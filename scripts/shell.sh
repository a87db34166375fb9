#!/usr/bin/env bash
# Chat with the assistant in the terminal (starts the action server in the background).
set -euo pipefail
cd "$(dirname "$0")/.."
PY=.venv/bin/python
random_secret() { $PY -c 'import secrets; print(secrets.token_hex(32))'; }
export SHOP_IDENTITY_SECRET=${SHOP_IDENTITY_SECRET:-$(random_secret)}
# The action server answers only calls with this secret; Rasa sends it (endpoints.yml, headers).
export SHOP_ACTION_SECRET=${SHOP_ACTION_SECRET:-$(random_secret)}
# `rasa shell` starts a Rasa server too: same request size limit as scripts/run.sh.
export SANIC_REQUEST_MAX_SIZE=${RASA_MAX_REQUEST_BYTES:-1048576}
$PY -m actions --port "${ACTIONS_PORT:-5055}" > var/actions.log 2>&1 &
pid=$!
trap 'kill $pid 2>/dev/null || true' EXIT INT TERM
$PY -m scripts.wait_http "http://localhost:${ACTIONS_PORT:-5055}/health" --timeout 120
.venv/bin/rasa shell --model models/shop.tar.gz --endpoints endpoints.yml
