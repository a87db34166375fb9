# Shop assistant. `make run` and `make test` set everything up on a fresh machine.
SHELL := /bin/bash
VENV := .venv
PY := $(VENV)/bin/python
RASA := $(VENV)/bin/rasa
STAMP := $(VENV)/.installed

.PHONY: help install run test train lint shell demo-data clean

help: ## list targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  %-12s %s\n", $$1, $$2}'

$(STAMP): requirements.txt constraints.txt scripts/python310.sh
	@test -x $(PY) || $$(bash scripts/python310.sh) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade 'pip==24.0'
	$(PY) -m pip install -q -r requirements.txt -c constraints.txt
	@touch $(STAMP)

install: $(STAMP) ## create the Python 3.10 venv and install pinned packages

demo-data: $(STAMP) ## build the demo shop database under var/ if missing
	$(PY) -m bot demo-data --if-missing

train: $(STAMP) ## train what is missing or stale: need extractor, Rasa model
	$(PY) -m bot needs train --if-stale
	$(RASA) train --data nlu_data --domain domain.yml --config config.yml --out models --fixed-model-name shop

run: install demo-data train ## run every service; Ctrl-C stops all
	bash scripts/run.sh

shell: install demo-data train ## chat with the bot in the terminal
	bash scripts/shell.sh

test: install demo-data train ## run every test
	bash scripts/test.sh

lint: $(STAMP) ## validate Rasa data
	$(RASA) data validate --data nlu_data --domain domain.yml --config config.yml --fail-on-warnings

clean: ## remove generated files (venv kept)
	rm -rf var models results
