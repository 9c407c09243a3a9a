bucket       = "airkube-terraform-state-123456789012"
key          = "platform/staging/terraform.tfstate"
region       = "eu-west-1"
encrypt      = true
use_lockfile = true
