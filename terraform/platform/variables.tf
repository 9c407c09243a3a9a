variable "environment" {
  description = "staging or prod: selects helm/values-<environment>.yaml and the environment layer's state."
  type        = string

  validation {
    condition     = contains(["staging", "prod"], var.environment)
    error_message = "environment must be staging or prod."
  }
}

variable "aws_account_id" {
  description = "The environment's AWS account; the provider refuses any other."
  type        = string

  validation {
    condition     = can(regex("^[0-9]{12}$", var.aws_account_id))
    error_message = "aws_account_id must be the 12-digit AWS account ID of the environment."
  }
}

variable "region" {
  description = "The AWS region of the environment, e.g. eu-west-1."
  type        = string

  validation {
    condition     = can(regex("^[a-z]{2}(-[a-z]+)+-[0-9]$", var.region))
    error_message = "region must be an AWS region name such as eu-west-1."
  }
}

variable "state_bucket" {
  description = "The bucket holding terraform/envs/<environment>'s state (its backend.tf)."
  type        = string

  validation {
    condition     = length(var.state_bucket) >= 3
    error_message = "state_bucket must name the S3 bucket of terraform/envs/<environment>/backend.tf."
  }
}

variable "cluster_autoscaler_chart_version" {
  description = "The cluster-autoscaler Helm chart's version; the image it runs is picked from the cluster's Kubernetes minor."
  type        = string
  default     = "9.46.6"

  validation {
    condition     = can(regex("^[0-9]+\\.[0-9]+\\.[0-9]+$", var.cluster_autoscaler_chart_version))
    error_message = "cluster_autoscaler_chart_version must be an exact chart version such as 9.46.6."
  }
}

variable "git_ssh_key_secret_name" {
  description = "The Secrets Manager secret holding the DAG repository's read-only deploy key (made by hand)."
  type        = string
  default     = "airkube/git-ssh-key"
}
