# rexmon: `make run` starts the whole system on embedded defaults, `make test` runs every test.
# Both install what is missing first (Debian packages, then the .venv).

PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
DEBIAN_PACKAGES := rrdtool librrd-dev rrdcached pkg-config gcc postgresql monitoring-plugins-basic openssl chromium collectd-core libyajl2 libcurl4 curl munin-node munin-plugins-core
STAMP := $(VENV)/.installed

.PHONY: run test lint unit bench soak faults deps venv clean

run: deps venv
	$(BIN)/rexmon-web demo

test: deps venv lint unit

lint: venv
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy

unit: venv
	$(BIN)/pytest $(PYTEST_ARGS)

bench: deps venv
	$(BIN)/python bench/run_all.py

soak: deps venv
	$(BIN)/python bench/soak.py $(SOAK_ARGS)

faults: deps venv
	$(BIN)/python bench/faults.py $(FAULTS_ARGS)

deps:
	@scripts/install-debian-deps $(DEBIAN_PACKAGES)

venv: $(STAMP)

$(STAMP): setup.cfg pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip "setuptools>=68" wheel
	$(BIN)/pip install -q -e '.[server,pg,test]'
	touch $(STAMP)

clean:
	rm -rf $(VENV) var test-output *.egg-info
