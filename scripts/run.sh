#!/usr/bin/env bash
# Start the action server, the Rasa server (REST + socket.io, SQL tracker store), the storefront,
# the needs follower and the worker, each restarted if it exits, and print how to talk to them.
# Ctrl-C stops everything. Called by `make run` after install, demo data and training.
set -euo pipefail
cd "$(dirname "$0")/.."
PY=.venv/bin/python
RASA=.venv/bin/rasa
mkdir -p var

RASA_PORT=${RASA_PORT:-5005}
ACTIONS_PORT=${ACTIONS_PORT:-5055}
WEB_PORT=${WEB_PORT:-8080}
CORS_ORIGINS=${CORS_ORIGINS:-http://localhost:${WEB_PORT}}
# Origins the socket.io channel accepts (the storefront that embeds the widget).
export SHOP_CORS_ORIGINS=${SHOP_CORS_ORIGINS:-http://localhost:${WEB_PORT},http://127.0.0.1:${WEB_PORT}}
random_secret() { $PY -c 'import secrets; print(secrets.token_hex(32))'; }
if [ -z "${SHOP_IDENTITY_SECRET:-}" ]; then
  echo "SHOP_IDENTITY_SECRET is not set: using a random secret for this run only." >&2
  SHOP_IDENTITY_SECRET=$(random_secret)
fi
# The action server answers only Rasa, which sends this secret (endpoints.yml, headers).
if [ -z "${SHOP_ACTION_SECRET:-}" ]; then
  echo "SHOP_ACTION_SECRET is not set: using a random secret for this run only." >&2
  SHOP_ACTION_SECRET=$(random_secret)
fi
# The Rasa HTTP API wants a bearer JWT signed with this secret (python -m bot.rasa_api mints one).
if [ -z "${RASA_JWT_SECRET:-}" ]; then
  echo "RASA_JWT_SECRET is not set: using a random secret for this run only." >&2
  RASA_JWT_SECRET=$(random_secret)
fi
# Encrypts the staff sign-in's session cookies (a Fernet key); staff sign in again after a restart.
if [ -z "${SHOP_SESSION_SECRET:-}" ]; then
  echo "SHOP_SESSION_SECRET is not set: using a random key for this run only." >&2
  SHOP_SESSION_SECRET=$($PY -c 'from cryptography.fernet import Fernet; print(Fernet.generate_key().decode())')
fi
export SHOP_IDENTITY_SECRET SHOP_ACTION_SECRET RASA_JWT_SECRET SHOP_SESSION_SECRET
# The staff console calls the Rasa HTTP API here (takeover, agent messages, hand back).
export SHOP_RASA_URL=${SHOP_RASA_URL:-http://localhost:${RASA_PORT}}
# A demo support agent, team lead and product analyst, each only while there is no account with
# that role; their passwords are shown once, below.
STAFF_MSG="  Staff sign-in:    http://localhost:${WEB_PORT}/staff/login   (accounts: .venv/bin/python -m bot staff list)"
demo_staff() {  # demo_staff EMAIL NAME ROLE
  local password
  password=$($PY -c 'import secrets; print(secrets.token_urlsafe(15))')
  if printf '%s\n' "$password" | $PY -m bot staff ensure-demo --email "$1" --name "$2" \
      --role "$3" --password-stdin | grep -q '^created'; then
    STAFF_MSG="${STAFF_MSG}
                    demo $3 created: $1  password: ${password}  (shown once)"
  fi
}
demo_staff agent@example-shop.co.uk "Sam Agent" agent
demo_staff lead@example-shop.co.uk "Lee Lead" lead
demo_staff analyst@example-shop.co.uk "Ada Analyst" analyst
# Starter canned replies for the console (only when there are none).
$PY -m bot console canned-defaults >/dev/null
# Insights' facets for needs logged before they existed (a shop database from an older version).
$PY -m bot insights check --fix >/dev/null
# Sanic's request size limit for the Rasa server (its default is 100 MB; chat needs kilobytes).
RASA_MAX_REQUEST_BYTES=${RASA_MAX_REQUEST_BYTES:-1048576}

pids=()
stop() {
  trap - INT TERM EXIT
  echo; echo "Stopping..."
  for pid in "${pids[@]}"; do kill -TERM "$pid" 2>/dev/null || true; done
  wait 2>/dev/null || true
}
trap stop INT TERM EXIT

# supervise NAME LOG CMD...: run CMD in the background and start it again whenever it exits
# (a crash, or kill -9): the other services carry on, and recover once it is back.
supervise() {
  local name=$1 log=$2
  shift 2
  : > "$log"
  (
    child=
    trap 'kill -TERM $child 2>/dev/null; wait $child 2>/dev/null; exit 0' TERM INT
    while true; do
      "$@" >> "$log" 2>&1 &
      child=$!
      status=0
      wait "$child" || status=$?
      echo "$(date -u +%FT%TZ) $name exited (status $status); starting it again in 2 s" \
        | tee -a "$log" >&2
      sleep 2
    done
  ) &
  pids+=($!)
}

endpoints=var/endpoints.yml
sed "s#http://localhost:5055/webhook#http://localhost:${ACTIONS_PORT}/webhook#" endpoints.yml > "$endpoints"

supervise "action server" var/actions.log $PY -m actions --port "$ACTIONS_PORT"
supervise "rasa server" var/rasa.log env SANIC_REQUEST_MAX_SIZE="$RASA_MAX_REQUEST_BYTES" \
  $RASA run --model models/shop.tar.gz --endpoints "$endpoints" --credentials credentials.yml \
  --port "$RASA_PORT" --enable-api --jwt-secret "$RASA_JWT_SECRET" --jwt-method HS256 \
  --cors "$CORS_ORIGINS"
supervise "storefront" var/web.log $PY -m bot web --port "$WEB_PORT" \
  --rasa-url "http://localhost:${RASA_PORT}"
# Needs stated in any turn (not only product searches), read from the tracker store off the
# chat's hot path (docs/needs.md, "Needs from every turn").
supervise "needs follower" var/follow.log $PY -m bot needs follow
# Scheduled jobs: mail, erasures, daily retention, rate-limit clean-up (docs/privacy.md), the
# weekly insights digest to analysts and leads (docs/insights.md).
supervise "worker" var/worker.log $PY -m bot worker

echo "Starting (logs in var/actions.log, var/rasa.log, var/web.log, var/follow.log, var/worker.log)..."
$PY -m scripts.wait_http "http://localhost:${ACTIONS_PORT}/health" "http://localhost:${RASA_PORT}/" \
  "http://localhost:${WEB_PORT}/healthz" --timeout 300
API_TOKEN=$($PY -m bot.rasa_api --ttl 43200)
cat <<MSG

The shop assistant is running.
  Shop with chat widget:  http://localhost:${WEB_PORT}/   (sign in as a demo customer at the top)
  Chat over REST:   curl -s localhost:${RASA_PORT}/webhooks/rest/webhook -d '{"sender":"me","message":"hi"}'
  Socket.io:        ws://localhost:${RASA_PORT}/socket.io  (for the website widget)
  HTTP API:         curl -H "Authorization: Bearer \$TOKEN" http://localhost:${RASA_PORT}/status
                    an admin TOKEN for this run (12 h): ${API_TOKEN}
                    (more: RASA_JWT_SECRET=... .venv/bin/python -m bot.rasa_api)
  Action server:    http://localhost:${ACTIONS_PORT}/health
${STAFF_MSG}
  Staff console:    http://localhost:${WEB_PORT}/console/   (agents and leads: the live queue)
  Product insights: http://localhost:${WEB_PORT}/insights/  (analysts and leads: demand, unmet, themes)
A service that exits is started again (see var/*.log). Press Ctrl-C to stop.
MSG
wait
