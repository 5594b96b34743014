# Every entry point of the project; `make help` lists them. Needs only Python 3.11-3.13 (and make).
PY ?= python3
DEV := $(PY) scripts/dev.py

.PHONY: help setup run test status rankings alerts docs clean server pool deploy worker

help:  ## list the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-10s %s\n", $$1, $$2}'

setup:  ## create .venv with the exact versions of requirements.lock
	$(DEV) setup

run:  ## run the whole pipeline on data/raw into .citytrade/
	$(DEV) run

test:  ## run the test suite
	$(DEV) test

status:  ## last runs, what is published, open alerts
	$(DEV) citytrade status

rankings:  ## the latest full-year city ranking
	$(DEV) citytrade rankings

alerts:  ## open quality alerts
	$(DEV) citytrade alerts

clean:  ## remove the local state folder .citytrade/ (the landing zone is never touched)
	rm -rf .citytrade

# ---- scheduling (README "Scheduling"): a local Prefect server, the process pool, the deployments, a worker
PORT ?= 4200
UI ?= true
PREFECT := .venv/bin/prefect
PREFECT_ENV := PREFECT_HOME=$(CURDIR)/.citytrade/prefect-server PREFECT_API_URL=http://127.0.0.1:$(PORT)/api \
	PREFECT_SERVER_ANALYTICS_ENABLED=false DO_NOT_TRACK=1

server:  ## start a local Prefect server on 127.0.0.1:4200 (PORT=, UI=false)
	$(PREFECT_ENV) PREFECT_UI_ENABLED=$(UI) $(PREFECT) server start --host 127.0.0.1 --port $(PORT)

pool:  ## create the process work pool `citytrade` (once, before deploy)
	$(PREFECT_ENV) $(PREFECT) work-pool create citytrade --type process --overwrite

deploy:  ## register the deployments of prefect.yaml with the server
	$(PREFECT_ENV) $(PREFECT) --no-prompt deploy --all

worker:  ## run the scheduled flows of this checkout
	$(PREFECT_ENV) $(PREFECT) worker start --pool citytrade
