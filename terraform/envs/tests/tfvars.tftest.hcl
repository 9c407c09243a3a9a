# tests/terraform copies this into envs/<env>/tests/ of a scratch copy of terraform/ (terraform test only
# reads tests inside the root module), then plans the real root module with its own terraform.tfvars
# against a mocked AWS, so every validation in terraform/modules sees the values each environment uses.

mock_provider "aws" {
  mock_data "aws_partition" {
    defaults = {
      partition = "aws"
    }
  }
}

run "tfvars_pass_every_validation" {
  command = plan

  assert {
    condition     = var.environment != "prod" || (var.db_multi_az && var.db_deletion_protection && !var.single_nat_gateway)
    error_message = "prod must be Multi-AZ, deletion-protected and have a NAT gateway per zone"
  }
  assert {
    condition     = var.worker_min_nodes >= 1 && var.worker_max_nodes >= 60
    error_message = "the worker node group must reach 60 nodes for the nightly DAG"
  }
}
