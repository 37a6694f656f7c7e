#!/usr/bin/env bash
# Serves the app with the embedded defaults (SQLite, in-process work, local files) and a demo business.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/env.sh
PORT=${PORT:-3000}
export ASSISTANT_PUBLIC_URL=${ASSISTANT_PUBLIC_URL:-http://localhost:$PORT}
step() { printf '\033[1;34m==>\033[0m %s\n' "$*"; }

step "Applying database migrations"
python -m backend migrate
step "Checking the demo business (created on an empty database)"
demo=$(python -m backend seed-demo --if-empty)
echo "$demo"

# Reflex's advice that does not apply here: its Node.js check (bun builds the frontend, Node is not used) and
# package hints for projects set up with uv. Everything else it prints is shown.
quiet_reflex() {
  awk '/of Node\.js is out of date/ {skip = 1; next}
       skip && /^ *higher\.? *$/ {skip = 0; next}
       /uv pip install|uv run reflex/ {next}
       {skip = 0; print; fflush()}'
}

step "Building and starting the app on port $PORT (first build: about 30 s)"
# Its own session, so Ctrl-C reaches this script only and the app is stopped cleanly (SIGTERM to its group)
# instead of its workers each taking the interrupt and printing a panic.
setsid reflex run --env prod --single-port --frontend-port "$PORT" --backend-port "$PORT" \
  --backend-host 127.0.0.1 > >(quiet_reflex) 2>&1 &
app=$!
stop() { trap - INT TERM EXIT; kill -TERM -- "-$app" 2>/dev/null; wait "$app" 2>/dev/null; echo "Front Desk stopped."; }
trap stop INT TERM EXIT
until curl -fsS -o /dev/null "http://127.0.0.1:$PORT/api/v1/health" 2>/dev/null \
      && curl -fsS -o /dev/null "http://127.0.0.1:$PORT/" 2>/dev/null; do
  kill -0 $app 2>/dev/null || { echo "The app stopped while starting." >&2; exit 1; }
  sleep 1
done
cat <<BANNER

  ┌──────────────────────────────────────────────────────────────
  │ Front Desk is running:  http://localhost:$PORT
$(echo "$demo" | sed -n 's/^  owner login : /  │ Demo login:  /p')
$(echo "$demo" | sed -n 's/^  password    : /  │ Password:    /p')
$(echo "$demo" | sed -n 's/^  portal link : /  │ Demo portal: /p')
  │ Stop with Ctrl-C.
  └──────────────────────────────────────────────────────────────

BANNER
wait $app
