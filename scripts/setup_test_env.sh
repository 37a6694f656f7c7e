#!/usr/bin/env bash
# What the test suite needs beyond `make setup`: Chromium, espeak-ng/sox (test audio), pgvector,
# and the PostgreSQL and Redis servers up. Idempotent; each step is skipped when already done.
set -euo pipefail
cd "$(dirname "$0")/.."
step() { printf '\033[1;34m==>\033[0m %s\n' "$*"; }

missing=()
[ -x /usr/bin/chromium ] || missing+=(chromium)
command -v espeak-ng >/dev/null || missing+=(espeak-ng)
command -v sox >/dev/null || missing+=(sox)
command -v psql >/dev/null || missing+=(postgresql)
command -v redis-server >/dev/null || missing+=(redis-server)
if ((${#missing[@]})); then
  step "Installing system packages: ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -q >/dev/null
  apt-get install -y -q "${missing[@]}" >/dev/null
fi

if ! pg_isready -h 127.0.0.1 -p 5432 -q 2>/dev/null; then
  step "Starting PostgreSQL"
  pg_ctlcluster --skip-systemctl-redirect "$(ls /etc/postgresql | sort -n | tail -1)" main start
  for _ in $(seq 1 30); do pg_isready -h 127.0.0.1 -p 5432 -q && break; sleep 1; done
fi
if ! redis-cli -h 127.0.0.1 -p 6379 ping >/dev/null 2>&1; then
  step "Starting Redis"
  redis-server --daemonize yes --bind 127.0.0.1 --port 6379 --save "" --appendonly no
  for _ in $(seq 1 30); do redis-cli -h 127.0.0.1 ping >/dev/null 2>&1 && break; sleep 0.5; done
fi

bash scripts/install_pgvector.sh

# llama.cpp's OpenAI-compatible server: the real local LLM server of tests/integration/test_llm_openai_compatible.py.
# Source-only in the registry: the first build takes ~7 minutes (pip caches the wheel for the next time).
if ! .venv/bin/python -c "import llama_cpp.server.app" >/dev/null 2>&1; then
  step "Building llama-cpp-python[server] (first time ~7 min)"
  CMAKE_ARGS="-DLLAVA_BUILD=OFF" .venv/bin/pip install -q -r requirements-llm-server.txt
fi
step "Test environment ready"
