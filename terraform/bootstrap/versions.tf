terraform {
  # The same pins as terraform/envs (1.11: the s3 backend's use_lockfile, which the buckets made here serve).
  required_version = "~> 1.11"

  required_providers {
    aws = {
      source  = "hashicorp/aws"
      version = "~> 5.100"
    }
  }

  # The bucket that would hold this state is what this layer makes, so its state is local, kept outside
  # the repository: `make tf-bootstrap` passes -backend-config=path=.local/terraform/bootstrap-<env>.tfstate.
  # Losing that file loses nothing but convenience: `terraform import` takes the bucket back.
  backend "local" {}
}
