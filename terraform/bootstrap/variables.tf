variable "environment" {
  description = "The environment whose account gets a state bucket: staging or prod."
  type        = string

  validation {
    condition     = contains(["staging", "prod"], var.environment)
    error_message = "environment must be staging or prod (terraform/bootstrap/<environment>.tfvars)."
  }
}

variable "aws_account_id" {
  description = "The AWS account of the environment; the provider refuses any other, and the bucket is named for it."
  type        = string

  validation {
    condition     = can(regex("^[0-9]{12}$", var.aws_account_id))
    error_message = "aws_account_id must be the 12-digit AWS account ID of the environment."
  }
}

variable "region" {
  description = "The AWS region of the state bucket, the same as the environment's (backend.tf's region)."
  type        = string

  validation {
    condition     = can(regex("^[a-z]{2}(-[a-z]+)+-[0-9]$", var.region))
    error_message = "region must be an AWS region name such as eu-west-1."
  }
}
