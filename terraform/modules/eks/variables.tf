variable "cluster_name" {
  description = "The EKS cluster's name, e.g. airkube-staging (also the Cluster Autoscaler's discovery tag)."
  type        = string

  validation {
    condition     = can(regex("^[a-z][a-z0-9-]{2,38}$", var.cluster_name))
    error_message = "cluster_name must be 3-39 lowercase letters, digits or dashes, starting with a letter (e.g. airkube-staging)."
  }
}

variable "kubernetes_version" {
  description = "The cluster's Kubernetes minor version; helm/README.md expects 1.33."
  type        = string
  default     = "1.33"

  validation {
    condition     = can(regex("^1\\.(3[0-9])$", var.kubernetes_version))
    error_message = "kubernetes_version must be a minor version such as 1.33 (1.30 or later)."
  }
}

variable "vpc_id" {
  description = "The VPC the cluster runs in (network module)."
  type        = string
}

variable "subnet_ids" {
  description = "The private subnets of the control plane's interfaces and the nodes, one per zone (network module)."
  type        = list(string)

  validation {
    condition     = length(var.subnet_ids) >= 2
    error_message = "subnet_ids must list at least two private subnets in different zones (EKS requires two zones)."
  }
}

variable "public_access_cidrs" {
  description = "The addresses allowed to reach the public API endpoint (the operators' and CI's); empty for a private-only endpoint."
  type        = list(string)
  default     = []

  validation {
    condition     = alltrue([for c in var.public_access_cidrs : can(cidrhost(c, 0))])
    error_message = "public_access_cidrs must be IPv4 CIDR blocks such as 203.0.113.0/24."
  }

  validation {
    condition     = !contains(var.public_access_cidrs, "0.0.0.0/0")
    error_message = "public_access_cidrs must not contain 0.0.0.0/0: list the operators' and CI's addresses instead."
  }
}

variable "system_instance_types" {
  description = "Instance types of the system node group (CoreDNS, the Cluster Autoscaler, Airflow's long-running components)."
  type        = list(string)
  default     = ["m6i.large"]

  validation {
    condition     = length(var.system_instance_types) > 0
    error_message = "system_instance_types must list at least one instance type, e.g. [\"m6i.large\"]."
  }

  validation {
    # x86-64 general-purpose, compute and memory families: the images are built for linux/amd64
    # (IMAGE_PLATFORM in helm/helm.mk), so a Graviton (arm64) node could not run them.
    condition     = alltrue([for t in var.system_instance_types : can(regex("^(m5|m6i|m7i|c5|c6i|c7i|r5|r6i|r7i|m6a|m7a|c6a|c7a|r6a|r7a)\\.(large|xlarge|[0-9]+xlarge)$", t))])
    error_message = "system_instance_types must be x86-64 instance types from the m, c or r families, 5th generation or later (e.g. m6i.large); the images are linux/amd64, so Graviton types such as m7g cannot run them."
  }
}

variable "system_node_count" {
  description = "The fixed size of the system node group; 2 or more so one node can be drained."
  type        = number
  # 3, not 2: Airflow's long-running pods request 3.1 CPU (the rendered chart), besides CoreDNS, the
  # autoscaler and the bin-packing scheduler; two m6i.large offer 3.0 after the DaemonSets. The capacity
  # planner's tests (tests/plan/test_layers_agree.py) fail when the system pods do not fit.
  default = 3

  validation {
    condition     = var.system_node_count >= 2 && var.system_node_count <= 6
    error_message = "system_node_count must be 2 to 6: two keep the system pods up through a node drain."
  }
}

variable "worker_instance_types" {
  description = "Instance types of the worker node group (Airflow worker and task pods)."
  type        = list(string)
  default     = ["m6i.xlarge"]

  validation {
    condition     = length(var.worker_instance_types) > 0
    error_message = "worker_instance_types must list at least one instance type, e.g. [\"m6i.xlarge\"]."
  }

  validation {
    # x86-64 general-purpose, compute and memory families: the images are built for linux/amd64
    # (IMAGE_PLATFORM in helm/helm.mk), so a Graviton (arm64) node could not run them.
    condition     = alltrue([for t in var.worker_instance_types : can(regex("^(m5|m6i|m7i|c5|c6i|c7i|r5|r6i|r7i|m6a|m7a|c6a|c7a|r6a|r7a)\\.(large|xlarge|[0-9]+xlarge)$", t))])
    error_message = "worker_instance_types must be x86-64 instance types from the m, c or r families, 5th generation or later (e.g. m6i.xlarge); the images are linux/amd64, so Graviton types such as m7g cannot run them."
  }
}

variable "worker_min_nodes" {
  description = "The fewest worker nodes the Cluster Autoscaler scales down to."
  type        = number
  default     = 1

  validation {
    condition     = var.worker_min_nodes >= 1 && floor(var.worker_min_nodes) == var.worker_min_nodes
    error_message = "worker_min_nodes must be a whole number of at least 1: one worker node stays up for the first task of a run."
  }
}

variable "worker_max_nodes" {
  description = "The most worker nodes the Cluster Autoscaler scales up to (60 for the nightly 201-task DAG)."
  type        = number
  default     = 60

  validation {
    condition     = var.worker_max_nodes >= var.worker_min_nodes
    error_message = "worker_max_nodes must be at least worker_min_nodes: raise worker_max_nodes or lower worker_min_nodes."
  }

  validation {
    condition     = var.worker_max_nodes <= 100
    error_message = "worker_max_nodes must be at most 100 (the node subnets' addresses and the account's EC2 quota); ask before raising it."
  }
}

variable "node_disk_size_gb" {
  description = "The encrypted gp3 root volume of every node, in GiB (images of the task pods are cached there)."
  type        = number
  default     = 50

  validation {
    condition     = var.node_disk_size_gb >= 20 && var.node_disk_size_gb <= 500
    error_message = "node_disk_size_gb must be 20 to 500 GiB."
  }
}

variable "efs_csi_role_arn" {
  description = "The IAM role of the EFS CSI driver's controller (iam module), for the aws-efs-csi-driver addon."
  type        = string

  validation {
    condition     = can(regex("^arn:aws[a-z-]*:iam::", var.efs_csi_role_arn))
    error_message = "efs_csi_role_arn must be an IAM role ARN (the iam module's efs_csi_role_arn output)."
  }
}

variable "control_plane_log_retention_days" {
  description = "Days CloudWatch keeps the control plane's logs (API, audit, authenticator, scheduler, controller manager)."
  type        = number
  default     = 365

  validation {
    condition     = contains([1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288, 3653], var.control_plane_log_retention_days)
    error_message = "control_plane_log_retention_days must be one of CloudWatch's retention periods: 1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288 or 3653."
  }
}

variable "tags" {
  description = "Tags added to every resource of the module."
  type        = map(string)
  default     = {}
}
