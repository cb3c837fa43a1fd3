#!/usr/bin/env bash
# Runs when LocalStack is ready: the event queue Kassa publishes to (FIFO; message group =
# aggregate) and its dead-letter queue, which SQS redrives to after 5 receives. The same as
# kassa_events::sqs::ensure_queue("kassa-events", 5).
set -euo pipefail
awslocal sqs create-queue --queue-name kassa-events-dlq.fifo --attributes FifoQueue=true >/dev/null
dlq_arn=$(awslocal sqs get-queue-attributes \
  --queue-url "$(awslocal sqs get-queue-url --queue-name kassa-events-dlq.fifo --query QueueUrl --output text)" \
  --attribute-names QueueArn --query Attributes.QueueArn --output text)
awslocal sqs create-queue --queue-name kassa-events.fifo --attributes "{
  \"FifoQueue\": \"true\",
  \"RedrivePolicy\": \"{\\\"deadLetterTargetArn\\\":\\\"$dlq_arn\\\",\\\"maxReceiveCount\\\":\\\"5\\\"}\"
}" >/dev/null
echo "kassa: SQS queues kassa-events.fifo and kassa-events-dlq.fifo are ready"
