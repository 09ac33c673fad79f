#!/usr/bin/env bash
# Set up, start the real services, run the test suite, stop the services.
# Extra arguments go to pytest (e.g. scripts/test.sh -m "not e2e" -x). The suite runs in .venv,
# made from the distribution's /usr/bin/python3 (PYTHON and PYPACK_VENV choose another).
set -euo pipefail
repo=$(cd "$(dirname "$0")/.." && pwd)
cd "$repo"
bash scripts/setup.sh
env_file=$(bash scripts/services.sh start)
trap 'bash scripts/services.sh stop' EXIT
# shellcheck disable=SC1090
source "$env_file"
"${PYPACK_VENV:-.venv}/bin/pytest" "$@"
