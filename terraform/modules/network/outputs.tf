output "vpc_id" {
  description = "The VPC's ID."
  value       = aws_vpc.this.id
}

output "vpc_cidr" {
  description = "The VPC's CIDR block."
  value       = aws_vpc.this.cidr_block
}

output "private_subnet_ids" {
  description = "The private subnets of the EKS nodes, one per zone (also the EFS mount targets')."
  value       = aws_subnet.private[*].id
}

output "public_subnet_ids" {
  description = "The public subnets (NAT gateways, internet-facing load balancers), one per zone."
  value       = aws_subnet.public[*].id
}

output "database_subnet_ids" {
  description = "The database subnets, one per zone, with no route out of the VPC."
  value       = aws_subnet.database[*].id
}

output "nat_public_ips" {
  description = "The NAT gateways' public addresses (what outside services see the cluster as)."
  value       = aws_eip.nat[*].public_ip
}
