#!/usr/bin/env bash
# A new environment from nothing, in the order README.md gives ("Terraform", steps 1 to 4): the state
# bucket, the DAG repository's deploy key in Secrets Manager, the AWS layer, then both images into the new
# ECR. Steps 5 and 6 (the platform layer, the kubeconfig and the first admin) follow by hand, once the image
# tag is set in helm/values-<env>.yaml; the script says so when it is done. Safe to run again: Terraform
# changes only what differs, and an existing deploy key is left as it is.
#
#   scripts/new_environment.sh staging|prod DEPLOY_KEY_FILE [IMAGE_TAG]
#
# Runs from anywhere, with AWS credentials for the environment's account, terraform, make, the aws CLI and
# jq, and docker for the push. Terraform asks before each apply; TF_ARGS=-auto-approve does not.
# NEW_ENVIRONMENT_PUSH=0 stops before the push (tests/terraform/test_environment_apply.py runs the script
# that way against a local AWS API, which has no registry to push to).
set -euo pipefail

usage="usage: scripts/new_environment.sh staging|prod DEPLOY_KEY_FILE [IMAGE_TAG]"
env=${1:?$usage}
deploy_key=${2:?$usage}
[ -r "$deploy_key" ] || { echo "new_environment: cannot read the deploy key $deploy_key" >&2; exit 2; }
deploy_key=$(cd "$(dirname "$deploy_key")" && pwd)/$(basename "$deploy_key")
cd "$(dirname "$0")/.."
tag=${3:-$(sed -n 's/^__version__ = "\(.*\)"/\1/p' plugins/airkube/__init__.py)}
# The name the platform layer reads the deploy key from (terraform/platform/variables.tf).
key_secret=$(sed -n '/^variable "git_ssh_key_secret_name"/,/^}/s/^ *default *= *"\(.*\)"/\1/p' \
  terraform/platform/variables.tf)

step() { printf '\n== %s\n' "$*"; }

step "1. the state bucket (make bootstrap ENV=$env)"
make --no-print-directory bootstrap ENV="$env"

step "2. the DAG repository's read-only deploy key, for gitSync ($key_secret)"
if aws secretsmanager describe-secret --secret-id "$key_secret" >/dev/null 2>&1; then
  echo "$key_secret exists: left as it is"
else
  aws secretsmanager create-secret --name "$key_secret" --secret-string "file://$deploy_key" >/dev/null
  echo "$key_secret created"
fi

step "3. network, EKS, RDS, EFS, S3, ECR, KMS, IAM (make apply-environment ENV=$env)"
make --no-print-directory apply-environment ENV="$env"
outputs=$(terraform -chdir="terraform/envs/$env" output -json environment)
registry=$(jq -r .image_registry <<<"$outputs")
cluster=$(jq -r .cluster_name <<<"$outputs")
echo "image registry: $registry"

if [ "${NEW_ENVIRONMENT_PUSH:-1}" = 0 ]; then
  step "4. skipped (NEW_ENVIRONMENT_PUSH=0): make ecr-login push IMAGE_REGISTRY=$registry IMAGE_TAG=$tag"
  exit 0
fi
step "4. both images into the new ECR (make ecr-login push)"
make --no-print-directory ecr-login push IMAGE_REGISTRY="$registry" IMAGE_TAG="$tag"

step "done; next, by hand (README.md, Terraform):"
echo "  5. set defaultAirflowTag and AIRKUBE_IMAGE_TAG in helm/values-$env.yaml to $tag, then"
echo "     make apply-platform ENV=$env"
echo "  6. aws eks update-kubeconfig --name $cluster --alias airkube-$env, then the first admin"
echo "     (helm/README.md, \"Steps\", last command)"
