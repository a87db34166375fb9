#!/usr/bin/env bash
# Make sure Debian's Chromium is installed for the browser tests (no browser downloads here).
set -euo pipefail
command -v chromium >/dev/null 2>&1 && exit 0
if [ "$(id -u)" = 0 ]; then
  apt-get update -qq && apt-get install -y -qq chromium >/dev/null
else
  echo "Chromium is missing: sudo apt-get install chromium" >&2; exit 1
fi
