#!/usr/bin/env bash
# Runs when LocalStack is ready: the DynamoDB table of carts and storefront Idempotency-Key
# records (partition key pk, TTL on expires_at), the same as template.yaml's CartsTable and
# kassa_store::DynamoStore::ensure_table (which `kassa migrate` runs with CART_STORE=dynamodb).
set -euo pipefail
table=${CARTS_TABLE:-kassa-carts}
if ! awslocal dynamodb describe-table --table-name "$table" >/dev/null 2>&1; then
  awslocal dynamodb create-table --table-name "$table" \
    --attribute-definitions AttributeName=pk,AttributeType=S \
    --key-schema AttributeName=pk,KeyType=HASH \
    --billing-mode PAY_PER_REQUEST >/dev/null
  awslocal dynamodb update-time-to-live --table-name "$table" \
    --time-to-live-specification Enabled=true,AttributeName=expires_at >/dev/null
fi
echo "kassa: DynamoDB table $table is ready"
