variable "bucket" {
  description = "The state bucket's name; airkube names it airkube-terraform-state-<account id> (terraform/bootstrap)."
  type        = string

  validation {
    condition     = can(regex("^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$", var.bucket))
    error_message = "bucket must be a valid S3 bucket name: 3-63 lowercase letters, digits, dots or dashes (e.g. airkube-terraform-state-123456789012)."
  }
}

variable "noncurrent_version_retention_days" {
  description = "Days an overwritten state is kept, to roll back a bad apply."
  type        = number
  default     = 90

  validation {
    condition     = var.noncurrent_version_retention_days >= 30
    error_message = "noncurrent_version_retention_days must be at least 30, so a bad apply found weeks later can still be rolled back."
  }
}

variable "tags" {
  description = "Tags added to every resource of the module."
  type        = map(string)
  default     = {}
}
