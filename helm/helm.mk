# Airflow on a Kubernetes cluster: render, diff and deploy the official Apache Airflow Helm chart, and
# build and push the platform's images. Included by the main Makefile; needs helm (plus the helm-diff
# plugin for `diff`), kubectl access to the environment's cluster, docker and, to push, the aws CLI.
# Every variable here is prefixed HELM_ or IMAGE_ so it cannot clash with the main Makefile's.
#   make render ENV=staging      make diff ENV=prod      make deploy ENV=staging
#   make images IMAGE_REGISTRY=123456789012.dkr.ecr.eu-west-1.amazonaws.com/airkube IMAGE_TAG=0.1.0

# The one pin of the chart's version. The tests validate the values against the schema of exactly this
# version (../shared/airflow-chart-$(HELM_CHART_VERSION)/); bumping it is described in helm/README.md.
HELM_CHART_VERSION := 1.21.0

HELM_DIR := $(patsubst %/,%,$(dir $(lastword $(MAKEFILE_LIST))))
HELM_ROOT := $(patsubst %/,%,$(dir $(HELM_DIR)))

HELM ?= helm
HELM_CHART_REPO ?= https://airflow.apache.org
HELM_CHART ?= airflow
HELM_RELEASE ?= airflow
# Also the namespace task pods run in (AIRKUBE_NAMESPACE in helm/values.yaml).
HELM_NAMESPACE ?= airflow
# The kubeconfig context of ENV's cluster (`aws eks update-kubeconfig --alias airkube-<env>`), so values
# of one environment can never be applied to the other's cluster by a stale current context.
HELM_KUBE_CONTEXT ?= airkube-$(ENV)
HELM_KUBE_VERSION ?= 1.33.0
HELM_TIMEOUT ?= 20m
HELM_RENDER_DIR ?= $(HELM_ROOT)/build/helm
HELM_VALUES = -f $(HELM_DIR)/values.yaml -f $(HELM_DIR)/values-$(ENV).yaml
HELM_CHART_ARGS = $(HELM_CHART) --repo $(HELM_CHART_REPO) --version $(HELM_CHART_VERSION) \
	--namespace $(HELM_NAMESPACE) $(HELM_VALUES)

IMAGE_DOCKER ?= docker
IMAGE_REGISTRY ?= localhost:5000/airkube
IMAGE_TAG ?= $(shell sed -n 's/^__version__ = "\(.*\)"/\1/p' $(HELM_ROOT)/plugins/airkube/__init__.py)
IMAGE_PLATFORM ?= linux/amd64
# Read from the lock, never written down a second time: the Airflow image's base is
# apache/airflow:<IMAGE_AIRFLOW_VERSION>-python<IMAGE_PYTHON_VERSION>.
IMAGE_AIRFLOW_VERSION := $(shell sed -n 's/^apache-airflow==//p' $(HELM_ROOT)/constraints.txt)
IMAGE_PYTHON_VERSION := $(shell sed -n 's/^. Python \([0-9]*\.[0-9]*\)\..*/\1/p' $(HELM_ROOT)/constraints.txt)

# Expanded while make reads a recipe, so it stops even `make -n`.
HELM_REQUIRE_ENV = $(if $(and $(filter 1,$(words $(ENV))),$(filter staging prod,$(ENV))),,$(error \
	set ENV=staging or ENV=prod (got "$(ENV)")))
IMAGE_REQUIRE_LOCK = $(if $(and $(IMAGE_AIRFLOW_VERSION),$(IMAGE_PYTHON_VERSION)),,$(error \
	constraints.txt names no apache-airflow== pin or has no "Python X.Y.Z" header line))

.PHONY: render diff deploy images push ecr-login

render: ## render the chart for ENV=staging|prod into build/helm/ (helm template; no cluster needed)
	$(HELM_REQUIRE_ENV)
	mkdir -p $(HELM_RENDER_DIR)
	$(HELM) template $(HELM_RELEASE) $(HELM_CHART_ARGS) --kube-version $(HELM_KUBE_VERSION) \
		> $(HELM_RENDER_DIR)/$(ENV).yaml
	@echo "wrote $(HELM_RENDER_DIR)/$(ENV).yaml"

diff: ## what `make deploy` would change in ENV's cluster (needs the helm-diff plugin)
	$(HELM_REQUIRE_ENV)
	$(HELM) diff upgrade $(HELM_RELEASE) $(HELM_CHART_ARGS) --kube-context $(HELM_KUBE_CONTEXT) \
		--allow-unreleased

# No --wait/--atomic: the chart migrates the database in a post-install/post-upgrade hook, and every
# component waits for that migration, so --wait would never see them ready. Helm still waits for the
# hook job (up to HELM_TIMEOUT) and fails the release if the migration fails.
deploy: ## helm upgrade --install Airflow into ENV's cluster, base values + values-ENV.yaml
	$(HELM_REQUIRE_ENV)
	$(HELM) upgrade --install $(HELM_RELEASE) $(HELM_CHART_ARGS) --kube-context $(HELM_KUBE_CONTEXT) \
		--timeout $(HELM_TIMEOUT)

images: ## build the airflow and pipeline images as IMAGE_REGISTRY/<name>:IMAGE_TAG
	$(IMAGE_REQUIRE_LOCK)
	$(IMAGE_DOCKER) build --platform $(IMAGE_PLATFORM) -f $(HELM_ROOT)/images/airflow/Dockerfile \
		--build-arg AIRFLOW_VERSION=$(IMAGE_AIRFLOW_VERSION) \
		--build-arg PYTHON_VERSION=$(IMAGE_PYTHON_VERSION) \
		-t $(IMAGE_REGISTRY)/airflow:$(IMAGE_TAG) $(HELM_ROOT)
	$(IMAGE_DOCKER) build --platform $(IMAGE_PLATFORM) -f $(HELM_ROOT)/images/pipeline/Dockerfile \
		-t $(IMAGE_REGISTRY)/pipeline:$(IMAGE_TAG) $(HELM_ROOT)

push: images ## build, then push both images to IMAGE_REGISTRY (run `make ecr-login` first)
	$(IMAGE_DOCKER) push $(IMAGE_REGISTRY)/airflow:$(IMAGE_TAG)
	$(IMAGE_DOCKER) push $(IMAGE_REGISTRY)/pipeline:$(IMAGE_TAG)

ecr-login: ## docker login to the ECR registry of IMAGE_REGISTRY (aws CLI credentials)
	aws ecr get-login-password --region $(word 4,$(subst ., ,$(IMAGE_REGISTRY))) \
		| $(IMAGE_DOCKER) login --username AWS --password-stdin $(firstword $(subst /, ,$(IMAGE_REGISTRY)))
