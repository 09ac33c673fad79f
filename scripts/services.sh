#!/usr/bin/env bash
# Start, stop or show the real services pypack's tests use:
#   - an OCI registry (Debian's docker-registry, distribution v2) on a free loopback port;
#   - a Docker engine (dockerd) on a private unix socket, no bridge, no iptables.
# Usage: scripts/services.sh start|stop|status
# State lives in $PYPACK_RUN (default: a short per-checkout directory under /tmp, because unix
# socket paths are limited to 108 bytes). `start` writes $PYPACK_RUN/env for tests to source.
# Processes are stopped by the pid they wrote, never by name.
set -euo pipefail

repo=$(cd "$(dirname "$0")/.." && pwd)
RUN=${PYPACK_RUN:-/tmp/pypack-run-$(printf %s "$repo" | sha1sum | cut -c1-10)}
ENV_FILE=$RUN/env

log() { printf 'services: %s\n' "$*" >&2; }

free_port() {
  python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

alive() { [ -f "$1" ] && kill -0 "$(cat "$1")" 2>/dev/null; }

wait_for() { # wait_for SECONDS DESCRIPTION COMMAND...
  local seconds=$1 what=$2; shift 2
  local deadline=$((SECONDS + seconds))
  until "$@" >/dev/null 2>&1; do
    if [ $SECONDS -ge $deadline ]; then log "$what did not come up in ${seconds}s"; return 1; fi
    sleep 0.2
  done
}

start_registry() {
  if alive "$RUN/registry.pid"; then return 0; fi
  local port; port=$(free_port)
  mkdir -p "$RUN/registry-data"
  cat >"$RUN/registry.yml" <<YML
version: 0.1
log:
  level: warn
storage:
  filesystem:
    rootdirectory: $RUN/registry-data
  delete:
    enabled: true
http:
  addr: 127.0.0.1:$port
YML
  docker-registry serve "$RUN/registry.yml" >"$RUN/registry.log" 2>&1 &
  echo $! >"$RUN/registry.pid"
  echo "127.0.0.1:$port" >"$RUN/registry.addr"
  wait_for 30 "registry" curl -sf "http://127.0.0.1:$port/v2/" || { tail -5 "$RUN/registry.log" >&2; return 1; }
  log "registry on 127.0.0.1:$port"
}

start_dockerd() {
  if alive "$RUN/dockerd.pid"; then return 0; fi
  if [ "$(id -u)" != 0 ]; then log "not root: dockerd not started"; return 0; fi
  mkdir -p "$RUN/docker-data" "$RUN/docker-exec"
  dockerd --storage-driver=overlay2 --iptables=false --ip6tables=false --bridge=none \
    -H "unix://$RUN/docker.sock" --data-root "$RUN/docker-data" --exec-root "$RUN/docker-exec" \
    --pidfile "$RUN/dockerd.pid" >"$RUN/dockerd.log" 2>&1 &
  wait_for 60 "dockerd" docker -H "unix://$RUN/docker.sock" version ||
    { tail -20 "$RUN/dockerd.log" >&2; return 1; }
  log "dockerd on unix://$RUN/docker.sock"
}

write_env() {
  {
    echo "export PYPACK_RUN=$RUN"
    [ -f "$RUN/registry.addr" ] && echo "export PYPACK_TEST_REGISTRY=$(cat "$RUN/registry.addr")"
    alive "$RUN/dockerd.pid" && echo "export PYPACK_TEST_DOCKER_HOST=unix://$RUN/docker.sock"
    # the containerd dockerd runs, reached directly (its k8s.io namespace is not dockerd's)
    [ -S "$RUN/docker-exec/containerd/containerd.sock" ] &&
      echo "export PYPACK_TEST_CONTAINERD=$RUN/docker-exec/containerd/containerd.sock"
    true
  } >"$ENV_FILE"
}

stop_pid() { # stop_pid PIDFILE NAME
  local file=$1 name=$2
  if ! alive "$file"; then rm -f "$file"; return 0; fi
  local pid; pid=$(cat "$file")
  kill "$pid" 2>/dev/null || true
  for _ in $(seq 1 100); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
  if kill -0 "$pid" 2>/dev/null; then log "$name ($pid) ignored TERM; killing"; kill -9 "$pid" 2>/dev/null || true; fi
  rm -f "$file"
  log "$name stopped"
}

case "${1:-}" in
  start)
    mkdir -p "$RUN"
    start_registry
    start_dockerd
    write_env
    echo "$ENV_FILE"
    ;;
  stop)
    stop_pid "$RUN/dockerd.pid" dockerd
    stop_pid "$RUN/registry.pid" registry
    rm -f "$ENV_FILE"
    ;;
  status)
    alive "$RUN/registry.pid" && echo "registry: $(cat "$RUN/registry.addr")" || echo "registry: stopped"
    alive "$RUN/dockerd.pid" && echo "dockerd: unix://$RUN/docker.sock" || echo "dockerd: stopped"
    ;;
  *) echo "usage: $0 start|stop|status" >&2; exit 2 ;;
esac
