# One command to set up and run the app, one to set up and run the tests.
VENV ?= .venv
PY := $(VENV)/bin/python
PYTHON ?= python3

.PHONY: setup run chat build test eval lint

setup: $(VENV)/.installed

$(VENV)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	# the CPU build of torch from this machine's disk, before anything can pull a CUDA one
	$(PY) -m pip install -q torch==2.13.0
	$(PY) -m pip install -q -e '.[dev]'
	touch $@

run: setup
	$(PY) -m assistant build
	$(PY) -m assistant chat

chat: run

build: setup
	$(PY) -m assistant build

test: setup
	$(PY) -m pytest -q

eval: setup
	$(PY) -m assistant eval

lint: setup
	$(PY) -m ruff check assistant tests app.py
