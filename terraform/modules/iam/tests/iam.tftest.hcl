# Mocked data sources return random strings; IAM policy ARNs must carry a real partition.
mock_provider "aws" {
  mock_data "aws_partition" {
    defaults = {
      partition = "aws"
    }
  }
}

variables {
  name_prefix       = "airkube-staging"
  cluster_name      = "airkube-staging"
  oidc_provider_arn = "arn:aws:iam::123456789012:oidc-provider/oidc.eks.eu-west-1.amazonaws.com/id/EXAMPLE"
  oidc_issuer       = "oidc.eks.eu-west-1.amazonaws.com/id/EXAMPLE"
  data_bucket_arn   = "arn:aws:s3:::airkube-staging-data"
  logs_bucket_arn   = "arn:aws:s3:::airkube-staging-logs"
  data_kms_key_arn  = "arn:aws:kms:eu-west-1:123456789012:key/11111111-2222-3333-4444-555555555555"
}

run "irsa_roles_trust_one_service_account_each" {
  command = plan

  assert {
    condition     = aws_iam_role.irsa["airflow-worker"].name == "airkube-staging-airflow-worker"
    error_message = "the worker role's name must match helm/values-staging.yaml's IRSA annotation"
  }
  assert {
    condition = (jsondecode(aws_iam_role.irsa["airflow-worker"].assume_role_policy).Statement[0].Condition.StringEquals["oidc.eks.eu-west-1.amazonaws.com/id/EXAMPLE:sub"]
    == "system:serviceaccount:airflow:airflow-worker")
    error_message = "the worker role must trust only airflow:airflow-worker"
  }
  assert {
    condition = (jsondecode(aws_iam_role.irsa["airkube-task"].assume_role_policy).Statement[0].Condition.StringEquals["oidc.eks.eu-west-1.amazonaws.com/id/EXAMPLE:sub"]
    == "system:serviceaccount:airflow:airkube-task")
    error_message = "the task role must trust only airflow:airkube-task"
  }
  assert {
    condition     = jsondecode(aws_iam_role.irsa["efs-csi"].assume_role_policy).Statement[0].Principal.Federated == var.oidc_provider_arn
    error_message = "IRSA roles must trust the cluster's OIDC provider"
  }
}

run "least_privilege_policies" {
  command = plan

  assert {
    condition     = flatten([for s in jsondecode(aws_iam_role_policy.task_s3.policy).Statement : s.Resource]) == ["arn:aws:s3:::airkube-staging-data", "arn:aws:s3:::airkube-staging-data/*"]
    error_message = "task pods reach the data bucket only"
  }
  assert {
    condition     = contains(flatten([for s in jsondecode(aws_iam_role_policy.worker_s3.policy).Statement : s.Resource]), "arn:aws:s3:::airkube-staging-logs/*")
    error_message = "worker pods write remote logs"
  }
  assert {
    condition     = jsondecode(aws_iam_role_policy.cluster_autoscaler.policy).Statement[2].Condition.StringEquals["aws:ResourceTag/k8s.io/cluster-autoscaler/airkube-staging"] == "owned"
    error_message = "the autoscaler may only resize this cluster's groups"
  }
  assert {
    condition     = jsondecode(aws_iam_role_policy.cluster_autoscaler.policy).Statement[1].Resource == "arn:aws:eks:*:*:nodegroup/airkube-staging/*/*"
    error_message = "the autoscaler may only describe this cluster's node groups"
  }
  assert {
    condition = toset(keys(aws_iam_role_policy.data_key)) == toset(["airflow-worker", "airkube-task", "airflow-platform"]) && alltrue([
      for p in values(aws_iam_role_policy.data_key) : jsondecode(p.policy).Statement[0].Resource == var.data_kms_key_arn
      && jsondecode(p.policy).Statement[0].Condition.StringLike["kms:ViaService"] == "s3.*.amazonaws.com"
    ])
    error_message = "worker, task and platform pods may use the data key, through S3 only"
  }
}

# The scheduler, triggerer, dag-processor and api-server send alerts: one role, their records only.
run "platform_role_reaches_only_the_records" {
  command = plan

  assert {
    condition     = aws_iam_role.irsa["airflow-platform"].name == "airkube-staging-airflow-platform"
    error_message = "the platform role's name must match helm/values-staging.yaml's IRSA annotations"
  }
  assert {
    condition = (toset(jsondecode(aws_iam_role.irsa["airflow-platform"].assume_role_policy).Statement[0].Condition.StringEquals["oidc.eks.eu-west-1.amazonaws.com/id/EXAMPLE:sub"])
      == toset(["system:serviceaccount:airflow:airflow-scheduler", "system:serviceaccount:airflow:airflow-triggerer",
    "system:serviceaccount:airflow:airflow-dag-processor", "system:serviceaccount:airflow:airflow-api-server"]))
    error_message = "the platform role must trust exactly the chart's scheduler, triggerer, dag-processor and api-server accounts"
  }
  assert {
    condition = (jsondecode(aws_iam_role_policy.platform_records.policy).Statement[0].Action == ["s3:ListBucket"]
      && jsondecode(aws_iam_role_policy.platform_records.policy).Statement[0].Resource == ["arn:aws:s3:::airkube-staging-data"]
    && jsondecode(aws_iam_role_policy.platform_records.policy).Statement[0].Condition == { StringLike = { "s3:prefix" = ["airkube/_airkube/*"] } })
    error_message = "the platform role may list the data bucket under airkube/_airkube/ only"
  }
  assert {
    condition = (toset(jsondecode(aws_iam_role_policy.platform_records.policy).Statement[1].Action) == toset(["s3:GetObject", "s3:PutObject"])
    && jsondecode(aws_iam_role_policy.platform_records.policy).Statement[1].Resource == ["arn:aws:s3:::airkube-staging-data/airkube/_airkube/*"])
    error_message = "the platform role may read and write objects under airkube/_airkube/ only, and delete none"
  }
  assert {
    condition = (length(jsondecode(aws_iam_role_policy.platform_records.policy).Statement) == 2 && alltrue([
      for s in jsondecode(aws_iam_role_policy.platform_records.policy).Statement : s.Effect == "Allow" && !contains(flatten([s.Resource]), "*")
    ]))
    error_message = "the platform role's S3 policy has the two statements above and nothing else"
  }
  assert {
    condition     = jsondecode(aws_iam_role_policy.data_key["airflow-platform"].policy).Statement[0].Condition.StringLike["kms:ViaService"] == "s3.*.amazonaws.com"
    error_message = "the platform role uses the data key through S3 only"
  }
  assert {
    condition     = output.records_prefix == "airkube/_airkube/"
    error_message = "the records prefix (the s3 module's alert expiry) is <data key prefix>/_airkube/"
  }
}

run "records_prefix_follows_the_data_url" {
  command = plan
  variables {
    data_key_prefix = ""
  }
  assert {
    condition     = jsondecode(aws_iam_role_policy.platform_records.policy).Statement[1].Resource == ["arn:aws:s3:::airkube-staging-data/_airkube/*"]
    error_message = "with AIRKUBE_DATA_URL at the bucket's root, the records are _airkube/"
  }
}

run "rejects_a_data_key_prefix_with_slashes_around" {
  command = plan
  variables {
    data_key_prefix = "airkube/"
  }
  expect_failures = [var.data_key_prefix]
}

run "rejects_the_worker_account_as_a_platform_account" {
  command = plan
  variables {
    platform_service_accounts = ["airflow-scheduler", "airflow-worker"]
  }
  expect_failures = [var.platform_service_accounts]
}

run "rejects_bad_oidc_provider_arn" {
  command = plan
  variables {
    oidc_provider_arn = "oidc.eks.eu-west-1.amazonaws.com/id/EXAMPLE"
  }
  expect_failures = [var.oidc_provider_arn]
}

run "rejects_issuer_with_scheme" {
  command = plan
  variables {
    oidc_issuer = "https://oidc.eks.eu-west-1.amazonaws.com/id/EXAMPLE"
  }
  expect_failures = [var.oidc_issuer]
}

run "rejects_a_key_alias_for_a_key_arn" {
  command = plan
  variables {
    data_kms_key_arn = "alias/airkube-staging"
  }
  expect_failures = [var.data_kms_key_arn]
}
