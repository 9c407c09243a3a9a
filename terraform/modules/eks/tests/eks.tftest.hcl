# Mocked data sources return random strings; IAM policy ARNs must carry a real partition.
mock_provider "aws" {
  mock_data "aws_partition" {
    defaults = {
      partition = "aws"
    }
  }
  mock_data "aws_caller_identity" {
    defaults = {
      account_id = "123456789012"
    }
  }
  mock_data "aws_region" {
    defaults = {
      name = "eu-west-1"
    }
  }
}

variables {
  cluster_name     = "airkube-test"
  vpc_id           = "vpc-0123456789abcdef0"
  subnet_ids       = ["subnet-a", "subnet-b", "subnet-c"]
  efs_csi_role_arn = "arn:aws:iam::123456789012:role/airkube-test-efs-csi"
}

run "worker_group_autoscales_from_1_to_60" {
  command = plan

  assert {
    condition     = aws_eks_node_group.worker.scaling_config[0].min_size == 1 && aws_eks_node_group.worker.scaling_config[0].max_size == 60
    error_message = "the worker node group must scale from 1 to 60 nodes by default"
  }
  assert {
    condition     = aws_eks_node_group.worker.tags["k8s.io/cluster-autoscaler/enabled"] == "true"
    error_message = "the worker node group needs the k8s.io/cluster-autoscaler/enabled tag"
  }
  assert {
    condition     = aws_eks_node_group.worker.tags["k8s.io/cluster-autoscaler/airkube-test"] == "owned"
    error_message = "the worker node group needs the k8s.io/cluster-autoscaler/<cluster> tag"
  }
  assert {
    condition     = aws_eks_node_group.system.scaling_config[0].min_size == aws_eks_node_group.system.scaling_config[0].max_size
    error_message = "the system node group has a fixed size"
  }
}

run "encrypted_and_locked_down" {
  command = plan

  assert {
    condition     = contains(aws_eks_cluster.this.encryption_config[0].resources, "secrets")
    error_message = "Kubernetes Secrets must be envelope-encrypted with KMS"
  }
  assert {
    condition     = aws_kms_key.secrets.enable_key_rotation
    error_message = "the secrets key must rotate"
  }
  assert {
    condition     = alltrue([for d in aws_launch_template.node.block_device_mappings : d.ebs[0].encrypted == "true"])
    error_message = "node root volumes must be encrypted"
  }
  assert {
    condition     = aws_launch_template.node.metadata_options[0].http_tokens == "required" && aws_launch_template.node.metadata_options[0].http_put_response_hop_limit == 1
    error_message = "nodes must require IMDSv2 with hop limit 1, so pods use IRSA rather than the node role"
  }
  assert {
    condition     = !aws_eks_cluster.this.vpc_config[0].endpoint_public_access
    error_message = "without public_access_cidrs the API endpoint is private only"
  }
}

run "control_plane_logs_kept_and_encrypted" {
  command = plan

  assert {
    condition     = length(aws_eks_cluster.this.enabled_cluster_log_types) == 5
    error_message = "all five control-plane log types must be on"
  }
  assert {
    condition     = aws_cloudwatch_log_group.control_plane.name == "/aws/eks/airkube-test/cluster" && aws_cloudwatch_log_group.control_plane.retention_in_days == 365
    error_message = "the log group EKS writes to must be managed here, with a year's retention by default"
  }
  assert {
    condition     = jsondecode(aws_kms_key.secrets.policy).Statement[1].Condition.ArnEquals["kms:EncryptionContext:aws:logs:arn"] == "arn:aws:logs:eu-west-1:123456789012:log-group:/aws/eks/airkube-test/cluster"
    error_message = "CloudWatch Logs may use the cluster key for the control-plane log group only"
  }
}

run "rejects_a_retention_cloudwatch_does_not_offer" {
  command = plan
  variables {
    control_plane_log_retention_days = 100
  }
  expect_failures = [var.control_plane_log_retention_days]
}

run "efs_csi_addon_and_oidc" {
  command = plan

  assert {
    condition     = aws_eks_addon.efs_csi.addon_name == "aws-efs-csi-driver" && aws_eks_addon.efs_csi.service_account_role_arn == var.efs_csi_role_arn
    error_message = "the EFS CSI driver addon must run with its IRSA role"
  }
  assert {
    condition     = contains(aws_iam_openid_connect_provider.this.client_id_list, "sts.amazonaws.com")
    error_message = "the OIDC provider must accept STS as audience"
  }
}

run "rejects_zero_min_nodes" {
  command = plan
  variables {
    worker_min_nodes = 0
  }
  expect_failures = [var.worker_min_nodes]
}

run "rejects_max_below_min" {
  command = plan
  variables {
    worker_min_nodes = 5
    worker_max_nodes = 3
  }
  expect_failures = [var.worker_max_nodes]
}

run "rejects_open_api_endpoint" {
  command = plan
  variables {
    public_access_cidrs = ["0.0.0.0/0"]
  }
  expect_failures = [var.public_access_cidrs]
}

run "rejects_bad_kubernetes_version" {
  command = plan
  variables {
    kubernetes_version = "1.33.1"
  }
  expect_failures = [var.kubernetes_version]
}

run "rejects_one_subnet" {
  command = plan
  variables {
    subnet_ids = ["subnet-a"]
  }
  expect_failures = [var.subnet_ids]
}

run "rejects_a_misspelt_instance_type" {
  command = plan
  variables {
    worker_instance_types = ["m6i.xlarg"]
  }
  expect_failures = [var.worker_instance_types]
}

run "rejects_an_arm64_instance_type" {
  command = plan
  variables {
    system_instance_types = ["m7g.large"]
  }
  expect_failures = [var.system_instance_types]
}
