# Shop assistant. `make run` and `make test` set everything up on a fresh machine.
SHELL := /bin/bash
VENV := .venv
PY := $(VENV)/bin/python
RASA := $(VENV)/bin/rasa
STAMP := $(VENV)/.installed

.PHONY: help install run test train models lint shell demo-data clean

help: ## list targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  %-12s %s\n", $$1, $$2}'

$(STAMP): requirements.txt constraints.txt scripts/python310.sh
	@test -x $(PY) || $$(bash scripts/python310.sh) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade 'pip==24.0'
	$(PY) -m pip install -q -r requirements.txt -c constraints.txt
	@touch $(STAMP)

NODE_STAMP := node_modules/.package-lock.json

$(NODE_STAMP): package.json package-lock.json
	npm ci --no-audit --no-fund --loglevel=error
	@touch $(NODE_STAMP)

install: $(STAMP) $(NODE_STAMP) ## create the Python 3.10 venv, install pinned Python and npm packages

demo-data: $(STAMP) ## build the demo shop database under var/ if missing (its logged needs go through the need model, so that is built first)
	$(PY) -m bot needs train --if-stale
	$(PY) -m bot demo-data --if-missing

RASA_TRAIN := $(RASA) train --data nlu_data --domain domain.yml --config config.yml --out models --fixed-model-name shop

models: $(STAMP) demo-data ## build the models that are missing or stale
	$(PY) -m bot needs train --if-stale
	$(RASA_TRAIN)
	@test -f models/propensity/current || $(PY) -m propensity train

train: $(STAMP) demo-data ## retrain every model (the propensity model is promoted only if not worse)
	$(PY) -m bot needs train
	$(RASA_TRAIN)
	$(PY) -m propensity train

run: install models ## run every service; Ctrl-C stops all
	bash scripts/run.sh

shell: install models ## chat with the bot in the terminal
	bash scripts/shell.sh

test: install models ## run every test
	bash scripts/test.sh

lint: $(STAMP) ## validate Rasa data
	$(RASA) data validate --data nlu_data --domain domain.yml --config config.yml --fail-on-warnings

clean: ## remove generated files (venv kept)
	rm -rf var models results
