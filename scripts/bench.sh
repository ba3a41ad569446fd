#!/usr/bin/env bash
# Run the benchmarks; copy the printed figures into docs/benchmarks.md with date and machine.
set -euo pipefail
cd "$(dirname "$0")/.."
export PYTHONPATH="$PWD" SQLALCHEMY_SILENCE_UBER_WARNING=1 TF_CPP_MIN_LOG_LEVEL=2 RASA_TELEMETRY_ENABLED=false
echo "==> grid resolution";    .venv/bin/python -m bench.grids
echo "==> console queue";      .venv/bin/python -m bench.console_queue
echo "==> retraining cycle";   .venv/bin/python -m bench.retrain_cycle
echo "==> load (open loop 20 turns/s, then capacity)"
.venv/bin/python -m bench.load --rate 20 --seconds 60
.venv/bin/python -m bench.load --capacity 16 --seconds 30
echo "==> NLU (CV, held-out, training, parse latency)"
.venv-rasa/bin/python -m bench.nlu
echo "==> NLU ablation";       .venv-rasa/bin/python -m bench.nlu_ablation
