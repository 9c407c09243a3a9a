variable "name" {
  description = "The file system's Name tag and the prefix of its security group, e.g. airkube-staging."
  type        = string

  validation {
    condition     = can(regex("^[a-z][a-z0-9-]{2,50}$", var.name))
    error_message = "name must be 3-51 lowercase letters, digits or dashes, starting with a letter (e.g. airkube-staging)."
  }
}

variable "vpc_id" {
  description = "The VPC of the mount targets' security group (network module)."
  type        = string
}

variable "subnet_ids" {
  description = "One subnet per zone for the mount targets: the nodes' private subnets (network module)."
  type        = list(string)

  validation {
    condition     = length(var.subnet_ids) >= 2
    error_message = "subnet_ids must list the node subnets of at least two zones, one mount target each."
  }
}

variable "allowed_security_group_ids" {
  description = "Security groups allowed to mount over NFS (2049): the EKS cluster security group."
  type        = list(string)

  validation {
    condition     = length(var.allowed_security_group_ids) > 0
    error_message = "allowed_security_group_ids must list at least one security group (the EKS cluster's), or no node can mount the logs."
  }
}

variable "posix_uid" {
  description = "The user every access through the access point acts as, and owner of its root: Airflow's uid (helm/values.yaml uid)."
  type        = number
  default     = 50000

  validation {
    condition     = var.posix_uid >= 0 && floor(var.posix_uid) == var.posix_uid
    error_message = "posix_uid must be a non-negative whole number (Airflow's uid is 50000)."
  }
}

variable "posix_gid" {
  description = "The group of the access point's user and root directory: Airflow's gid (helm/values.yaml gid)."
  type        = number
  default     = 0

  validation {
    condition     = var.posix_gid >= 0 && floor(var.posix_gid) == var.posix_gid
    error_message = "posix_gid must be a non-negative whole number (Airflow's gid is 0)."
  }
}

variable "kms_key_arn" {
  description = "The customer-managed KMS key the file system is encrypted with (kms module)."
  type        = string

  validation {
    condition     = can(regex("^arn:aws[a-z-]*:kms:[a-z0-9-]+:[0-9]{12}:key/", var.kms_key_arn))
    error_message = "kms_key_arn must be a KMS key ARN such as arn:aws:kms:eu-west-1:123456789012:key/<id> (the kms module's key_arn output)."
  }
}

variable "tags" {
  description = "Tags added to every resource of the module."
  type        = map(string)
  default     = {}
}
