# Terraform for an airkube environment on AWS, in layers applied in order: terraform/bootstrap (once per
# account: the state bucket), terraform/envs/$(ENV) (network, EKS, RDS, EFS, S3, ECR, IAM), then
# terraform/platform (in-cluster: autoscaler, logs volume, Secrets, the Airflow release). Included by the
# main Makefile; needs terraform >= 1.11 and AWS credentials for ENV's account. Every variable here is
# prefixed TF_ so it cannot clash with the others.
#   make bootstrap ENV=staging   make plan ENV=staging   make apply ENV=staging   make destroy ENV=staging
# A new environment applies its layers one at a time, pushing the images in between (README.md).

TF_DIR := $(patsubst %/,%,$(dir $(lastword $(MAKEFILE_LIST))))
TF ?= terraform
TF_ENVS := staging prod
TF_ENV_DIR = $(TF_DIR)/envs/$(ENV)
TF_PLATFORM_DIR = $(TF_DIR)/platform
TF_BOOTSTRAP_DIR = $(TF_DIR)/bootstrap
# The bootstrap layer's state is local (its bucket is what it makes), kept outside the repository.
TF_LOCAL_STATE_DIR := $(abspath $(TF_DIR)/../.local/terraform)
# Extra arguments for plan/apply/destroy, e.g. TF_ARGS=-auto-approve.
TF_ARGS ?=

# Refuse to run without ENV=staging|prod.
TF_CHECK_ENV = $(if $(filter $(ENV),$(TF_ENVS)),,$(error ENV must be one of: $(TF_ENVS) (got '$(ENV)')))

TF_INIT_ENV = $(TF) -chdir=$(TF_ENV_DIR) init -input=false
TF_INIT_PLATFORM = $(TF) -chdir=$(TF_PLATFORM_DIR) init -input=false -reconfigure -backend-config=backend-$(ENV).hcl
TF_INIT_BOOTSTRAP = $(TF) -chdir=$(TF_BOOTSTRAP_DIR) init -input=false -reconfigure \
	-backend-config=path=$(TF_LOCAL_STATE_DIR)/bootstrap-$(ENV).tfstate
TF_PLATFORM_VARS = -var-file=$(ENV).tfvars

# One recipe per layer's apply, shared by apply and the per-layer targets.
define TF_APPLY_ENVIRONMENT
$(TF_INIT_ENV)
$(TF) -chdir=$(TF_ENV_DIR) apply -input=false $(TF_ARGS)
endef
define TF_APPLY_PLATFORM
$(TF_INIT_PLATFORM)
$(TF) -chdir=$(TF_PLATFORM_DIR) apply -input=false $(TF_PLATFORM_VARS) $(TF_ARGS)
endef

.PHONY: bootstrap plan apply apply-environment apply-platform destroy tf-fmt

bootstrap: ## once per AWS account, first: the bucket ENV's Terraform state lives in
	$(TF_CHECK_ENV)
	mkdir -p $(TF_LOCAL_STATE_DIR)
	$(TF_INIT_BOOTSTRAP)
	$(TF) -chdir=$(TF_BOOTSTRAP_DIR) apply -input=false -var-file=$(ENV).tfvars $(TF_ARGS)

plan: ## plan both layers of ENV (the platform plan needs the environment layer applied once)
	$(TF_CHECK_ENV)
	$(TF_INIT_ENV)
	$(TF) -chdir=$(TF_ENV_DIR) plan -input=false $(TF_ARGS)
	$(TF_INIT_PLATFORM)
	$(TF) -chdir=$(TF_PLATFORM_DIR) plan -input=false $(TF_PLATFORM_VARS) $(TF_ARGS)

apply: ## apply ENV: the environment layer (envs/ENV), then the platform layer
	$(TF_CHECK_ENV)
	$(TF_APPLY_ENVIRONMENT)
	$(TF_APPLY_PLATFORM)

apply-environment: ## apply only ENV's AWS layer (a new environment: before its images are pushed)
	$(TF_CHECK_ENV)
	$(TF_APPLY_ENVIRONMENT)

apply-platform: ## apply only ENV's in-cluster layer (autoscaler, logs volume, Secrets, the Airflow release)
	$(TF_CHECK_ENV)
	$(TF_APPLY_PLATFORM)

destroy: ## destroy ENV in reverse: the platform layer, then the environment layer (not the state bucket)
	$(TF_CHECK_ENV)
	$(TF_INIT_PLATFORM)
	$(TF) -chdir=$(TF_PLATFORM_DIR) destroy -input=false $(TF_PLATFORM_VARS) $(TF_ARGS)
	$(TF_INIT_ENV)
	$(TF) -chdir=$(TF_ENV_DIR) destroy -input=false $(TF_ARGS)

tf-fmt: ## format every Terraform file under terraform/
	$(TF) fmt -recursive $(TF_DIR)
