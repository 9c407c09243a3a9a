variable "name_prefix" {
  description = "Prefix of the role names, e.g. airkube-staging gives airkube-staging-airflow-worker (helm/values-<env>.yaml's IRSA annotation)."
  type        = string

  validation {
    condition     = can(regex("^[a-z][a-z0-9-]{2,38}$", var.name_prefix))
    error_message = "name_prefix must be 3-39 lowercase letters, digits or dashes, starting with a letter (e.g. airkube-staging)."
  }
}

variable "cluster_name" {
  description = "The EKS cluster's name: the Cluster Autoscaler may only resize Auto Scaling groups tagged for it."
  type        = string
}

variable "oidc_provider_arn" {
  description = "The cluster's IAM OIDC provider (eks module's oidc_provider_arn)."
  type        = string

  validation {
    condition     = can(regex("^arn:aws[a-z-]*:iam::[0-9]{12}:oidc-provider/.+", var.oidc_provider_arn))
    error_message = "oidc_provider_arn must be an IAM OIDC provider ARN (the eks module's oidc_provider_arn output)."
  }
}

variable "oidc_issuer" {
  description = "The cluster's OIDC issuer without https:// (eks module's oidc_issuer), the prefix of the trust conditions."
  type        = string

  validation {
    condition     = !startswith(var.oidc_issuer, "https://") && length(var.oidc_issuer) > 0
    error_message = "oidc_issuer must be the issuer without the https:// scheme, e.g. oidc.eks.eu-west-1.amazonaws.com/id/EXAMPLE."
  }
}

variable "namespace" {
  description = "The Kubernetes namespace of Airflow and its task pods (AIRKUBE_NAMESPACE in helm/values.yaml)."
  type        = string
  default     = "airflow"
}

variable "worker_service_account" {
  description = "The Airflow worker pods' service account (workers.serviceAccount.name in helm/values.yaml)."
  type        = string
  default     = "airflow-worker"
}

variable "task_service_account" {
  description = "The task pods' service account (AIRKUBE_TASK_SERVICE_ACCOUNT in helm/values.yaml)."
  type        = string
  default     = "airkube-task"
}

variable "platform_service_accounts" {
  description = <<-EOT
    The service accounts of the scheduler, triggerer, dag-processor and api-server, which write alert
    records (and the api-server reads them): the chart names them <release>-<component>, HELM_RELEASE in
    helm/helm.mk being airflow.
  EOT
  type        = list(string)
  default     = ["airflow-scheduler", "airflow-triggerer", "airflow-dag-processor", "airflow-api-server"]

  validation {
    condition     = length(var.platform_service_accounts) > 0 && !contains(var.platform_service_accounts, var.worker_service_account)
    error_message = "platform_service_accounts must name at least one account, and not the workers' (their role is airflow-worker)."
  }
}

variable "data_key_prefix" {
  description = <<-EOT
    The key prefix of AIRKUBE_DATA_URL in the data bucket (airkube for s3://airkube-<env>-data/airkube in
    helm/values-<env>.yaml), without slashes: the platform role reaches only its _airkube/ records.
  EOT
  type        = string
  default     = "airkube"

  validation {
    condition     = can(regex("^([A-Za-z0-9!_.*'()-]+(/[A-Za-z0-9!_.*'()-]+)*)?$", var.data_key_prefix))
    error_message = "data_key_prefix must be S3 key segments joined by single slashes, with no leading or trailing slash (e.g. airkube), or empty for the bucket's root."
  }
}

variable "data_bucket_arn" {
  description = "The data bucket (s3 module's data_bucket_arn): worker and task pods read and write it."
  type        = string

  validation {
    condition     = startswith(var.data_bucket_arn, "arn:")
    error_message = "data_bucket_arn must be a bucket ARN (the s3 module's data_bucket_arn output)."
  }
}

variable "logs_bucket_arn" {
  description = "The remote-logs bucket (s3 module's logs_bucket_arn): worker pods write task logs there."
  type        = string

  validation {
    condition     = startswith(var.logs_bucket_arn, "arn:")
    error_message = "logs_bucket_arn must be a bucket ARN (the s3 module's logs_bucket_arn output)."
  }
}

variable "data_kms_key_arn" {
  description = "The customer-managed KMS key the data bucket is encrypted with (kms module): worker and task pods use it through S3."
  type        = string

  validation {
    condition     = can(regex("^arn:aws[a-z-]*:kms:[a-z0-9-]+:[0-9]{12}:key/", var.data_kms_key_arn))
    error_message = "data_kms_key_arn must be a KMS key ARN such as arn:aws:kms:eu-west-1:123456789012:key/<id> (the kms module's key_arn output)."
  }
}

variable "tags" {
  description = "Tags added to every resource of the module."
  type        = map(string)
  default     = {}
}
