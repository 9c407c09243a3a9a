variable "name" {
  description = "The key's alias (alias/<name>) and Name tag, e.g. airkube-staging."
  type        = string

  validation {
    condition     = can(regex("^[a-zA-Z0-9/_-]{1,200}$", var.name)) && !startswith(var.name, "aws")
    error_message = "name must be letters, digits, '/', '_' or '-' and must not start with \"aws\" (KMS reserves alias/aws*), e.g. airkube-staging."
  }
}

variable "deletion_window_days" {
  description = "Days a deleted key can still be restored before AWS destroys it (and with it every object it encrypted)."
  type        = number
  default     = 30

  validation {
    condition     = var.deletion_window_days >= 7 && var.deletion_window_days <= 30
    error_message = "deletion_window_days must be 7 to 30 (KMS's own bounds); keep 30 unless the environment is throwaway."
  }
}

variable "tags" {
  description = "Tags added to every resource of the module."
  type        = map(string)
  default     = {}
}
