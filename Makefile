# Huzhu: the two commands of the README, and a few more.
#   make demo   set up .venv, migrate the embedded SQLite database, load demo data, serve :8000
#   make test   lint + the whole test suite (creates/updates .venv as needed)

PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-stamp
HOST ?= 127.0.0.1
PORT ?= 8000

.PHONY: demo test install lint format serve worker

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip
	$(BIN)/python -m pip install -q -e ".[dev]"
	touch $(STAMP)

install: $(STAMP)

demo: $(STAMP)
	DEBUG=1 $(BIN)/huzhu migrate --noinput
	DEBUG=1 $(BIN)/huzhu demo
	@echo "Serving http://$(HOST):$(PORT)/ (staff pages: /staff/, portal admin: /cms/); Ctrl-C stops."
	DEBUG=1 $(BIN)/huzhu db_worker --interval 1 & worker=$$!; \
	trap 'kill $$worker 2>/dev/null' EXIT INT TERM; \
	DEBUG=1 $(BIN)/huzhu runserver $(HOST):$(PORT)

serve: $(STAMP)
	DEBUG=1 $(BIN)/huzhu runserver $(HOST):$(PORT)

worker: $(STAMP)
	DEBUG=1 $(BIN)/huzhu db_worker --interval 1

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

format: $(STAMP)
	$(BIN)/ruff check --fix .
	$(BIN)/ruff format .

test: lint
	$(BIN)/python -m pytest
