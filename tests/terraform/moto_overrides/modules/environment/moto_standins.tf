# moto 5.2.5 and the environment module (README.md beside modules/): a stand-in for what moto lacks.

# moto's EKS cluster has no cluster security group (vpc_config's cluster_security_group_id is empty), which
# RDS and EFS admit on AWS: this group stands in for it, so their ingress rules are still applied.
resource "aws_security_group" "moto_cluster" {
  name        = "${local.name}-moto-cluster"
  description = "tests/terraform only: stands in for the EKS cluster security group moto does not make"
  vpc_id      = module.network.vpc_id
}
