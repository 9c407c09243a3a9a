environment    = "staging"
aws_account_id = "123456789012" # helm/values-staging.yaml
region         = "eu-west-1"

vpc_cidr           = "10.40.0.0/16"
availability_zones = ["eu-west-1a", "eu-west-1b", "eu-west-1c"]
single_nat_gateway = true # staging can lose egress with a zone; one NAT gateway instead of three

worker_min_nodes = 1
worker_max_nodes = 60

db_instance_class        = "db.t4g.medium"
db_multi_az              = false
db_deletion_protection   = false # staging's database can be rebuilt
db_backup_retention_days = 7

log_retention_days = 30
force_destroy      = true
