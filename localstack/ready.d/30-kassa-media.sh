#!/usr/bin/env bash
# Runs when LocalStack is ready: the product media bucket (template.yaml's MediaBucket), with
# CORS for browser uploads from the admin's origins (presigned PUTs), as
# kassa_runtime::media::Media::ensure_bucket creates it on the AWS emulator of make dev.
set -euo pipefail
bucket=${MEDIA_BUCKET:-kassa-media}
origins=${KASSA_ADMIN_ORIGINS:-http://admin.localhost}
if ! awslocal s3api head-bucket --bucket "$bucket" >/dev/null 2>&1; then
  awslocal s3api create-bucket --bucket "$bucket" \
    --create-bucket-configuration LocationConstraint="${AWS_DEFAULT_REGION:-eu-west-1}" >/dev/null
fi
allowed=$(printf '%s' "$origins" | awk -F, '{ for (i = 1; i <= NF; i++) printf "%s\"%s\"", (i > 1 ? "," : ""), $i }')
awslocal s3api put-bucket-cors --bucket "$bucket" --cors-configuration "{
  \"CORSRules\": [{\"AllowedOrigins\": [$allowed], \"AllowedMethods\": [\"PUT\"], \"AllowedHeaders\": [\"*\"], \"MaxAgeSeconds\": 3000}]
}"
echo "kassa: S3 bucket $bucket is ready"
