#!/usr/bin/env bash
# Every test, in order of cost. Called by `make test` (after install, demo data and training).
set -euo pipefail
cd "$(dirname "$0")/.."
PY=.venv/bin/python
RASA=.venv/bin/rasa
export TF_CPP_MIN_LOG_LEVEL=2

echo "== unit tests (with a throwaway PostgreSQL and Redis for their suites)"
scripts/with_postgres.sh scripts/with_redis.sh $PY -m pytest -q -m "not integration and not browser"

echo "== rasa data validate"
$RASA data validate --data nlu_data --domain domain.yml --config config.yml --fail-on-warnings

echo "== rasa test stories (end to end: NLU + dialogue)"
rm -rf results/stories
$RASA test core --e2e --stories tests/test_stories.yml --model models/shop.tar.gz \
  --fail-on-prediction-errors --out results/stories

echo "== integration tests (real Rasa server + action server)"
$PY -m pytest -q -m integration

echo "== browser tests (headless Chromium: storefront + widget + real servers)"
scripts/ensure_chromium.sh
$PY -m pytest -q -m browser
