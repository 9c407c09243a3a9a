environment    = "prod"
aws_account_id = "210987654321" # terraform/envs/prod/terraform.tfvars
region         = "eu-west-1"
