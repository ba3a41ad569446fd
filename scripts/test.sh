#!/usr/bin/env bash
# Everything `make test` runs, in CI order: lint → unit → Rasa data → train once → stories →
# integration (real services on loopback) → browser. Output goes to test-output/
set -euo pipefail
cd "$(dirname "$0")/.."
mkdir -p test-output
export SQLALCHEMY_SILENCE_UBER_WARNING=1 TF_CPP_MIN_LOG_LEVEL=2 RASA_TELEMETRY_ENABLED=false PYTHONPATH="$PWD"
step() { printf '\n==> [%dm%02ds] %s\n' $((SECONDS / 60)) $((SECONDS % 60)) "$*"; }

step "lint: import contracts, ruff and mypy"
.venv/bin/lint-imports --no-cache
.venv/bin/ruff check .
.venv/bin/ruff format --check .
.venv/bin/mypy
.venv-rasa/bin/mypy --config-file mypy-rasa.ini

step "unit tests (app environment, on both cores)"
# Schemathesis runs its operations as one item under xdist: the fuzzing runs on its own after.
.venv/bin/pytest -q -p no:cacheprovider -n 2 --dist loadfile \
  tests/test_layout.py tests/core tests/grids tests/accounts tests/retraining tests/casestore \
  tests/console tests/webapp tests/cli tests/bot tests/scripts \
  --ignore tests/webapp/test_openapi_fuzz.py --junitxml=test-output/app-unit.xml
.venv/bin/pytest -q -p no:cacheprovider tests/webapp/test_openapi_fuzz.py \
  --junitxml=test-output/app-fuzz.xml

step "a throwaway Redis for the lock-store tests and the scale-out profile"
scale_dir="$(mktemp -d)"
chmod 755 "$scale_dir"
stop_scale() {
  scripts/redis.sh stop "$scale_dir/redis"
  [[ -d "$scale_dir/postgres" ]] && scripts/test-postgres.sh stop "$scale_dir/postgres"
  return 0
}
trap stop_scale EXIT
eval "$(REDIS_PORT=56390 scripts/redis.sh start "$scale_dir/redis")"
export REDIS_HOST REDIS_PORT

step "unit tests (Rasa environment)"
.venv-rasa/bin/pytest -q -p no:cacheprovider tests/actions tests/nlu --junitxml=test-output/rasa-unit.xml

step "rasa data validate"
make --no-print-directory validate

step "train the model once for this run (skipped when nothing changed)"
make --no-print-directory train

step "Rasa story tests"
.venv-rasa/bin/rasa test core --model models/petition.tar.gz --stories tests/test_stories.yml \
  --out test-output/stories --fail-on-prediction-errors

step "integration tests (Rasa, action server and case store on loopback)"
.venv/bin/pytest -q -p no:cacheprovider tests/integration --junitxml=test-output/integration.xml

step "integration tests again on the scale-out profile (PostgreSQL, Redis, 2 Rasa workers)"
if [[ -z "${TEST_POSTGRES_URL:-}" ]]; then
  eval "$(TEST_POSTGRES_PORT=55434 scripts/test-postgres.sh start "$scale_dir/postgres")"
fi
# test_nlu_roundtrip runs its own NLU-only Rasa (no stack): nothing of the profile to test.
STACK_PROFILE=scale .venv/bin/pytest -q -p no:cacheprovider tests/integration \
  --deselect tests/integration/test_nlu_roundtrip.py --junitxml=test-output/integration-scale.xml

step "browser tests (headless Debian Chromium: web chat → console → closure)"
scripts/ensure-browser.sh
.venv/bin/pytest -q -p no:cacheprovider tests/browser --junitxml=test-output/browser.xml
