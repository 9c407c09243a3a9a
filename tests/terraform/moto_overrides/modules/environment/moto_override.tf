# moto 5.2.5 and the environment module (README.md beside modules/).

module "rds" {
  # The stand-in for the EKS cluster security group (moto_standins.tf).
  allowed_security_group_ids = [aws_security_group.moto_cluster.id]
}

module "efs" {
  # The stand-in for the EKS cluster security group (moto_standins.tf).
  allowed_security_group_ids = [aws_security_group.moto_cluster.id]
}

module "network" {
  # moto takes all of an S3 ARN after ":::" for the bucket's name, so it refuses the logs bucket's
  # vpc-flow-logs/ prefix as a bucket that does not exist: the flow logs go to the bucket's root.
  flow_logs_destination = module.s3.logs_bucket_arn
}
