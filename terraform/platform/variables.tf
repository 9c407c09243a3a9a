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

# The Cluster Autoscaler's timings. The capacity planner (tools/airkube_plan) reads these, so a plan and
# the cluster agree; `make capacity` shows what a change does to a night's node-hours.
variable "autoscaler_scan_interval" {
  description = "How often the Cluster Autoscaler looks for pending pods and unneeded nodes (--scan-interval)."
  type        = string
  default     = "10s" # the autoscaler's default

  validation {
    condition     = can(regex("^[0-9]+(s|m)$", var.autoscaler_scan_interval))
    error_message = "autoscaler_scan_interval must be a duration in seconds or minutes, such as 10s."
  }
}

variable "autoscaler_scale_down_unneeded_time" {
  description = "How long a worker node must hold no task or worker pod before it is removed (--scale-down-unneeded-time)."
  type        = string
  # 3m, not the default 10m: a nightly run's tail empties nodes one by one, and each waited 10 minutes; the
  # plan of the layered and fan-out shapes (tests/plan/test_nightly_plan.py) spends 4 to 8% less node-hours.
  default = "3m"

  validation {
    condition     = can(regex("^[0-9]+(s|m)$", var.autoscaler_scale_down_unneeded_time))
    error_message = "autoscaler_scale_down_unneeded_time must be a duration in seconds or minutes, such as 3m."
  }
}

variable "autoscaler_scale_down_delay_after_add" {
  description = "How long after adding a node the autoscaler removes none (--scale-down-delay-after-add)."
  type        = string
  default     = "3m" # not 10m, for the same reason as autoscaler_scale_down_unneeded_time

  validation {
    condition     = can(regex("^[0-9]+(s|m)$", var.autoscaler_scale_down_delay_after_add))
    error_message = "autoscaler_scale_down_delay_after_add must be a duration in seconds or minutes, such as 3m."
  }
}

variable "git_ssh_key_secret_name" {
  description = "The Secrets Manager secret holding the DAG repository's read-only deploy key (made by hand)."
  type        = string
  default     = "airkube/git-ssh-key"
}
