# moto 5.2.5 and the state_bucket module (README.md beside modules/).

# moto denies every object request to a bucket whose policy has a Deny statement with a condition: it
# cannot evaluate aws:SecureTransport and takes an unmet condition for a deny. The state bucket's
# DenyInsecureTransport policy would lock Terraform's s3 backend out of it (HeadObject 403), though the
# test talks to moto over HTTPS: left out.
resource "aws_s3_bucket_policy" "this" {
  count = 0
}
