#!/usr/bin/env bash
# The README's walk-through: the README shows this file from its `set` line on
# (test/integration/first-run/walk-through.test.ts checks that the two match, and runs it).
set -euo pipefail
# Stop at the first step that fails, show the server's answer, and say how to start over.
STEP="setup"
stopped() {
  echo "walk-through stopped at step \"$STEP\"" >&2
  echo "To start over (agents and their ids are registered once): stop the server, delete its data" \
    "(rm -rf .data: the embedded database and the admin token), start it (npm start), rerun this." >&2
}
trap stopped ERR
step() { STEP=$1 && echo "== $STEP" >&2; }
call() { # curl that fails on an HTTP error status, with the server's answer on stderr
  local answer
  if answer=$(curl -sS --fail-with-body "$@"); then echo "$answer"; else echo "$answer" >&2 && return 1; fi
}

STS=${STS:-http://127.0.0.1:3000}
ADMIN="authorization: Bearer ${ADMIN_TOKEN:-$(cat .data/admin-token)}"
JSON="content-type: application/json"
API=https://calendar.example/api

step "0. agent-sts answers at $STS (start it with npm start)"
call "$STS/readyz" >/dev/null

step "1. The API the chain ends at, and the scopes it accepts"
call $STS/admin/resources -H "$ADMIN" -H "$JSON" \
  -d "{\"id\":\"$API\",\"name\":\"Calendar API\",\"scopes\":[\"calendar.read\",\"calendar.write\"]}"

step "2. The company IdP whose tokens may start a chain (a demo IdP: scripts/demo-idp.mjs)"
call $STS/admin/trusted-issuers -H "$ADMIN" -H "$JSON" \
  -d "{\"issuer\":\"https://idp.example.com\",\"jwks\":$(node scripts/demo-idp.mjs jwks),\"audiences\":[\"https://sts.example.com\"]}"

step "3. Two agents. The secret is shown once, in this response only"
A_SECRET=$(call $STS/admin/agents -H "$ADMIN" -H "$JSON" \
  -d '{"id":"agent-a","name":"Planner","allowedScopes":["calendar.read"],"allowedAudiences":["agent-b"]}' | jq -er .clientSecret)
B_SECRET=$(call $STS/admin/agents -H "$ADMIN" -H "$JSON" \
  -d "{\"id\":\"agent-b\",\"name\":\"Calendar agent\",\"allowedScopes\":[\"calendar.read\"],\"allowedAudiences\":[\"$API\"]}" | jq -er .clientSecret)

step "4. alice signs in at the IdP; the app she uses gets a token for agent-a"
USER_TOKEN=$(node scripts/demo-idp.mjs token alice agent-a "calendar.read calendar.write")

step "5. agent-a exchanges it for a token to call agent-b (down-scoped to calendar.read)"
HOP1=$(call $STS/token -u "agent-a:$A_SECRET" \
  -d grant_type=urn:ietf:params:oauth:grant-type:token-exchange \
  -d subject_token=$USER_TOKEN -d subject_token_type=urn:ietf:params:oauth:token-type:access_token \
  -d audience=agent-b | jq -er .access_token)

step "6. agent-b exchanges that for a token to call the API"
HOP2=$(call $STS/token -u "agent-b:$B_SECRET" \
  -d grant_type=urn:ietf:params:oauth:grant-type:token-exchange \
  -d subject_token=$HOP1 -d subject_token_type=urn:ietf:params:oauth:token-type:access_token \
  -d resource=$API | jq -er .access_token)

step "7. The API verifies it with nothing but the JWKS"
node scripts/verify-token.mjs $STS $API $HOP2

step "8. Saved for the sections below: source .data/walk-through.env"
(umask 077 && declare -p STS ADMIN JSON API A_SECRET B_SECRET USER_TOKEN HOP1 HOP2 >.data/walk-through.env)
