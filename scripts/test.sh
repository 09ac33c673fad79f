#!/usr/bin/env bash
# Set up, start the real services, run the test suite, stop the services.
# Extra arguments go to pytest (e.g. scripts/test.sh -m "not e2e" -x).
set -euo pipefail
repo=$(cd "$(dirname "$0")/.." && pwd)
cd "$repo"
bash scripts/setup.sh
env_file=$(bash scripts/services.sh start)
trap 'bash scripts/services.sh stop' EXIT
# shellcheck disable=SC1090
source "$env_file"
.venv/bin/pytest "$@"
