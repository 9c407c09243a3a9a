# Mocked data sources return random strings; IAM policy ARNs must carry a real partition.
mock_provider "aws" {
  mock_data "aws_partition" {
    defaults = {
      partition = "aws"
    }
  }
}

variables {
  environment        = "staging"
  vpc_cidr           = "10.40.0.0/16"
  availability_zones = ["eu-west-1a", "eu-west-1b", "eu-west-1c"]
}

run "staging_wires_every_module" {
  command = plan

  assert {
    condition     = local.name == "airkube-staging"
    error_message = "resources are named airkube-<environment> (helm/values-<env>.yaml relies on it)"
  }
  assert {
    condition     = local.pgbouncer_server_connections == local.helm_values.pgbouncer.replicas * local.helm_values.pgbouncer.metadataPoolSize
    error_message = "the database is sized from helm/values.yaml's PgBouncer pools"
  }
}

run "rejects_single_nat_in_prod" {
  command = plan
  variables {
    environment        = "prod"
    db_multi_az        = true
    single_nat_gateway = true
  }
  expect_failures = [var.single_nat_gateway]
}

run "rejects_force_destroy_in_prod" {
  command = plan
  variables {
    environment   = "prod"
    db_multi_az   = true
    force_destroy = true
  }
  expect_failures = [var.force_destroy]
}

run "rejects_unknown_environment" {
  command = plan
  variables {
    environment = "dev"
  }
  expect_failures = [var.environment]
}

run "rejects_min_nodes_zero" {
  command = plan
  variables {
    worker_min_nodes = 0
  }
  expect_failures = [var.worker_min_nodes]
}

run "rejects_bad_cidr" {
  command = plan
  variables {
    vpc_cidr = "10.40.0/16"
  }
  expect_failures = [var.vpc_cidr]
}
