mock_provider "aws" {}

variables {
  name                  = "airkube-test"
  vpc_cidr              = "10.40.0.0/16"
  availability_zones    = ["eu-west-1a", "eu-west-1b", "eu-west-1c"]
  flow_logs_destination = "arn:aws:s3:::airkube-test-logs/vpc-flow-logs/"
}

run "three_zones_private_nodes_and_database" {
  command = plan

  assert {
    condition     = length(aws_subnet.private) == 3 && length(aws_subnet.database) == 3 && length(aws_subnet.public) == 3
    error_message = "every tier needs one subnet per zone"
  }
  assert {
    condition     = length(distinct(aws_subnet.private[*].availability_zone)) == 3
    error_message = "the node subnets must span three zones"
  }
  assert {
    condition     = alltrue([for s in concat(aws_subnet.private, aws_subnet.database, aws_subnet.public) : s.map_public_ip_on_launch != true])
    error_message = "no subnet may give instances public addresses"
  }
  assert {
    condition     = length(aws_nat_gateway.this) == 3
    error_message = "one NAT gateway per zone by default"
  }
  assert {
    condition     = length(distinct(concat(aws_subnet.private[*].cidr_block, aws_subnet.public[*].cidr_block, aws_subnet.database[*].cidr_block))) == 9
    error_message = "subnet CIDR blocks must not repeat"
  }
  assert {
    condition     = aws_subnet.private[0].tags["kubernetes.io/role/internal-elb"] == "1" && aws_subnet.public[0].tags["kubernetes.io/role/elb"] == "1"
    error_message = "subnets need the load balancer role tags"
  }
}

run "flow_logs_and_a_closed_default_security_group" {
  command = plan

  assert {
    condition     = aws_flow_log.this.traffic_type == "ALL" && aws_flow_log.this.log_destination == var.flow_logs_destination
    error_message = "every flow, accepted or rejected, must be logged to flow_logs_destination"
  }
  assert {
    condition     = length(aws_default_security_group.this.ingress) == 0 && length(aws_default_security_group.this.egress) == 0
    error_message = "the default security group must have no rules"
  }
}

run "rejects_a_flow_log_destination_that_is_not_a_bucket" {
  command = plan
  variables {
    flow_logs_destination = "airkube-test-logs"
  }
  expect_failures = [var.flow_logs_destination]
}

run "single_nat_gateway" {
  command = plan
  variables {
    single_nat_gateway = true
  }
  assert {
    condition     = length(aws_nat_gateway.this) == 1 && length(aws_route.private_nat) == 3
    error_message = "single_nat_gateway must give one NAT gateway routed from every zone"
  }
}

run "rejects_unparsable_cidr" {
  command = plan
  variables {
    vpc_cidr = "10.40.0.0/33"
  }
  expect_failures = [var.vpc_cidr]
}

run "rejects_too_small_vpc" {
  command = plan
  variables {
    vpc_cidr = "10.40.0.0/24"
  }
  expect_failures = [var.vpc_cidr]
}

run "rejects_two_zones" {
  command = plan
  variables {
    availability_zones = ["eu-west-1a", "eu-west-1b"]
  }
  expect_failures = [var.availability_zones]
}

run "rejects_bad_name" {
  command = plan
  variables {
    name = "Airkube_Test"
  }
  expect_failures = [var.name]
}
