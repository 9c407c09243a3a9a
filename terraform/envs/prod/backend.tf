# Prod's state, in prod's account. The bucket (versioned, encrypted, public access blocked)
# is made once per account by `make bootstrap ENV=prod`; use_lockfile locks with an S3 object.
terraform {
  backend "s3" {
    bucket       = "airkube-terraform-state-210987654321"
    key          = "envs/prod/terraform.tfstate"
    region       = "eu-west-1"
    encrypt      = true
    use_lockfile = true
  }
}
