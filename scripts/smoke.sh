#!/usr/bin/env bash
# Starts the service as a user would (`npm start`, embedded PGlite, fresh DATA_DIR), registers a
# resource and two agents through the admin API, and performs client_credentials then one token
# exchange, verifying the result against the JWKS. Used by CI; handy after any change.
set -euo pipefail
cd "$(dirname "$0")/.."

export PORT="${PORT:-3917}" HOST=127.0.0.1
export DATA_DIR="$(mktemp -d)"
export ADMIN_TOKEN="smoke-admin-token-0123456789abcdef0123456789"
unset DATABASE_URL REDIS_URL
BASE="http://127.0.0.1:${PORT}"
LOG="$DATA_DIR/server.log"

# Its own process group, so cleanup reaches npm and the node process under it.
setsid npm start >"$LOG" 2>&1 &
SERVER_PID=$!
cleanup() { kill -- "-$SERVER_PID" 2>/dev/null || true; wait "$SERVER_PID" 2>/dev/null || true; rm -rf "$DATA_DIR"; }
trap cleanup EXIT

for _ in $(seq 1 300); do
  curl -fsS "$BASE/readyz" >/dev/null 2>&1 && break
  kill -0 "$SERVER_PID" 2>/dev/null || { cat "$LOG"; echo "server exited"; exit 1; }
  sleep 1
done
curl -fsS "$BASE/readyz"; echo

node scripts/smoke-exchange.mjs "$BASE" "$ADMIN_TOKEN"

# The web console's files live outside src/: the built service must find and serve them, under its CSP.
CONSOLE_HEADERS=$(curl -fsS -D - -o /dev/null "$BASE/console/js/main.js")
grep -qi "^content-security-policy: default-src 'none'" <<<"$CONSOLE_HEADERS"
echo "console: served by the built service"

# A careless client puts a secret in a query string; it must not reach the logs.
curl -s -o /dev/null "$BASE/token?client_secret=smoke-query-secret-42" || true

# SIGTERM to the server process itself (npm is only its parent): it must finish and exit 0.
NODE_PID=$(pgrep -g "$SERVER_PID" -f "^node dist/server.js" | head -n1)
kill -TERM "$NODE_PID"
wait "$SERVER_PID"
echo "graceful shutdown: exit 0"
grep -q '"msg":"shutting down"' "$LOG"
# Logs never hold tokens, secrets or the admin token (CONTRACT §5).
if grep -E 'eyJ[A-Za-z0-9_-]{10,}|smoke-query-secret-42|client_secret=|'"$ADMIN_TOKEN" "$LOG"; then
  echo "secret material found in the server log"; exit 1
fi
echo "logs: no tokens or secrets"
trap - EXIT
rm -rf "$DATA_DIR"
echo "smoke: 1 passed, 0 failed"
