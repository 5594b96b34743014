# Every entry point of the project; `make help` lists them. Needs only Python 3.11 (and make).
PY ?= python3
DEV := $(PY) scripts/dev.py

.PHONY: help setup run test status rankings alerts docs clean

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
