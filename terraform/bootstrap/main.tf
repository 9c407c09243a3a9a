# Step zero of an environment, once per AWS account: the bucket that terraform/envs/<env> and
# terraform/platform keep their state in (airkube-terraform-state-<account id>, their backend's bucket).

provider "aws" {
  region              = var.region
  allowed_account_ids = [var.aws_account_id]

  default_tags {
    tags = {
      Project     = "airkube"
      Environment = var.environment
      ManagedBy   = "terraform"
    }
  }
}

module "state_bucket" {
  source = "../modules/state_bucket"
  bucket = "airkube-terraform-state-${var.aws_account_id}"
}
