# airkube: the commands people type. `make help` lists them.
SHELL := bash
.SHELLFLAGS := -eu -o pipefail -c
.DEFAULT_GOAL := help

PYTHON ?= python3.11
VENV := .venv
BIN := $(VENV)/bin
# pip's config on some machines names local indexes that do not exist; their warnings are noise.
PIP_QUIET := 2> >(grep -v "is ignored: it is neither a file nor a directory" >&2)

.PHONY: help venv test lint pytest bench lock clean-venv

help: ## list the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-10s %s\n", $$1, $$2}'

$(BIN)/.installed: constraints.txt pyproject.toml images/pipeline/pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet -c constraints.txt pip $(PIP_QUIET)
	$(BIN)/pip install --quiet -c constraints.txt -e ".[dev]" -e images/pipeline $(PIP_QUIET)
	touch $@

venv: $(BIN)/.installed ## create .venv from the lock (constraints.txt)

lint: venv ## ruff: lint and format check
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

pytest: venv
	$(BIN)/pytest

test: lint pytest ## lint, then every test

bench: venv ## benchmarks, side by side, printed as ratios
	$(BIN)/python bench/parse_time.py

lock: ## re-resolve dependencies into constraints.txt (needs network access to PyPI)
	bash scripts/lock.sh $(PIP_QUIET)

clean-venv: ## remove the virtualenv
	rm -rf $(VENV)
