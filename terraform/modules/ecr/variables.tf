variable "repositories" {
  description = "The ECR repositories: the platform's Airflow image and the pipeline's task image."
  type        = list(string)
  default     = ["airkube/airflow", "airkube/pipeline"]

  validation {
    condition     = length(var.repositories) > 0 && alltrue([for r in var.repositories : can(regex("^[a-z0-9]+([._-][a-z0-9]+)*(/[a-z0-9]+([._-][a-z0-9]+)*)*$", r))])
    error_message = "repositories must be a non-empty list of ECR names: lowercase path segments separated by '/', e.g. airkube/airflow."
  }
}

variable "untagged_image_retention_days" {
  description = "Days an untagged image (a layer left behind by a push) is kept before the lifecycle policy expires it."
  type        = number
  default     = 14

  validation {
    condition     = var.untagged_image_retention_days >= 1
    error_message = "untagged_image_retention_days must be at least 1 day."
  }
}

variable "force_delete" {
  description = "Let `terraform destroy` delete repositories that still hold images (throwaway environments only)."
  type        = bool
  default     = false
}

variable "tags" {
  description = "Tags added to every resource of the module."
  type        = map(string)
  default     = {}
}
