#!/usr/bin/env bash
# Runs the checks and the whole suite: the lint rules (ruff.toml) and the layer contracts (.importlinter) first,
# then domain tests on SQLite and PostgreSQL, integration tests against real Redis, Celery, SeaweedFS, SMTP and
# OpenAI-compatible servers (started by the fixtures), and end-to-end tests in Chromium on the production build.
set -uo pipefail
cd "$(dirname "$0")/.."
source scripts/env.sh
mkdir -p test-artifacts
echo "==> ruff check"
ruff check . || { echo "ruff found problems (rules in ruff.toml)" >&2; exit 1; }
echo "==> lint-imports"
lint-imports --no-cache || { echo "an import breaks the layers written in .importlinter" >&2; exit 1; }
python -m pytest "$@"
status=$?
if [ $status -eq 5 ]; then echo "pytest collected no tests" >&2; exit 1; fi
exit $status
