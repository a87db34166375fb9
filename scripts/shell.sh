#!/usr/bin/env bash
# Chat with the assistant in the terminal (starts the action server in the background).
set -euo pipefail
cd "$(dirname "$0")/.."
PY=.venv/bin/python
export SHOP_IDENTITY_SECRET=${SHOP_IDENTITY_SECRET:-$($PY -c 'import secrets; print(secrets.token_hex(32))')}
$PY -m actions --port "${ACTIONS_PORT:-5055}" > var/actions.log 2>&1 &
pid=$!
trap 'kill $pid 2>/dev/null || true' EXIT INT TERM
$PY -m scripts.wait_http "http://localhost:${ACTIONS_PORT:-5055}/health" --timeout 120
.venv/bin/rasa shell --model models/shop.tar.gz --endpoints endpoints.yml
