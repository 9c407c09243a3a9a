mock_provider "aws" {}

run "immutable_scanned_encrypted_repositories" {
  command = plan

  assert {
    condition     = toset(keys(aws_ecr_repository.this)) == toset(["airkube/airflow", "airkube/pipeline"])
    error_message = "the platform needs the airkube/airflow and airkube/pipeline repositories"
  }
  assert {
    condition     = alltrue([for r in values(aws_ecr_repository.this) : r.image_tag_mutability == "IMMUTABLE"])
    error_message = "tags must be immutable"
  }
  assert {
    condition     = alltrue([for r in values(aws_ecr_repository.this) : r.image_scanning_configuration[0].scan_on_push])
    error_message = "images must be scanned on push"
  }
  assert {
    condition     = alltrue([for r in values(aws_ecr_repository.this) : r.encryption_configuration[0].encryption_type == "KMS"])
    error_message = "repositories must be KMS-encrypted"
  }
  assert {
    condition     = length(aws_ecr_lifecycle_policy.this) == 2
    error_message = "every repository expires untagged images"
  }
}

run "rejects_bad_repository_name" {
  command = plan
  variables {
    repositories = ["Airkube/Airflow"]
  }
  expect_failures = [var.repositories]
}

run "rejects_zero_retention" {
  command = plan
  variables {
    untagged_image_retention_days = 0
  }
  expect_failures = [var.untagged_image_retention_days]
}
