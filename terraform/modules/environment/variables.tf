variable "environment" {
  description = "The environment this stack is: staging or prod. Names every resource airkube-<environment>."
  type        = string

  validation {
    condition     = contains(["staging", "prod"], var.environment)
    error_message = "environment must be staging or prod (terraform/envs/<environment>)."
  }
}

variable "vpc_cidr" {
  description = "The VPC's IPv4 CIDR block, /16 to /18."
  type        = string

  validation {
    condition     = can(cidrhost(var.vpc_cidr, 0))
    error_message = "vpc_cidr must be an IPv4 CIDR block such as 10.40.0.0/16."
  }
}

variable "availability_zones" {
  description = "The three availability zones of the region the environment spans."
  type        = list(string)

  validation {
    condition     = length(var.availability_zones) == 3
    error_message = "availability_zones must list exactly three zones, e.g. [\"eu-west-1a\", \"eu-west-1b\", \"eu-west-1c\"]."
  }
}

variable "single_nat_gateway" {
  description = "One NAT gateway for all zones instead of one per zone; not allowed in prod."
  type        = bool
  default     = false

  validation {
    condition     = var.environment != "prod" || !var.single_nat_gateway
    error_message = "single_nat_gateway must be false in prod: one NAT gateway per zone keeps egress up through a zone outage."
  }
}

variable "public_access_cidrs" {
  description = "Addresses allowed to reach the EKS API's public endpoint (operators, CI); empty for private only."
  type        = list(string)
  default     = []
}

variable "kubernetes_version" {
  description = "The EKS Kubernetes minor version (helm/README.md: 1.33)."
  type        = string
  default     = "1.33"
}

variable "system_instance_types" {
  description = "Instance types of the system node group."
  type        = list(string)
  default     = ["m6i.large"]
}

variable "worker_instance_types" {
  description = "Instance types of the autoscaled worker node group."
  type        = list(string)
  default     = ["m6i.xlarge"]
}

variable "worker_min_nodes" {
  description = "The fewest worker nodes (at least 1)."
  type        = number
  default     = 1

  validation {
    condition     = var.worker_min_nodes >= 1
    error_message = "worker_min_nodes must be at least 1: one worker node stays up for the first task of a run."
  }
}

variable "worker_max_nodes" {
  description = "The most worker nodes the Cluster Autoscaler may run (60 for the nightly DAG)."
  type        = number
  default     = 60

  validation {
    condition     = var.worker_max_nodes >= var.worker_min_nodes
    error_message = "worker_max_nodes must be at least worker_min_nodes: raise worker_max_nodes or lower worker_min_nodes."
  }
}

variable "db_instance_class" {
  description = "The RDS instance class (the rds module lists the allowed ones)."
  type        = string
  default     = "db.t4g.medium"
}

variable "db_multi_az" {
  description = "A Multi-AZ standby for the metadata database (required in prod)."
  type        = bool
  default     = false
}

variable "db_deletion_protection" {
  description = "Deletion protection and a final snapshot for the metadata database (required in prod)."
  type        = bool
  default     = true
}

variable "db_backup_retention_days" {
  description = "Days of RDS automated backups, 7 to 35."
  type        = number
  default     = 7
}

variable "log_retention_days" {
  description = "Days remote task logs stay in the logs bucket."
  type        = number
  default     = 90
}

variable "force_destroy" {
  description = "Let `terraform destroy` empty the buckets and ECR repositories (throwaway environments only; never prod)."
  type        = bool
  default     = false

  validation {
    condition     = var.environment != "prod" || !var.force_destroy
    error_message = "force_destroy must be false in prod: destroying prod must not silently delete its data and images."
  }
}

variable "tags" {
  description = "Extra tags on every resource (the provider's default_tags add Project and Environment)."
  type        = map(string)
  default     = {}
}
