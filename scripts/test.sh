#!/usr/bin/env bash
# Runs the whole suite: domain tests on SQLite and PostgreSQL, integration tests against real Redis, Celery,
# SeaweedFS and SMTP servers (started by the fixtures), and end-to-end tests in Chromium on the production build.
set -uo pipefail
cd "$(dirname "$0")/.."
source scripts/env.sh
mkdir -p test-artifacts
python -m pytest "$@"
status=$?
if [ $status -eq 5 ]; then echo "pytest collected no tests" >&2; exit 1; fi
exit $status
