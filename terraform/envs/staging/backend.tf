# Staging's state, in staging's account. The bucket (versioned, encrypted, public access blocked)
# is made once per account by `make bootstrap ENV=staging`; use_lockfile locks with an S3 object.
terraform {
  backend "s3" {
    bucket       = "airkube-terraform-state-123456789012"
    key          = "envs/staging/terraform.tfstate"
    region       = "eu-west-1"
    encrypt      = true
    use_lockfile = true
  }
}
