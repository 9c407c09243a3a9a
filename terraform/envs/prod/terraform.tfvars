environment    = "prod"
aws_account_id = "210987654321" # helm/values-prod.yaml
region         = "eu-west-1"

vpc_cidr           = "10.50.0.0/16"
availability_zones = ["eu-west-1a", "eu-west-1b", "eu-west-1c"]
single_nat_gateway = false # one NAT gateway per zone

worker_min_nodes = 1
worker_max_nodes = 60

db_instance_class        = "db.m7g.large"
db_multi_az              = true
db_deletion_protection   = true
db_backup_retention_days = 14

log_retention_days = 90
force_destroy      = false
