#!/usr/bin/env bash
# Run the benchmarks; copy the printed figures into docs/benchmarks.md with date and machine.
set -euo pipefail
cd "$(dirname "$0")/.."
export PYTHONPATH="$PWD" SQLALCHEMY_SILENCE_UBER_WARNING=1 TF_CPP_MIN_LOG_LEVEL=2 RASA_TELEMETRY_ENABLED=false
echo "==> grid resolution";    .venv/bin/python -m bench.grids
echo "==> console queue";      .venv/bin/python -m bench.console_queue
echo "==> retraining cycle";   .venv/bin/python -m bench.retrain_cycle
echo "==> turn latency";       .venv/bin/python -m bench.turn_latency --residents 10 --rounds 3
echo "==> NLU (CV, held-out, training, parse latency)"
.venv-rasa/bin/python -m bench.nlu
echo "==> NLU ablation";       .venv-rasa/bin/python -m bench.nlu_ablation
