#!/usr/bin/env bash
# Static checks: ruff (lint and format), mypy --strict, and the layer direction of imports.
set -euo pipefail
cd "$(dirname "$0")/.."
.venv/bin/ruff check src tests bench
.venv/bin/ruff format --check src tests bench
.venv/bin/mypy
.venv/bin/lint-imports
