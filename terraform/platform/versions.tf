# The in-cluster layer, applied after terraform/envs/<env> (make apply). It needs the helm and
# kubernetes providers, which the offline test machine does not have: tests/terraform parse it instead.
terraform {
  required_version = "~> 1.11"

  required_providers {
    aws = {
      source  = "hashicorp/aws"
      version = "~> 5.100"
    }
    helm = {
      source  = "hashicorp/helm"
      version = "~> 2.17"
    }
    kubernetes = {
      source  = "hashicorp/kubernetes"
      version = "~> 2.36"
    }
    random = {
      source  = "hashicorp/random"
      version = "~> 3.7"
    }
  }

  # Partial configuration: terraform init -backend-config=backend-<env>.hcl (make apply does).
  backend "s3" {}
}
