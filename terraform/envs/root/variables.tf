# Shared verbatim by terraform/envs/staging and terraform/envs/prod (tests/terraform check they are
# identical). The values are in terraform.tfvars; the checks on them live in terraform/modules.

variable "environment" {
  description = "staging or prod: the environment this root deploys."
  type        = string

  validation {
    condition     = contains(["staging", "prod"], var.environment)
    error_message = "environment must be staging or prod."
  }
}

variable "aws_account_id" {
  description = "The AWS account of this environment; the provider refuses any other."
  type        = string

  validation {
    condition     = can(regex("^[0-9]{12}$", var.aws_account_id))
    error_message = "aws_account_id must be the 12-digit AWS account ID of the environment."
  }
}

variable "region" {
  description = "The AWS region, e.g. eu-west-1."
  type        = string

  validation {
    condition     = can(regex("^[a-z]{2}(-[a-z]+)+-[0-9]$", var.region))
    error_message = "region must be an AWS region name such as eu-west-1."
  }
}

variable "vpc_cidr" {
  description = "The VPC's CIDR block (network module)."
  type        = string
}

variable "availability_zones" {
  description = "The three availability zones (network module)."
  type        = list(string)
}

variable "single_nat_gateway" {
  description = "One NAT gateway instead of one per zone (not in prod)."
  type        = bool
  default     = false
}

variable "public_access_cidrs" {
  description = "Addresses allowed to reach the EKS public API endpoint."
  type        = list(string)
  default     = []
}

variable "kubernetes_version" {
  description = "The EKS Kubernetes minor version."
  type        = string
  default     = "1.33"
}

variable "system_instance_types" {
  description = "Instance types of the system node group."
  type        = list(string)
  default     = ["m6i.large"]
}

variable "worker_instance_types" {
  description = "Instance types of the worker node group."
  type        = list(string)
  default     = ["m6i.xlarge"]
}

variable "worker_min_nodes" {
  description = "The fewest worker nodes."
  type        = number
  default     = 1
}

variable "worker_max_nodes" {
  description = "The most worker nodes."
  type        = number
  default     = 60
}

variable "db_instance_class" {
  description = "The RDS instance class."
  type        = string
  default     = "db.t4g.medium"
}

variable "db_multi_az" {
  description = "Multi-AZ metadata database (required in prod)."
  type        = bool
  default     = false
}

variable "db_deletion_protection" {
  description = "Deletion protection on the metadata database (required in prod)."
  type        = bool
  default     = true
}

variable "db_backup_retention_days" {
  description = "Days of RDS automated backups."
  type        = number
  default     = 7
}

variable "log_retention_days" {
  description = "Days remote task logs are kept."
  type        = number
  default     = 90
}

variable "force_destroy" {
  description = "Let destroy empty buckets and repositories (never prod)."
  type        = bool
  default     = false
}
