# IAM roles for service accounts (IRSA): each role trusts only the Kubernetes service accounts of the
# cluster's OIDC provider named for it (one each, but for airflow-platform), and grants only what their
# pods need.

data "aws_partition" "current" {}

locals {
  partition = data.aws_partition.current.partition

  service_accounts = {
    airflow-worker     = "system:serviceaccount:${var.namespace}:${var.worker_service_account}"
    airkube-task       = "system:serviceaccount:${var.namespace}:${var.task_service_account}"
    cluster-autoscaler = "system:serviceaccount:kube-system:cluster-autoscaler"
    efs-csi            = "system:serviceaccount:kube-system:efs-csi-controller-sa"
    # Every Airflow component but the workers, one role: each sends alerts (plugins/airkube/records.py),
    # and all need the same access: four roles would only repeat one policy four times.
    airflow-platform = [for account in var.platform_service_accounts : "system:serviceaccount:${var.namespace}:${account}"]
  }

  # Where plugins/airkube/records.py keeps the alerts and plans (<AIRKUBE_DATA_URL>/_airkube/).
  records_prefix = "${var.data_key_prefix == "" ? "" : "${var.data_key_prefix}/"}_airkube/"

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
          "${var.oidc_issuer}:sub" = each.value # one account, or the list of airflow-platform's
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

# The scheduler, triggerer, dag-processor and api-server: the records under <AIRKUBE_DATA_URL>/_airkube/
# only (they write alert records and the api-server's platform page reads them and the plans), nothing
# else of the data bucket. records.py writes each object with one PUT and deletes nothing on S3.
resource "aws_iam_role_policy" "platform_records" {
  name = "s3-records"
  role = aws_iam_role.irsa["airflow-platform"].id
  policy = jsonencode({
    Version = "2012-10-17"
    Statement = [
      {
        Sid       = "ListRecords"
        Effect    = "Allow"
        Action    = ["s3:ListBucket"]
        Resource  = [var.data_bucket_arn]
        Condition = { StringLike = { "s3:prefix" = ["${local.records_prefix}*"] } }
      },
      {
        Sid      = "ReadWriteRecords"
        Effect   = "Allow"
        Action   = ["s3:GetObject", "s3:PutObject"]
        Resource = ["${var.data_bucket_arn}/${local.records_prefix}*"]
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
  for_each = toset(["airflow-worker", "airkube-task", "airflow-platform"])
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
