#!/bin/sh
# pypack launcher: starts an app image's process the way the CNB launch contract says.
# POSIX sh only (dash, busybox sh and bash behave the same): run images may have no Python.
#
# Invoked as /cnb/process/<type> [args], or /cnb/lifecycle/launcher [--] [cmd args].
# Reads <layers>/config/launch.sh, written by the pypack exporter next to metadata.toml: the
# processes and buildpacks of metadata.toml as shell-quoted assignments.
# Exit codes: 1 when the launch data cannot be read, 11 for an unsupported Platform API,
# 82 for any other launch failure; otherwise the process's own code (it is exec'd).

exec 4>&1  # the real stdout, for exec.d programs whose fd 1 would be a capture pipe

cnb_fail() {  # cnb_fail MESSAGE [CODE]: launch failures (82) read 'failed to launch: ...'
  if [ "${2:-82}" = 82 ]; then set -- "failed to launch: $1" 82; fi
  printf 'ERROR: %s\n' "$1" >&2
  exit "$2"
}
cnb_quote() { printf "'%s'" "$(printf '%s' "$1" | sed "s/'/'\\\\''/g")"; }

launch_args=''
for a in "$@"; do launch_args="$launch_args $(cnb_quote "$a")"; done

layers=${CNB_LAYERS_DIR:-/layers}
app=${CNB_APP_DIR:-/workspace}
data="$layers/config/launch.sh"
[ -r "$data" ] || cnb_fail "failed to read launch data $data" 1
# shellcheck disable=SC1090
. "$data" || cnb_fail "failed to read launch data $data" 1

platform_api=${CNB_PLATFORM_API:-}
case "$platform_api" in
  0.7|0.8|0.9|0.10|0.11|0.12|0.13|0.14|0.15) ;;
  '') cnb_fail "failed to get platform API version; please set 'CNB_PLATFORM_API'" 11 ;;
  *) cnb_fail "platform API version '$platform_api' is incompatible with the lifecycle" 11 ;;
esac
exec_env=${CNB_EXEC_ENV:-production}
if [ -n "${CNB_PROCESS_TYPE:-}" ]; then
  printf 'Warning: CNB_PROCESS_TYPE is not supported in Platform API %s\n' "$platform_api" >&2
  printf "Warning: Run with ENTRYPOINT '%s' to invoke the '%s' process type\n" \
    "$CNB_PROCESS_TYPE" "$CNB_PROCESS_TYPE" >&2
fi
no_start='determine start command'

# --- choose what to run -----------------------------------------------------------------------

cnb_eligible() {  # cnb_eligible "<exec-env list>"
  [ "$platform_api" != 0.15 ] && return 0
  case " $1 " in '  '|*' * '*|*" $exec_env "*) return 0 ;; esac
  return 1
}

self=${0##*/}
self=${self%.exe}
ptype=''
i=1
while [ "$i" -le "${CNB_P_COUNT:-0}" ]; do
  eval "t=\$CNB_P_${i}_TYPE"
  if [ "$t" = "$self" ]; then
    eval "ee=\$CNB_P_${i}_EXEC_ENV"
    cnb_eligible "$ee" || cnb_fail "$no_start: process type $self was not found"
    ptype=$t
    pindex=$i
    break
  fi
  i=$((i + 1))
done

direct=false
workdir=$app
if [ -n "$ptype" ]; then
  eval "direct=\$CNB_P_${pindex}_DIRECT"
  eval "wd=\$CNB_P_${pindex}_WORKDIR"
  [ -n "$wd" ] && workdir=$wd
  eval "bpapi=\$CNB_P_${pindex}_BP_API"
  eval "command=\$CNB_P_${pindex}_COMMAND"    # shell-quoted words
  eval "defargs=\$CNB_P_${pindex}_ARGS"       # shell-quoted words
  eval "set -- $command" ; ncommand=$#
  [ "$ncommand" -eq 0 ] && cnb_fail "no command provided for process type \"$ptype\""
  user_args=$launch_args
  case "$bpapi" in 0.[0-8]) old_bp=true ;; *) old_bp=false ;; esac
  # before Platform API 0.10 user arguments are always appended to the process's arguments
  case "$platform_api" in 0.[7-9]) old_platform=true ;; *) old_platform=false ;; esac
  if [ -z "$user_args" ]; then
    words="$command $defargs"
  elif [ "$old_platform" = false ] && { [ "$ncommand" -gt 1 ] || [ "$old_bp" = false ]; }; then
    words="$command $user_args"
  else
    words="$command $defargs $user_args"
  fi
else
  eval "set -- $launch_args"
  [ $# -eq 0 ] && cnb_fail "$no_start: when there is no default process a command is required"
  if [ "$1" = "--" ]; then
    shift
    [ $# -eq 0 ] && cnb_fail "$no_start: when there is no default process a command is required"
    direct=true
  fi
  words=''
  for a in "$@"; do words="$words $(cnb_quote "$a")"; done
fi

# --- the environment --------------------------------------------------------------------------

# As the reference launcher: only these three stay out of the app's environment, so a process
# can start another process type through /cnb/process/<type>.
unset CNB_APP_DIR CNB_LAYERS_DIR CNB_PROCESS_TYPE
clean_path=''
old_ifs=$IFS; IFS=:
for p in ${PATH:-}; do
  case "$p" in /cnb/process|/cnb/lifecycle) ;; *) clean_path="${clean_path:+$clean_path:}$p" ;; esac
done
IFS=$old_ifs
PATH=$clean_path
export PATH

cnb_prepend() {  # cnb_prepend VAR DIR
  eval "cur=\${$1-}"
  if [ -n "$cur" ]; then eval "$1=\$2:\$cur"; else eval "$1=\$2"; fi
  export "$1"
}

cnb_read() {  # the whole content of a file, trailing newlines included
  v=$(cat "$1"; printf x)
  printf '%s' "${v%x}"
}

cnb_env_dir() {  # cnb_env_dir DIR: apply env files with the suffix rules (no suffix: override)
  [ -d "$1" ] || return 0
  for f in "$1"/*; do
    [ -f "$f" ] || continue
    name=${f##*/}
    var=${name%%.*}
    action=${name#"$var"}; action=${action#.}
    case "$var" in ''|[0-9]*|*[!A-Za-z0-9_]*) continue ;; esac
    value=$(cnb_read "$f"; printf x); value=${value%x}
    delim=''
    [ -f "$1/$var.delim" ] && { delim=$(cnb_read "$1/$var.delim"; printf x); delim=${delim%x}; }
    eval "cur=\${$var-}"
    case "$action" in
      ''|override) eval "$var=\$value" ;;
      default) [ -z "$cur" ] && eval "$var=\$value" ;;
      prepend) if [ -n "$cur" ]; then eval "$var=\$value\$delim\$cur"; else eval "$var=\$value"; fi ;;
      append) if [ -n "$cur" ]; then eval "$var=\$cur\$delim\$value"; else eval "$var=\$value"; fi ;;
      *) continue ;;
    esac
    export "$var"
  done
}

for bp in $CNB_BUILDPACKS; do
  for layer in "$layers/$bp"/*; do
    [ -d "$layer" ] || continue
    [ -d "$layer/bin" ] && cnb_prepend PATH "$layer/bin"
    [ -d "$layer/lib" ] && cnb_prepend LD_LIBRARY_PATH "$layer/lib"
  done
  for layer in "$layers/$bp"/*; do
    [ -d "$layer" ] || continue
    cnb_env_dir "$layer/env"
    cnb_env_dir "$layer/env.launch"
    [ -n "$ptype" ] && cnb_env_dir "$layer/env.launch/$ptype"
  done
done

# --- exec.d -----------------------------------------------------------------------------------

cnb_exec_d_output() {  # parse 'KEY = "value"' lines of TOML written to fd 3
  printf '%s\n' "$1" | while IFS= read -r line; do
    case "$line" in ''|'#'*) continue ;; esac
    key=${line%%=*}
    key=$(printf '%s' "$key" | tr -d ' \t')
    val=${line#*=}
    val=$(printf '%s' "$val" | sed 's/^[[:space:]]*"//; s/"[[:space:]]*$//')
    case "$key" in ''|[0-9]*|*[!A-Za-z0-9_]*) continue ;; esac
    printf '%s=%s\n' "$key" "$(printf '%s' "$val" | sed 's/\\"/"/g')" 
  done
}

cnb_run_exec_d() {  # cnb_run_exec_d DIR
  [ -d "$1" ] || return 0
  for exe in "$1"/*; do
    [ -f "$exe" ] && [ -x "$exe" ] || continue
    out=$(cd "$app" && "$exe" 3>&1 1>&4) || cnb_fail "exec.d $exe failed with status $?"
    pairs=$(cnb_exec_d_output "$out")
    while IFS= read -r pair; do
      [ -n "$pair" ] || continue
      k=${pair%%=*}
      v=${pair#*=}
      v=$(printf '%b' "$v"; printf x); v=${v%x}
      eval "$k=\$v"
      export "$k"
    done <<EOF
$pairs
EOF
  done
}

for bp in $CNB_BUILDPACKS; do
  for layer in "$layers/$bp"/*; do
    [ -d "$layer" ] || continue
    cnb_run_exec_d "$layer/exec.d"
    [ -n "$ptype" ] && cnb_run_exec_d "$layer/exec.d/$ptype"
  done
done

# --- start it ---------------------------------------------------------------------------------

if [ "$direct" = true ]; then
  cd "$workdir" || cnb_fail "cannot enter working directory $workdir"
  eval "set -- $words"
  command -v "$1" >/dev/null 2>&1 || cnb_fail "failed to find executable $1 on PATH"
  exec "$@"
fi

# the shell strategy: profile.d, then <app>/.profile, in one shell; then the command
script=''
for bp in $CNB_BUILDPACKS; do
  for layer in "$layers/$bp"/*; do
    [ -d "$layer/profile.d" ] || continue
    for f in "$layer/profile.d"/*; do
      [ -f "$f" ] && script="$script . '$f';"
    done
    if [ -n "$ptype" ] && [ -d "$layer/profile.d/$ptype" ]; then
      for f in "$layer/profile.d/$ptype"/*; do
        [ -f "$f" ] && script="$script . '$f';"
      done
    fi
  done
done
cd "$app" || cnb_fail "cannot enter $app"
[ -f "$app/.profile" ] && script="$script . '$app/.profile';"
shell=$(command -v bash || command -v sh)
eval "set -- $words"
if [ $# -eq 1 ]; then
  script="$script cd '$workdir' && $1"   # one word: a script, as 'launcher "echo \$FOO"'
else
  # As the reference's bash launcher: after the profiles each word (the script's arguments) is
  # evaluated as 'eval echo "<word>"', so it may name variables the profiles set and its own
  # quotes are shell quotes; the evaluated words are the command and its arguments.
  script="$script cd '$workdir' || exit 1;"' cnb_n=$#; for cnb_t do set -- "$@" "$(eval echo \"$cnb_t\")"; done; shift "$cnb_n"; exec "$@"'
  exec "$shell" -c "$script" "$0" "$@"
fi
exec "$shell" -c "$script"
