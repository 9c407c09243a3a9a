# moto 5.2.5 and the efs module (README.md beside modules/).

# moto has no EFS backup-policy API (PutBackupPolicy is not implemented): left out.
resource "aws_efs_backup_policy" "this" {
  count = 0
}

resource "aws_vpc_security_group_ingress_rule" "nfs" {
  lifecycle {
    # moto drops the description of a rule that admits a security group.
    ignore_changes = [description]
  }
}
