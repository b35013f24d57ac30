# onair: two commands do all the set-up. `make run` starts the local stack; `make test` runs the tests.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
# One venv, two levels: `make run` installs only requirements-run.txt (runtime, Chalice, the emulator);
# `make test`, `lint`, `package`... add requirements-dev.txt on top. Each level reinstalls only when its
# requirements files change, so repeated runs start fast.
RUN_STAMP := $(VENV)/.installed-run
STAMP := $(VENV)/.installed
PIP := $(BIN)/python -m pip install --quiet --disable-pip-version-check
# checkov pins libraries the project's own tools cannot share, so it gets a venv of its own.
CHECKOV_VENV := .venv-checkov
CHECKOV_STAMP := $(CHECKOV_VENV)/.installed

.PHONY: run test lint clean package deploy bootstrap-key require-bucket
.PHONY: bench bench-full

# Deploying to AWS (README, "Deploying to AWS"). STAGE is a Chalice stage in .chalice/config.json.
STAGE ?= prod
STACK ?= onair-$(STAGE)
DIST ?= dist
BUCKET ?=
ALARM_EMAIL ?=

$(BIN)/python:
	@$(PYTHON) -c 'import sys; sys.exit(sys.version_info < (3, 11))' 2>/dev/null || { \
	  echo "onair: needs Python 3.11 or newer; '$(PYTHON)' is $$($(PYTHON) -V 2>&1 || echo 'not found'). Try: make run PYTHON=python3.11" >&2; \
	  exit 1; }
	$(PYTHON) -m venv $(VENV)

$(RUN_STAMP): requirements.txt requirements-run.txt | $(BIN)/python
	$(PIP) -r requirements-run.txt
	touch $(RUN_STAMP)

$(STAMP): $(RUN_STAMP) requirements-dev.txt
	$(PIP) -r requirements-dev.txt
	touch $(STAMP)

$(CHECKOV_STAMP): requirements-checkov.txt | $(BIN)/python
	test -x $(CHECKOV_VENV)/bin/python || $(PYTHON) -m venv $(CHECKOV_VENV)
	$(CHECKOV_VENV)/bin/python -m pip install --quiet --disable-pip-version-check -r requirements-checkov.txt
	touch $(CHECKOV_STAMP)

# Data is kept in .onair-data/ (ONAIR_DATA_DIR); `make run FRESH=1` starts empty.
run: $(RUN_STAMP)
	$(if $(FRESH),ONAIR_FRESH=1 )$(BIN)/python -m local

test: $(STAMP) $(CHECKOV_STAMP)
	$(BIN)/python -m pytest $(PYTEST_ARGS)

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

# dist/sam.yaml (chalice package + infra/template.yaml + the inlined ASL) and dist/deployment.zip.
package: $(STAMP)
	$(BIN)/python -m infra.package --stage $(STAGE) $(DIST)

require-bucket:
	@test -n "$(BUCKET)" || { echo "usage: make deploy BUCKET=<s3 bucket> [STACK=$(STACK)] [ALARM_EMAIL=you@example.com]" >&2; exit 2; }

# Uploads dist/ to s3://$(BUCKET) and creates or updates the stack $(STACK) (needs AWS credentials).
deploy: require-bucket package
	$(BIN)/python -m infra.deploy --bucket "$(BUCKET)" --stack "$(STACK)" --stage $(STAGE) --alarm-email "$(ALARM_EMAIL)" $(DIST)

# Creates (or replaces) the deployed stack's operator key and prints it once.
bootstrap-key: $(STAMP)
	$(BIN)/python -m infra.bootstrap_key --stack "$(STACK)" --stage $(STAGE)

# Benchmarks (README, "Performance"): one table and bench/results.json. Not part of `make test`.
bench: $(STAMP)
	$(BIN)/python -m bench $(if $(FULL),--full,)

bench-full: $(STAMP)
	$(BIN)/python -m bench --full

clean:
	rm -rf $(VENV) $(CHECKOV_VENV) .pytest_cache $(DIST)
