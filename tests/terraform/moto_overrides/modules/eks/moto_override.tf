# moto 5.2.5 and the eks module (README.md beside modules/).

# moto has no EKS add-on API (CreateAddon answers 404): the four add-ons are left out.
resource "aws_eks_addon" "vpc_cni" {
  count = 0
}

resource "aws_eks_addon" "kube_proxy" {
  count = 0
}

resource "aws_eks_addon" "coredns" {
  count = 0
}

resource "aws_eks_addon" "efs_csi" {
  count = 0
}

resource "aws_eks_cluster" "this" {
  lifecycle {
    # moto has no accessConfig: it ignores authentication_mode, so every plan would set it again.
    ignore_changes = [access_config]
  }
}

resource "aws_eks_node_group" "system" {
  lifecycle {
    # moto invents remote_access (key "eksKeypair") for a node group that has none, which forces a
    # replacement, and does not keep update_config.
    ignore_changes = [remote_access, update_config]
  }
}

resource "aws_eks_node_group" "worker" {
  lifecycle {
    # As the system group; this list replaces the module's own, so it repeats desired_size.
    ignore_changes = [remote_access, update_config, scaling_config[0].desired_size]
  }
}

resource "aws_launch_template" "node" {
  lifecycle {
    # moto returns the template's own tags as a tag_specifications block of type "launch-template".
    ignore_changes = [tag_specifications]
  }
}
