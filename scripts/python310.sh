#!/usr/bin/env bash
# Print the path of a Python 3.10 interpreter: python3.10 on PATH, else the newest 3.10 in pyenv.
set -euo pipefail
if command -v python3.10 >/dev/null 2>&1 && python3.10 -c 'import venv' 2>/dev/null; then
  command -v python3.10; exit 0
fi
if command -v pyenv >/dev/null 2>&1; then
  v=$(pyenv versions --bare | grep -E '^3\.10(\.[0-9]+)?$' | sort -V | tail -n 1 || true)
  if [ -n "$v" ]; then PYENV_VERSION="$v" pyenv which python; exit 0; fi
fi
echo "Python 3.10 is required (Rasa 3.6 supports 3.8-3.10); install it with pyenv." >&2
exit 1
