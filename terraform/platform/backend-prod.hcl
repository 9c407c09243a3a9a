bucket       = "airkube-terraform-state-210987654321"
key          = "platform/prod/terraform.tfstate"
region       = "eu-west-1"
encrypt      = true
use_lockfile = true
