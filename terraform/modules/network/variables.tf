variable "name" {
  description = "Name prefix of every resource, e.g. airkube-staging; also the EKS cluster name the subnets are tagged for."
  type        = string

  validation {
    condition     = can(regex("^[a-z][a-z0-9-]{2,30}$", var.name))
    error_message = "name must be 3-31 lowercase letters, digits or dashes, starting with a letter (e.g. airkube-staging)."
  }
}

variable "vpc_cidr" {
  description = "The VPC's IPv4 CIDR block, /16 to /18: the nodes' subnets get a /20 to /22 each, and pods take VPC addresses (VPC CNI)."
  type        = string

  validation {
    condition     = can(cidrhost(var.vpc_cidr, 0))
    error_message = "vpc_cidr must be an IPv4 CIDR block such as 10.40.0.0/16."
  }

  validation {
    condition     = can(regex("^[0-9.]+/(16|17|18)$", var.vpc_cidr))
    error_message = "vpc_cidr must have a prefix length of /16, /17 or /18, so each AZ's node subnet has room for the pods; e.g. 10.40.0.0/16."
  }
}

variable "availability_zones" {
  description = "The three availability zones the VPC spans, e.g. [\"eu-west-1a\", \"eu-west-1b\", \"eu-west-1c\"]."
  type        = list(string)

  validation {
    condition     = length(var.availability_zones) == 3 && length(distinct(var.availability_zones)) == 3
    error_message = "availability_zones must list exactly three distinct zones of the region, e.g. [\"eu-west-1a\", \"eu-west-1b\", \"eu-west-1c\"]."
  }
}

variable "flow_logs_destination" {
  description = "The S3 bucket ARN, with an optional prefix, that receives the VPC's flow logs (the s3 module's flow_logs_destination)."
  type        = string

  validation {
    condition     = can(regex("^arn:aws[a-z-]*:s3:::[a-z0-9.-]+(/.*)?$", var.flow_logs_destination))
    error_message = "flow_logs_destination must be an S3 bucket ARN such as arn:aws:s3:::airkube-staging-logs/vpc-flow-logs/."
  }
}

variable "single_nat_gateway" {
  description = "One NAT gateway for all zones (cheaper, staging) instead of one per zone (survives a zone outage, prod)."
  type        = bool
  default     = false
}

variable "tags" {
  description = "Tags added to every resource of the module."
  type        = map(string)
  default     = {}
}
