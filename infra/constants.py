"""Names shared by the constructs, the app and the tests: ids, outputs, environment variables, service names."""

from __future__ import annotations

from notifier.core import redelivery
from notifier.core.settings import BY_KEY

DEFAULT_STACK_NAME: str = BY_KEY["stackName"].default  # declared in the settings table

CONTEXT_KEY = "notifier"  # the cdk.json context object earlier versions read the configuration from
PROJECT_TAG = "bedrock-batch-notifier"

# Handlers and the POWERTOOLS_SERVICE_NAME of each function (the "service" dimension of their metrics).
POLLER_HANDLER = "notifier.poller.handler"
SLACK_HANDLER = "notifier.slack.handler"
POLLER_SERVICE = "poller"
SLACK_SERVICE = "slack"

# Construct ids directly under the stack.
KEY_ID = "MessagingKey"
DEAD_LETTERS_ID = "DeadLetters"
STATE_TABLE_ID = "StateTable"
TOPIC_ID = "Notifications"
POLLER_ID = "Poller"
FAST_PATH_ID = "FastPath"
SLACK_ID = "Slack"
MONITORING_ID = "Monitoring"

# Stack outputs (stable logical ids: scripts and the README refer to them). Names, never secret values.
OUTPUT_TOPIC_ARN = "TopicArn"
OUTPUT_STATE_TABLE_NAME = "StateTableName"
OUTPUT_SLACK_SECRET_ARN = "SlackSecretArn"  # noqa: S105
OUTPUT_SLACK_SECRET_COMMAND = "SlackSecretPutCommand"  # noqa: S105
OUTPUT_DASHBOARD_URL = "DashboardUrl"
OUTPUT_OPS_TOPIC_ARN = "OpsTopicArn"
OUTPUT_DEAD_LETTER_QUEUE_URL = "DeadLetterQueueUrl"
OUTPUT_SLACK_DEAD_LETTER_QUEUE_URL = "SlackDeadLetterQueueUrl"
OUTPUT_STATE_CHANGE_DEAD_LETTER_QUEUE_URL = "StateChangeDeadLetterQueueUrl"
# What docs/runbook.md's commands take: log groups for Logs Insights, queue ARNs for redrive and purge.
OUTPUT_POLLER_FUNCTION_NAME = "PollerFunctionName"
OUTPUT_POLLER_LOG_GROUP_NAME = "PollerLogGroupName"
OUTPUT_POLLER_SCHEDULE_RULE_NAME = "PollerScheduleRuleName"
OUTPUT_DEAD_LETTER_QUEUE_ARN = "DeadLetterQueueArn"
OUTPUT_SLACK_LOG_GROUP_NAME = "SlackLogGroupName"
OUTPUT_SLACK_QUEUE_ARN = "SlackQueueArn"
OUTPUT_SLACK_DEAD_LETTER_QUEUE_ARN = "SlackDeadLetterQueueArn"
OUTPUT_STATE_CHANGE_DEAD_LETTER_QUEUE_ARN = "StateChangeDeadLetterQueueArn"
OUTPUT_VERSION = "NotifierVersion"

# Alarm names are "<stack name>-<suffix>", so the key and topic policies can name them by pattern.
ALARM_POLLER_ERRORS = "PollerErrors"
ALARM_POLLER_NOT_RUNNING = "PollerNotRunning"
ALARM_PUBLISH_FAILURES = "PublishFailures"
ALARM_DEAD_LETTERS = "DeadLetterQueueNotEmpty"
ALARM_SLACK_PERMANENT_FAILURES = "SlackPermanentFailures"
ALARM_SLACK_DEAD_LETTERS = "SlackDeadLetterQueueNotEmpty"
ALARM_FAST_PATH_DEAD_LETTERS = "StateChangeDeadLetterQueueNotEmpty"

# The functions' environment variables are rows of notifier.core.settings.SETTINGS, with the configuration keys.

# The message attributes the poller publishes (String), the only keys subscription filters use here.
ATTRIBUTE_STATUS = "status"
ATTRIBUTE_MODEL_ID = "modelId"
ATTRIBUTE_JOB_NAME = "jobName"
ATTRIBUTE_KIND = "kind"  # set on notices that are not transitions (a test notice)

# Slack delivery: Slack allows about one message a second per channel, so a few small batches at a time.
SLACK_BATCH_SIZE = 10
SLACK_MAX_CONCURRENCY = 2  # the lowest value an SQS event source accepts
# Sized with the Slack function's redelivery delays (2 s doubling to 15 min): 33 receives span at least six hours
# of Slack answering 429 or 5xx before a message reaches the DLQ. Permanent failures go there at once.
SLACK_MAX_RECEIVE_COUNT = redelivery.MAX_RECEIVE_COUNT
# AWS's guidance for SQS event sources: visibility timeout at least six times the function timeout.
SLACK_VISIBILITY_FACTOR = 6
DEAD_LETTER_RETENTION_DAYS = 14  # the longest SQS keeps a message

# The EventBridge detail-type of Bedrock's batch job events (notifier.poller.entry handles it as the fast path).
JOB_STATE_CHANGE_DETAIL_TYPE = "Batch Inference Job State Change"
# The fast path's queue: many events an invocation, a few seconds' wait for company, two batches at a time at most
# (the lowest an SQS event source accepts; the poller's reserved concurrency is 1 by default).
STATE_CHANGE_BATCH_SIZE = 100
STATE_CHANGE_BATCHING_WINDOW_SECONDS = 5
STATE_CHANGE_MAX_CONCURRENCY = 2
# Each receive that finds the poller busy (throttled) or failing counts; ten receives a visibility timeout apart
# (six poller timeouts) are hours, which only a malformed event or a lasting outage uses up.
STATE_CHANGE_MAX_RECEIVE_COUNT = 10
STATE_CHANGE_VISIBILITY_FACTOR = 6  # AWS's guidance for SQS event sources, as for Slack's queue
STATE_CHANGE_RETENTION_DAYS = 4  # SQS's default; the schedule has long since covered anything older
