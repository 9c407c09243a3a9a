environment    = "staging"
aws_account_id = "123456789012" # terraform/envs/staging/terraform.tfvars
region         = "eu-west-1"
