# Resident-petition channel — the front door. `make help` lists the targets.
SHELL := /bin/bash
.DEFAULT_GOAL := help

# Ports and hosts (override on the command line or in the environment)
export APP_HOST ?= 127.0.0.1
export APP_PORT ?= 8000
export RASA_PORT ?= 5005
export ACTION_PORT ?= 5055
export RASA_URL ?= http://127.0.0.1:$(RASA_PORT)
export CASESTORE_URL ?= http://127.0.0.1:$(APP_PORT)
export ACTION_SERVER_URL ?= http://127.0.0.1:$(ACTION_PORT)/webhook
# Rasa authenticates to the action server with it (endpoints.yml); read from .env when a
# recipe runs (recursive: .env may be written earlier in the same make run).
export ACTION_SERVER_TOKEN ?= $(shell sed -n 's/^ACTION_SERVER_TOKEN=//p' .env 2>/dev/null)
export MODEL_DIR ?= models
# Rasa's tracker store in make run (endpoints.yml): conversations survive a restart.
export RASA_TRACKER_DB ?= var/rasa-tracker.db
export SQLALCHEMY_SILENCE_UBER_WARNING := 1
export TF_CPP_MIN_LOG_LEVEL := 2
# Rasa would send usage telemetry and crash reports to the internet; this system stays offline.
export RASA_TELEMETRY_ENABLED := false

VENV := .venv
VENV_RASA := .venv-rasa
UV := $(VENV)/bin/uv
RASA := $(VENV_RASA)/bin/rasa
MODEL := $(MODEL_DIR)/petition.tar.gz
# What the model is trained from: the project's files and the runtime data under var/ that
# training adds (imported history, categories added from the console), if present.
RASA_INPUTS := config.yml domain.yml $(wildcard var/taxonomy-additions.yml) \
	$(shell find data var/nlu/imported -type f \( -name '*.yml' -o -name '*.txt' \) -not -path 'data/grids/*' 2>/dev/null)


.PHONY: help run run-scale status test lint format validate train migrate lock bench envs clean

help: ## Show this help
	@grep -hE '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F ':.*## ' '{printf "  make %-10s %s\n", $$1, $$2}'

run: envs .env migrate train ## Set everything up and start Rasa, actions, outbox and the app (Ctrl-C stops)
	@echo "Starting: Rasa :$(RASA_PORT), action server :$(ACTION_PORT), app :$(APP_PORT) (logs in var/log/)"
	@$(VENV)/bin/python -m webapp.supervise run

run-scale: envs .env train ## The same, scaled out: PostgreSQL, Redis lock store, 2 Rasa and 2 action workers
	@bash scripts/run-scale.sh

status: ## Show the processes of a running make run / make run-scale (supervisorctl status)
	@$(VENV)/bin/python -m webapp.supervise status

test: envs .env ## Set up and run every test (lint, unit, Rasa data and stories, integration)
	@bash scripts/test.sh

envs: $(VENV)/.synced $(VENV_RASA)/.synced ## Create both environments from the lock files

$(VENV)/.synced: requirements/app.lock pyproject.toml
	@echo "==> app environment (Python 3.11) from requirements/app.lock"
	@test -x $(VENV)/bin/python || "$$(scripts/find-python.sh 3.11)" -m venv $(VENV)
	@test -x $(UV) || $(VENV)/bin/pip install --progress-bar on -q "uv==$$(grep -E '^uv==' requirements/app.lock | cut -d= -f3)"
	@$(UV) pip sync --compile-bytecode --python $(VENV)/bin/python requirements/app.lock
	@$(UV) pip install -q --python $(VENV)/bin/python --no-deps -e .
	@touch $@

$(VENV_RASA)/.synced: requirements/rasa.lock $(VENV)/.synced
	@echo "==> Rasa environment (Python 3.10) from requirements/rasa.lock (first time: a few minutes)"
	@test -x $(VENV_RASA)/bin/python || $(UV) venv -q --python "$$(scripts/find-python.sh 3.10)" $(VENV_RASA)
	@$(UV) pip sync --compile-bytecode --python $(VENV_RASA)/bin/python requirements/rasa.lock
	@touch $@

# Phony: also repairs an existing .env (mode 0600, empty secrets filled in); never overwrites one.
.PHONY: .env
.env:
	@bash scripts/ensure-dotenv.sh .env

migrate: envs .env ## Apply database migrations (SQLite by default, DATABASE_URL for PostgreSQL)
	@mkdir -p var
	@$(VENV)/bin/alembic upgrade head

train: $(MODEL) ## Train the Rasa model if its data or configuration changed

# The training pipeline of `petition train` (retraining/trainer.py): project data plus var/.
$(MODEL): $(RASA_INPUTS) $(wildcard nlu/*.py) | $(VENV_RASA)/.synced .env
	@echo "==> training the Rasa model (data or config changed)"
	@$(VENV)/bin/petition train --out $(MODEL_DIR) --name petition
	@touch $@

validate: envs ## Check the Rasa training data and domain
	@$(RASA) data validate --data data/nlu data/rules data/stories

lint: envs ## import contracts (lint-imports), ruff (lint + format check) and mypy
	@$(VENV)/bin/lint-imports --no-cache
	@$(VENV)/bin/ruff check .
	@$(VENV)/bin/ruff format --check .
	@$(VENV)/bin/mypy
	@$(VENV_RASA)/bin/mypy --config-file mypy-rasa.ini

format: envs ## Apply ruff's formatting and safe fixes
	@$(VENV)/bin/ruff check --fix .
	@$(VENV)/bin/ruff format .

lock: ## Re-resolve both lock files from requirements/*.in
	@$(UV) pip compile -q --python-version 3.11 requirements/app.in -o requirements/app.lock
	@$(UV) pip compile -q --python-version 3.10 requirements/rasa.in -o requirements/rasa.lock

bench: envs .env train ## Run the benchmarks in bench/ (prints figures for docs/benchmarks.md)
	@bash scripts/bench.sh

clean: ## Remove environments, models and local data
	rm -rf $(VENV) $(VENV_RASA) $(MODEL_DIR) var
