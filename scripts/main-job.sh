#!/usr/bin/env bash
# The main job on a fresh Debian machine: set up, build the sample Python web app into an image
# without Docker, run it, and show it answering an HTTP request on loopback.
set -euo pipefail
repo=$(cd "$(dirname "$0")/.." && pwd)
cd "$repo"
bash scripts/setup.sh
# Images, builders and caches go to pypack's home: $PYPACK_HOME, else /var/lib/pypack for root
# (reachable by the unprivileged build user wherever the clone is), else ~/.local/share/pypack.
pypack=.venv/bin/pypack
# No --builder: the first build makes the default builder (Debian stack + bundled buildpacks).
$pypack build pypack/samples/python-hello:latest --path samples/python-hello
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
$pypack run pypack/samples/python-hello:latest --env "PORT=$port" &
server=$!
trap 'kill $server 2>/dev/null || true' EXIT
for _ in $(seq 1 100); do
  if curl -sf "http://127.0.0.1:$port/" -o /tmp/pypack-main-job.txt; then break; fi
  sleep 0.1
done
echo "--- GET http://127.0.0.1:$port/ answered:"
cat /tmp/pypack-main-job.txt
