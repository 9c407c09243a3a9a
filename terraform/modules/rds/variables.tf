variable "name" {
  description = "The DB instance's identifier and the prefix of its companions, e.g. airkube-staging."
  type        = string

  validation {
    condition     = can(regex("^[a-z][a-z0-9-]{2,50}$", var.name))
    error_message = "name must be 3-51 lowercase letters, digits or dashes, starting with a letter (e.g. airkube-staging)."
  }
}

variable "environment" {
  description = "The environment, staging or prod; prod must be Multi-AZ and deletion-protected."
  type        = string

  validation {
    condition     = contains(["staging", "prod"], var.environment)
    error_message = "environment must be staging or prod."
  }
}

variable "vpc_id" {
  description = "The VPC of the database's security group (network module)."
  type        = string
}

variable "subnet_ids" {
  description = "The private database subnets, one per zone (network module's database_subnet_ids)."
  type        = list(string)

  validation {
    condition     = length(var.subnet_ids) >= 2
    error_message = "subnet_ids must list at least two database subnets in different zones (an RDS subnet group requires two)."
  }
}

variable "allowed_security_group_ids" {
  description = "Security groups allowed to connect on 5432 (the EKS cluster security group, where PgBouncer runs)."
  type        = list(string)

  validation {
    condition     = length(var.allowed_security_group_ids) > 0
    error_message = "allowed_security_group_ids must list at least one security group (the EKS cluster's), or nothing can reach the database."
  }
}

variable "instance_class" {
  description = "The DB instance class, from the list the platform is sized and tested for."
  type        = string
  default     = "db.t4g.medium"

  validation {
    condition = contains([
      "db.t4g.medium", "db.t4g.large",
      "db.m7g.large", "db.m7g.xlarge", "db.m7g.2xlarge",
      "db.r7g.large", "db.r7g.xlarge",
    ], var.instance_class)
    error_message = "instance_class must be one of db.t4g.medium, db.t4g.large, db.m7g.large, db.m7g.xlarge, db.m7g.2xlarge, db.r7g.large, db.r7g.xlarge; add a new class to this list after sizing max_connections for it."
  }
}

variable "engine_version" {
  description = "The PostgreSQL version: 16, or a 16.x minor to pin one."
  type        = string
  default     = "16"

  validation {
    condition     = can(regex("^16(\\.[0-9]+)?$", var.engine_version))
    error_message = "engine_version must be PostgreSQL 16, written 16 or 16.<minor> (e.g. 16.8); a major upgrade is a separate, planned change."
  }
}

variable "allocated_storage_gb" {
  description = "The initial gp3 storage in GiB; storage autoscaling grows it up to max_allocated_storage_gb."
  type        = number
  default     = 50

  validation {
    condition     = var.allocated_storage_gb >= 20 && var.allocated_storage_gb <= 1000
    error_message = "allocated_storage_gb must be 20 to 1000 GiB."
  }
}

variable "max_allocated_storage_gb" {
  description = "The ceiling of storage autoscaling, in GiB."
  type        = number
  default     = 200

  validation {
    condition     = var.max_allocated_storage_gb >= var.allocated_storage_gb
    error_message = "max_allocated_storage_gb must be at least allocated_storage_gb: raise it or lower allocated_storage_gb."
  }
}

variable "multi_az" {
  description = "A standby in a second zone with automatic failover; required in prod."
  type        = bool
  default     = false

  validation {
    condition     = var.environment != "prod" || var.multi_az
    error_message = "multi_az must be true in prod: the metadata database must survive a zone outage."
  }
}

variable "deletion_protection" {
  description = "Refuse to delete the instance (and take a final snapshot when it is deleted); required in prod."
  type        = bool
  default     = true

  validation {
    condition     = var.environment != "prod" || var.deletion_protection
    error_message = "deletion_protection must be true in prod: the metadata database holds every run's history."
  }
}

variable "backup_retention_days" {
  description = "Days of automated backups (point-in-time recovery window), 7 to 35."
  type        = number
  default     = 7

  validation {
    condition     = var.backup_retention_days >= 7 && var.backup_retention_days <= 35
    error_message = "backup_retention_days must be 7 to 35: at least a week of point-in-time recovery."
  }
}

variable "pgbouncer_server_connections" {
  description = "Server connections all PgBouncer pods may open together (replicas x metadataPoolSize in helm/values.yaml)."
  type        = number

  validation {
    condition     = var.pgbouncer_server_connections >= 1
    error_message = "pgbouncer_server_connections must be at least 1 (pgbouncer.replicas x pgbouncer.metadataPoolSize)."
  }
}

variable "max_connections" {
  description = "PostgreSQL's max_connections: PgBouncer's pools plus room for migrations, admin sessions and RDS itself."
  type        = number
  default     = 200

  validation {
    condition     = var.max_connections >= var.pgbouncer_server_connections + 20
    error_message = "max_connections must exceed pgbouncer_server_connections by at least 20 (admin sessions, migrations, RDS's own); raise max_connections or shrink the PgBouncer pools."
  }
}

variable "kms_key_arn" {
  description = "The customer-managed KMS key the database's storage and Performance Insights is encrypted with (kms module)."
  type        = string

  validation {
    condition     = can(regex("^arn:aws[a-z-]*:kms:[a-z0-9-]+:[0-9]{12}:key/", var.kms_key_arn))
    error_message = "kms_key_arn must be a KMS key ARN such as arn:aws:kms:eu-west-1:123456789012:key/<id> (the kms module's key_arn output)."
  }
}

variable "airflow_role" {
  description = "The database role Airflow and PgBouncer log in as (not the master user); also the name of the schema it owns."
  type        = string
  default     = "airflow_app"

  validation {
    # A PostgreSQL identifier that needs no quoting (the master user's name is refused by a precondition).
    condition     = can(regex("^[a-z_][a-z0-9_]{0,62}$", var.airflow_role))
    error_message = "airflow_role must be a lowercase PostgreSQL identifier: letters, digits and underscores, at most 63."
  }
}

variable "tags" {
  description = "Tags added to every resource of the module."
  type        = map(string)
  default     = {}
}
