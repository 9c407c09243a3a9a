mock_provider "aws" {}

variables {
  name                       = "airkube-test"
  vpc_id                     = "vpc-0123456789abcdef0"
  subnet_ids                 = ["subnet-a", "subnet-b", "subnet-c"]
  allowed_security_group_ids = ["sg-cluster"]
  kms_key_arn                = "arn:aws:kms:eu-west-1:123456789012:key/11111111-2222-3333-4444-555555555555"
}

run "encrypted_with_a_mount_target_per_zone" {
  command = plan

  assert {
    condition     = aws_efs_file_system.this.encrypted && aws_efs_file_system.this.kms_key_id == var.kms_key_arn
    error_message = "the file system must be encrypted with the environment's customer-managed key"
  }
  assert {
    condition     = length(aws_efs_mount_target.this) == 3
    error_message = "one mount target per zone"
  }
  assert {
    condition     = aws_vpc_security_group_ingress_rule.nfs[0].from_port == 2049
    error_message = "NFS only from the cluster"
  }
}

run "access_point_for_airflow_uid_and_gid" {
  command = plan

  assert {
    condition     = aws_efs_access_point.logs.posix_user[0].uid == 50000 && aws_efs_access_point.logs.posix_user[0].gid == 0
    error_message = "the access point must act as uid 50000, gid 0"
  }
  assert {
    condition     = aws_efs_access_point.logs.root_directory[0].creation_info[0].owner_uid == 50000 && aws_efs_access_point.logs.root_directory[0].creation_info[0].permissions == "0775"
    error_message = "the logs root must be owned by 50000:0 with mode 0775"
  }
}

run "rejects_one_subnet" {
  command = plan
  variables {
    subnet_ids = ["subnet-a"]
  }
  expect_failures = [var.subnet_ids]
}

run "rejects_negative_uid" {
  command = plan
  variables {
    posix_uid = -1
  }
  expect_failures = [var.posix_uid]
}

run "rejects_no_allowed_groups" {
  command = plan
  variables {
    allowed_security_group_ids = []
  }
  expect_failures = [var.allowed_security_group_ids]
}

run "rejects_a_key_alias_for_a_key_arn" {
  command = plan
  variables {
    kms_key_arn = "alias/airkube-test"
  }
  expect_failures = [var.kms_key_arn]
}
