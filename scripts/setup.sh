#!/usr/bin/env bash
# Idempotent: creates .venv and the frontend toolchain (bun from the npm registry). A second run takes ~1 s.
#   scripts/setup.sh        what the app needs (make run)
#   scripts/setup.sh dev    that plus the test and benchmark tools (make test)
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/env.sh
step() { printf '\033[1;34m==>\033[0m %s\n' "$*"; }
mode=${1:-app}
case "$mode" in
  app) requirements=requirements.txt ;;
  dev) requirements=requirements-dev.txt ;;
  *) echo "usage: scripts/setup.sh [app|dev]" >&2; exit 2 ;;
esac

if ! command -v python3 >/dev/null; then echo "python3 (3.11+) is required" >&2; exit 1; fi
if [ ! -x .venv/bin/python ]; then
  step "Creating the Python virtual environment (.venv)"
  python3 -m venv .venv
fi

want=$(cat requirements.txt "$requirements" | sha256sum | cut -d' ' -f1)
marker=".venv/.requirements-$mode.sha256"
if [ "$(cat "$marker" 2>/dev/null || true)" != "$want" ]; then
  if [ "$mode" = dev ]; then step "Installing Python packages for the app and its tests (first run: about a minute)"
  else step "Installing Python packages (first run: about a minute)"; fi
  # The machine's pip config names local mirrors that may be absent; their warnings are noise.
  .venv/bin/pip install -q --disable-pip-version-check -r "$requirements" 2> >(grep -v "Location '" >&2)
  echo "$want" > "$marker"
fi

if [ ! -x .tools/node_modules/.bin/bun ]; then
  step "Installing bun (frontend toolchain) from the npm registry"
  if ! command -v npm >/dev/null; then
    apt-get update -q >/dev/null && DEBIAN_FRONTEND=noninteractive apt-get install -y -q npm >/dev/null
  fi
  mkdir -p .tools
  npm install --silent --no-audit --no-fund --prefix .tools bun@1.4.4
fi
step "Setup complete"
