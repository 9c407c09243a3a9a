# IAM roles for service accounts (IRSA): each role trusts exactly one Kubernetes service account of the
# cluster's OIDC provider, and grants only what that account's pods need.

data "aws_partition" "current" {}

locals {
  partition = data.aws_partition.current.partition

  service_accounts = {
    airflow-worker     = "system:serviceaccount:${var.namespace}:${var.worker_service_account}"
    airkube-task       = "system:serviceaccount:${var.namespace}:${var.task_service_account}"
    cluster-autoscaler = "system:serviceaccount:kube-system:cluster-autoscaler"
    efs-csi            = "system:serviceaccount:kube-system:efs-csi-controller-sa"
  }

  bucket_rw = {
    data = var.data_bucket_arn
    logs = var.logs_bucket_arn
  }
}

resource "aws_iam_role" "irsa" {
  for_each = local.service_accounts
  name     = "${var.name_prefix}-${each.key}"
  assume_role_policy = jsonencode({
    Version = "2012-10-17"
    Statement = [{
      Effect    = "Allow"
      Principal = { Federated = var.oidc_provider_arn }
      Action    = "sts:AssumeRoleWithWebIdentity"
      Condition = {
        StringEquals = {
          "${var.oidc_issuer}:sub" = each.value
          "${var.oidc_issuer}:aud" = "sts.amazonaws.com"
        }
      }
    }]
  })
  tags = var.tags
}

# Worker pods (the KubernetesPodOperator side of each task): the data bucket and the remote-logs bucket.
resource "aws_iam_role_policy" "worker_s3" {
  name = "s3"
  role = aws_iam_role.irsa["airflow-worker"].id
  policy = jsonencode({
    Version = "2012-10-17"
    Statement = [
      {
        Sid      = "ListBuckets"
        Effect   = "Allow"
        Action   = ["s3:ListBucket", "s3:GetBucketLocation"]
        Resource = values(local.bucket_rw)
      },
      {
        Sid      = "ReadWriteObjects"
        Effect   = "Allow"
        Action   = ["s3:GetObject", "s3:PutObject", "s3:DeleteObject"]
        Resource = [for arn in values(local.bucket_rw) : "${arn}/*"]
      },
    ]
  })
}

# Task pods: the data bucket only.
resource "aws_iam_role_policy" "task_s3" {
  name = "s3-data"
  role = aws_iam_role.irsa["airkube-task"].id
  policy = jsonencode({
    Version = "2012-10-17"
    Statement = [
      {
        Sid      = "ListDataBucket"
        Effect   = "Allow"
        Action   = ["s3:ListBucket", "s3:GetBucketLocation"]
        Resource = [var.data_bucket_arn]
      },
      {
        Sid      = "ReadWriteData"
        Effect   = "Allow"
        Action   = ["s3:GetObject", "s3:PutObject", "s3:DeleteObject"]
        Resource = ["${var.data_bucket_arn}/*"]
      },
    ]
  })
}

# The Cluster Autoscaler: describe everything, resize only the Auto Scaling groups tagged for this cluster.
resource "aws_iam_role_policy" "cluster_autoscaler" {
  name = "cluster-autoscaler"
  role = aws_iam_role.irsa["cluster-autoscaler"].id
  policy = jsonencode({
    Version = "2012-10-17"
    Statement = [
      {
        Sid    = "Describe"
        Effect = "Allow"
        Action = [
          "autoscaling:DescribeAutoScalingGroups",
          "autoscaling:DescribeAutoScalingInstances",
          "autoscaling:DescribeLaunchConfigurations",
          "autoscaling:DescribeScalingActivities",
          "autoscaling:DescribeTags",
          "ec2:DescribeImages",
          "ec2:DescribeInstanceTypes",
          "ec2:DescribeLaunchTemplateVersions",
          "ec2:GetInstanceTypesFromInstanceRequirements",
        ]
        Resource = "*" # these Describe/Get actions take no resource-level permissions
      },
      {
        Sid      = "DescribeOwnNodeGroups"
        Effect   = "Allow"
        Action   = ["eks:DescribeNodegroup"]
        Resource = "arn:${local.partition}:eks:*:*:nodegroup/${var.cluster_name}/*/*"
      },
      {
        Sid      = "ResizeOwnGroups"
        Effect   = "Allow"
        Action   = ["autoscaling:SetDesiredCapacity", "autoscaling:TerminateInstanceInAutoScalingGroup"]
        Resource = "arn:${local.partition}:autoscaling:*:*:autoScalingGroup:*:autoScalingGroupName/*"
        Condition = {
          StringEquals = { "aws:ResourceTag/k8s.io/cluster-autoscaler/${var.cluster_name}" = "owned" }
        }
      },
    ]
  })
}

# The data bucket is encrypted with the environment's key: whoever reads or writes it needs the key too,
# and only through S3.
resource "aws_iam_role_policy" "data_key" {
  for_each = toset(["airflow-worker", "airkube-task"])
  name     = "kms-data"
  role     = aws_iam_role.irsa[each.key].id
  policy = jsonencode({
    Version = "2012-10-17"
    Statement = [{
      Sid       = "DataBucketKeyThroughS3"
      Effect    = "Allow"
      Action    = ["kms:Decrypt", "kms:GenerateDataKey"]
      Resource  = var.data_kms_key_arn
      Condition = { StringLike = { "kms:ViaService" = "s3.*.amazonaws.com" } }
    }]
  })
}

resource "aws_iam_role_policy_attachment" "efs_csi" {
  role       = aws_iam_role.irsa["efs-csi"].name
  policy_arn = "arn:${local.partition}:iam::aws:policy/service-role/AmazonEFSCSIDriverPolicy"
}
