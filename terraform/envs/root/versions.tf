# Shared verbatim by terraform/envs/staging and terraform/envs/prod (tests/terraform check they are
# identical): only backend.tf and terraform.tfvars differ between environments.
terraform {
  # 1.11: the s3 backend's use_lockfile (state locking without DynamoDB) is generally available.
  required_version = "~> 1.11"

  required_providers {
    aws = {
      source  = "hashicorp/aws"
      version = "~> 5.100"
    }
  }
}
