#!/usr/bin/env bash
# Run a command with a throwaway PostgreSQL server on a free loopback port:
#   scripts/with_postgres.sh CMD...   (CMD sees SHOP_TEST_POSTGRES_URL)
# Installs Debian's postgresql when no server binaries are present. The cluster lives in a temp
# folder and is removed afterwards.
set -euo pipefail
pgbin() { ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1; }
if [ -z "$(pgbin)" ]; then
  if [ "$(id -u)" = 0 ]; then
    apt-get update -qq && apt-get install -y -qq postgresql >/dev/null
  else
    echo "PostgreSQL server binaries are missing (apt-get install postgresql)" >&2; exit 1
  fi
fi
BIN=$(pgbin)
dir=$(mktemp -d /tmp/shop-pg.XXXXXX)
as_owner() { if [ "$(id -u)" = 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi; }
[ "$(id -u)" = 0 ] && chown postgres "$dir"
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
as_owner "$BIN/initdb" -D "$dir/data" -A trust -U postgres >/dev/null
as_owner "$BIN/pg_ctl" -D "$dir/data" -l "$dir/server.log" -w \
  -o "-p $port -k $dir -c listen_addresses=127.0.0.1 -c fsync=off" start >/dev/null
cleanup() { as_owner "$BIN/pg_ctl" -D "$dir/data" -m fast -w stop >/dev/null 2>&1 || true; rm -rf "$dir"; }
trap cleanup EXIT
as_owner "$BIN/createdb" -h 127.0.0.1 -p "$port" -U postgres shop_test
export SHOP_TEST_POSTGRES_URL="postgresql://postgres@127.0.0.1:$port/shop_test"
"$@"
