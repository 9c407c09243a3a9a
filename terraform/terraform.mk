# Terraform for an airkube environment on AWS, in two layers applied in order: terraform/envs/$(ENV)
# (network, EKS, RDS, EFS, S3, ECR, IAM) then terraform/platform (in-cluster: autoscaler, logs volume,
# Secrets, the Airflow release). Included by the main Makefile; needs terraform >= 1.11 and AWS
# credentials for ENV's account. Every variable here is prefixed TF_ so it cannot clash with the others.
#   make tf-plan ENV=staging      make tf-apply ENV=staging      make tf-destroy ENV=staging

TF_DIR := $(patsubst %/,%,$(dir $(lastword $(MAKEFILE_LIST))))
TF ?= terraform
TF_ENVS := staging prod
TF_ENV_DIR = $(TF_DIR)/envs/$(ENV)
TF_PLATFORM_DIR = $(TF_DIR)/platform
# Extra arguments for plan/apply/destroy, e.g. TF_ARGS=-auto-approve.
TF_ARGS ?=

# Refuse to run without ENV=staging|prod.
TF_CHECK_ENV = $(if $(filter $(ENV),$(TF_ENVS)),,$(error ENV must be one of: $(TF_ENVS) (got '$(ENV)')))

TF_INIT_ENV = $(TF) -chdir=$(TF_ENV_DIR) init -input=false
TF_INIT_PLATFORM = $(TF) -chdir=$(TF_PLATFORM_DIR) init -input=false -reconfigure -backend-config=backend-$(ENV).hcl
TF_PLATFORM_VARS = -var-file=$(ENV).tfvars

.PHONY: tf-plan tf-apply tf-destroy tf-fmt

tf-plan: ## Plan both layers of ENV (the platform plan needs the environment layer applied once)
	$(TF_CHECK_ENV)
	$(TF_INIT_ENV)
	$(TF) -chdir=$(TF_ENV_DIR) plan -input=false $(TF_ARGS)
	$(TF_INIT_PLATFORM)
	$(TF) -chdir=$(TF_PLATFORM_DIR) plan -input=false $(TF_PLATFORM_VARS) $(TF_ARGS)

tf-apply: ## Apply ENV: the environment layer (envs/ENV), then the platform layer
	$(TF_CHECK_ENV)
	$(TF_INIT_ENV)
	$(TF) -chdir=$(TF_ENV_DIR) apply -input=false $(TF_ARGS)
	$(TF_INIT_PLATFORM)
	$(TF) -chdir=$(TF_PLATFORM_DIR) apply -input=false $(TF_PLATFORM_VARS) $(TF_ARGS)

tf-destroy: ## Destroy ENV in reverse: the platform layer, then the environment layer
	$(TF_CHECK_ENV)
	$(TF_INIT_PLATFORM)
	$(TF) -chdir=$(TF_PLATFORM_DIR) destroy -input=false $(TF_PLATFORM_VARS) $(TF_ARGS)
	$(TF_INIT_ENV)
	$(TF) -chdir=$(TF_ENV_DIR) destroy -input=false $(TF_ARGS)

tf-fmt: ## Format every Terraform file under terraform/
	$(TF) fmt -recursive $(TF_DIR)
