#!/usr/bin/env bash
# Set up a Debian machine for pypack: the system tools its tests and builds use, and a venv
# (.venv) with pypack and its dev extras installed in editable mode. Safe to run again.
# The venv is made from the distribution's /usr/bin/python3 (Debian 12: 3.11.2), the Python a
# fresh Debian machine has; PYTHON=/path/to/python3 and PYPACK_VENV=dir choose another.
set -euo pipefail

repo=$(cd "$(dirname "$0")/.." && pwd)
cd "$repo"

# tool -> Debian package
declare -A packages=(
  [dockerd]=docker.io [docker-registry]=docker-registry [skopeo]=skopeo [umoci]=umoci
  [bwrap]=bubblewrap [busybox]=busybox-static [mmdebstrap]=mmdebstrap [curl]=curl
  [setpriv]=util-linux [newuidmap]=uidmap
)
sudo=""; [ "$(id -u)" = 0 ] || sudo="sudo"
missing=()
for tool in "${!packages[@]}"; do
  # dockerd lives in /usr/sbin, which is not on an unprivileged user's PATH
  PATH="$PATH:/usr/local/sbin:/usr/sbin:/sbin" command -v "$tool" >/dev/null 2>&1 ||
    missing+=("${packages[$tool]}")
done
if [ ${#missing[@]} -gt 0 ]; then
  echo "setup: installing ${missing[*]}" >&2
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

python=${PYTHON:-}
if [ -z "$python" ]; then
  if [ -x /usr/bin/python3 ]; then python=/usr/bin/python3; else python=python3; fi
fi
if ! "$python" -c 'import ensurepip, venv' >/dev/null 2>&1; then
  echo "setup: installing python3-venv for $python" >&2
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends python3-venv >/dev/null
fi
venv=${PYPACK_VENV:-.venv}
want=$("$python" -c 'import sys; print(sys.version.split()[0])')
if [ -x "$venv/bin/python" ] && [ "$("$venv/bin/python" -c 'import sys; print(sys.version.split()[0])')" != "$want" ]; then
  echo "setup: $venv is not on $python ($want); making it again" >&2
  rm -rf "$venv"
fi
if [ ! -x "$venv/bin/python" ]; then
  "$python" -m venv "$venv"
fi
stamp=$venv/.pypack-installed
if [ ! -f "$stamp" ] || [ pyproject.toml -nt "$stamp" ]; then
  "$venv/bin/python" -m pip install -q --disable-pip-version-check -e '.[dev]' 2> >(grep -v "is ignored: it is neither" >&2)
  touch "$stamp"
fi
# An unprivileged user builds stacks with mmdebstrap's unshare mode, which maps a range of
# subordinate ids (/etc/subuid, /etc/subgid) for that user: give the invoking user one.
user=${SUDO_USER:-$(id -un 2>/dev/null || echo root)}
if [ "$user" != root ]; then
  read -r -a subid_flags <<<"$("$venv/bin/python" -m pypack.pack.rootless usermod-flags "$user")"
  if [ ${#subid_flags[@]} -gt 0 ] && [ -n "$sudo" ] && ! command -v sudo >/dev/null; then
    echo "setup: no sudo: as root, run usermod ${subid_flags[*]} $user (for rootless stack builds)" >&2
  elif [ ${#subid_flags[@]} -gt 0 ]; then
    echo "setup: giving $user subordinate ids for rootless stack builds (usermod ${subid_flags[*]})" >&2
    $sudo usermod "${subid_flags[@]}" "$user"
  fi
fi
echo "setup: ready ($venv/bin/pypack $("$venv/bin/pypack" --version 2>/dev/null | awk '{print $NF}') on Python $want)" >&2
