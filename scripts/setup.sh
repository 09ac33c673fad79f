#!/usr/bin/env bash
# Set up a Debian machine for pypack: the system tools its tests and builds use, and a venv
# (.venv) with pypack and its dev extras installed in editable mode. Safe to run again.
set -euo pipefail

repo=$(cd "$(dirname "$0")/.." && pwd)
cd "$repo"

# tool -> Debian package
declare -A packages=(
  [dockerd]=docker.io [docker-registry]=docker-registry [skopeo]=skopeo [umoci]=umoci
  [bwrap]=bubblewrap [busybox]=busybox-static [mmdebstrap]=mmdebstrap [curl]=curl
  [setpriv]=util-linux
)
missing=()
for tool in "${!packages[@]}"; do
  command -v "$tool" >/dev/null 2>&1 || missing+=("${packages[$tool]}")
done
if [ ${#missing[@]} -gt 0 ]; then
  sudo=""; [ "$(id -u)" = 0 ] || sudo="sudo"
  echo "setup: installing ${missing[*]}" >&2
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

python=${PYTHON:-python3}
if [ ! -x .venv/bin/python ]; then
  "$python" -m venv .venv
fi
stamp=.venv/.pypack-installed
if [ ! -f "$stamp" ] || [ pyproject.toml -nt "$stamp" ]; then
  .venv/bin/python -m pip install -q --disable-pip-version-check -e '.[dev]' 2> >(grep -v "is ignored: it is neither" >&2)
  touch "$stamp"
fi
echo "setup: ready (.venv/bin/pypack $(.venv/bin/pypack --version 2>/dev/null | awk '{print $NF}'))" >&2
