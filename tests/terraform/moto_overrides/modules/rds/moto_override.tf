# moto 5.2.5 and the rds module (see ../../README.md): attributes moto does not give back as AWS does.

resource "aws_db_instance" "this" {
  lifecycle {
    # moto does not keep Performance Insights' settings.
    ignore_changes = [performance_insights_enabled, performance_insights_kms_key_id]
  }
}

resource "aws_db_parameter_group" "this" {
  lifecycle {
    # moto's DescribeDBParameters gives no Source, and the provider keeps only parameters whose Source is
    # "user": every parameter would be set again.
    ignore_changes = [parameter]
  }
}

resource "aws_vpc_security_group_ingress_rule" "postgres" {
  lifecycle {
    # moto drops the description of a rule that admits a security group.
    ignore_changes = [description]
  }
}
