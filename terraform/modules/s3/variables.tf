variable "name_prefix" {
  description = "The buckets are <name_prefix>-data and <name_prefix>-logs, e.g. airkube-staging (helm/values-<env>.yaml's AIRKUBE_DATA_URL)."
  type        = string

  validation {
    condition     = can(regex("^[a-z0-9][a-z0-9-]{2,56}$", var.name_prefix))
    error_message = "name_prefix must be 3-57 lowercase letters, digits or dashes, so the bucket names stay valid (e.g. airkube-staging)."
  }
}

variable "kms_key_arn" {
  description = "The customer-managed KMS key the data bucket is encrypted with (kms module)."
  type        = string

  validation {
    condition     = can(regex("^arn:aws[a-z-]*:kms:[a-z0-9-]+:[0-9]{12}:key/", var.kms_key_arn))
    error_message = "kms_key_arn must be a KMS key ARN such as arn:aws:kms:eu-west-1:123456789012:key/<id> (the kms module's key_arn output)."
  }
}

variable "log_retention_days" {
  description = "Days the logs bucket keeps an object (task logs, access logs, flow logs) before it expires."
  type        = number
  default     = 90

  validation {
    condition     = var.log_retention_days >= 7 && var.log_retention_days <= 3650
    error_message = "log_retention_days must be 7 to 3650 days."
  }
}

variable "alert_records_prefix" {
  description = "Where the data bucket keeps the alert records, <data key prefix>/_airkube/alerts/ (the iam module's records_prefix + alerts/)."
  type        = string

  validation {
    condition     = endswith(var.alert_records_prefix, "/_airkube/alerts/") || var.alert_records_prefix == "_airkube/alerts/"
    error_message = "alert_records_prefix must end in _airkube/alerts/ (plugins/airkube/records.py's layout), e.g. airkube/_airkube/alerts/: another prefix would expire pipeline data."
  }
}

variable "alert_retention_days" {
  description = "Days the data bucket keeps an alert record (the platform page's history of alerts)."
  type        = number
  default     = 90

  validation {
    condition     = var.alert_retention_days >= 7 && var.alert_retention_days <= 3650
    error_message = "alert_retention_days must be 7 to 3650 days."
  }
}

variable "noncurrent_version_retention_days" {
  description = "Days an overwritten or deleted object's old version is kept (the window to undo a mistake)."
  type        = number
  default     = 30

  validation {
    condition     = var.noncurrent_version_retention_days >= 1
    error_message = "noncurrent_version_retention_days must be at least 1 day."
  }
}

variable "force_destroy" {
  description = "Let `terraform destroy` delete buckets that still hold objects (throwaway environments only)."
  type        = bool
  default     = false
}

variable "tags" {
  description = "Tags added to every resource of the module."
  type        = map(string)
  default     = {}
}
