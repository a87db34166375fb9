#!/usr/bin/env bash
# Run a command with a throwaway Redis server on a free loopback port:
#   scripts/with_redis.sh CMD...   (CMD sees SHOP_TEST_REDIS_URL)
# Installs Debian's redis-server when it is missing. Nothing is persisted; the server stops after.
set -euo pipefail
if ! command -v redis-server >/dev/null; then
  if [ "$(id -u)" = 0 ]; then
    apt-get update -qq && apt-get install -y -qq redis-server >/dev/null
  else
    echo "redis-server is missing (apt-get install redis-server)" >&2; exit 1
  fi
fi
dir=$(mktemp -d /tmp/shop-redis.XXXXXX)
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
redis-server --port "$port" --bind 127.0.0.1 --save '' --appendonly no --dir "$dir" \
  --daemonize yes --pidfile "$dir/redis.pid" --logfile "$dir/redis.log"
cleanup() { kill "$(cat "$dir/redis.pid" 2>/dev/null)" 2>/dev/null || true; rm -rf "$dir"; }
trap cleanup EXIT
for _ in $(seq 50); do redis-cli -p "$port" ping >/dev/null 2>&1 && break; sleep 0.1; done
export SHOP_TEST_REDIS_URL="redis://127.0.0.1:$port/0"
"$@"
