# City Live: `make run` (services + sidecar + UI on 8501) and `make test`.
SHELL := /bin/bash
PYTHON ?= python3.11
VENV := .venv
PY := $(VENV)/bin/python
REQ_HASH := $(shell cat requirements.txt requirements-test.txt | sha1sum | cut -c1-12)
VENV_STAMP := $(VENV)/.installed-$(REQ_HASH)
CITY ?= nyc

.PHONY: run test services build stop status venv browser lint bench faults train inference clean-data

venv: $(VENV_STAMP)

$(VENV_STAMP): requirements.txt requirements-test.txt
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q -r requirements.txt -r requirements-test.txt
	@rm -f $(VENV)/.installed-* && touch $@

# Debian's Chromium for the browser tests (never `playwright install`).
browser:
	@command -v chromium >/dev/null || { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null; }

services: venv
	@$(PY) infra/services.py start

# binaries only: tests and benchmarks start private instances (never the ones `make run` uses)
build: venv
	@$(PY) infra/services.py build

stop:
	@$(PY) infra/services.py stop

status:
	@$(PY) infra/services.py status

run: services
	@bash infra/run.sh $(CITY)

# unit, integration, UI, browser and the quick fault tests; the slow ones: make faults
test: build browser
	$(PY) -m pytest -q

lint: venv
	$(PY) -m ruff check .

train: services
	$(PY) -m models.train --city $(CITY)

# the optional dedicated inference service (KServe v2 REST on MLServer) on 127.0.0.1:8090;
# point the sidecar at it with INFERENCE_URL=http://127.0.0.1:8090 (docs/architecture.md §14)
inference: venv
	$(PY) -m models.serving

bench: build
	$(PY) -m bench.run_all

faults: build browser
	$(PY) -m pytest -q -m faults tests/faults

clean-data: stop
	@$(PY) infra/services.py clean
