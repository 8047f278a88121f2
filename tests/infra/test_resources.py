"""Each resource of the stack and the properties the issue asks for, in the three configurations."""

from __future__ import annotations

import json
from typing import Any

from aws_cdk.assertions import Match

from notifier.core.table_layout import create_table_request
from tests.infra.conftest import Synth

TWO_WEEKS = 14 * 86400


def ref(logical_id: str) -> dict[str, Any]:
    return {"Ref": logical_id}


def arn(logical_id: str) -> dict[str, Any]:
    return {"Fn::GetAtt": [logical_id, "Arn"]}


# State table


def test_the_table_declares_exactly_the_shared_layout(any_synth: Synth) -> None:
    table = any_synth.only("AWS::DynamoDB::Table")["Properties"]
    expected = create_table_request("ignored")

    assert table["BillingMode"] == expected["BillingMode"] == "PAY_PER_REQUEST"
    assert table["KeySchema"] == expected["KeySchema"]
    assert sorted(table["AttributeDefinitions"], key=str) == sorted(expected["AttributeDefinitions"], key=str)
    assert table["GlobalSecondaryIndexes"] == expected["GlobalSecondaryIndexes"]
    assert table["TimeToLiveSpecification"] == {"AttributeName": "expiresAt", "Enabled": True}
    assert table["PointInTimeRecoverySpecification"] == {"PointInTimeRecoveryEnabled": True}
    # AWS managed key (aws/dynamodb): no key id, SSE on.
    assert table["SSESpecification"] == {"SSEEnabled": True}


def test_the_table_is_protected_unless_the_stack_is_a_dev_stack(default_synth: Synth, dev_synth: Synth) -> None:
    kept = default_synth.only("AWS::DynamoDB::Table")
    dropped = dev_synth.only("AWS::DynamoDB::Table")

    assert kept["Properties"]["DeletionProtectionEnabled"] is True
    assert kept["DeletionPolicy"] == kept["UpdateReplacePolicy"] == "Retain"
    assert dropped["Properties"]["DeletionProtectionEnabled"] is False
    assert dropped["DeletionPolicy"] == dropped["UpdateReplacePolicy"] == "Delete"


# Functions


def test_the_poller_function(default_synth: Synth) -> None:
    poller = default_synth.stack.poller
    log_group = default_synth.logical_id(poller.handler.log_group)

    default_synth.template.has_resource_properties(
        "AWS::Lambda::Function",
        {
            "Handler": "notifier.poller.handler",
            "Runtime": "python3.13",
            "Architectures": ["arm64"],
            "MemorySize": 256,
            "Timeout": 240,
            "ReservedConcurrentExecutions": 1,
            "TracingConfig": {"Mode": "Active"},
            "LoggingConfig": {"LogGroup": ref(log_group)},
            "Code": {"S3Key": Match.string_like_regexp(r"^[0-9a-f]{64}\.zip$")},
        },
    )
    group = default_synth.json["Resources"][log_group]
    assert group["Properties"]["RetentionInDays"] == 30
    assert group["DeletionPolicy"] == "Retain"


def test_both_functions_share_one_asset(full_synth: Synth) -> None:
    keys = {f["Properties"]["Code"]["S3Key"] for f in full_synth.resources("AWS::Lambda::Function").values()}

    assert len(keys) == 1


def test_a_dev_stack_leaves_concurrency_unreserved_and_logs_disposable(dev_synth: Synth) -> None:
    poller = dev_synth.json["Resources"][dev_synth.logical_id(dev_synth.stack.poller.function)]["Properties"]
    log_group = dev_synth.json["Resources"][dev_synth.logical_id(dev_synth.stack.poller.handler.log_group)]

    assert "ReservedConcurrentExecutions" not in poller
    assert poller["Timeout"] == 48  # 80% of the one-minute schedule
    assert log_group["Properties"]["RetentionInDays"] == 7
    assert log_group["DeletionPolicy"] == "Delete"


def test_the_schedule_runs_the_poller_at_the_configured_rate(default_synth: Synth, dev_synth: Synth) -> None:
    for synth, expression, age in ((default_synth, "rate(5 minutes)", 300), (dev_synth, "rate(1 minute)", 60)):
        stack = synth.stack
        dead_letters = synth.logical_id(stack.dead_letters.queue)
        synth.template.has_resource_properties(
            "AWS::Events::Rule",
            {
                "ScheduleExpression": expression,
                "State": "ENABLED",
                "Targets": [
                    {
                        "Arn": arn(synth.logical_id(stack.poller.function)),
                        "Id": Match.any_value(),
                        "RetryPolicy": {"MaximumEventAgeInSeconds": age, "MaximumRetryAttempts": 1},
                        "DeadLetterConfig": {"Arn": arn(dead_letters)},
                    }
                ],
            },
        )


def test_asynchronous_polls_keep_no_stale_backlog(default_synth: Synth, dev_synth: Synth) -> None:
    """A throttled or failed poll expires within one period, is not retried, and is recorded."""
    for synth, age in ((default_synth, 300), (dev_synth, 60)):
        synth.template.has_resource_properties(
            "AWS::Lambda::EventInvokeConfig",
            {
                "FunctionName": ref(synth.logical_id(synth.stack.poller.function)),
                "Qualifier": "$LATEST",
                "MaximumEventAgeInSeconds": age,
                "MaximumRetryAttempts": 0,
                "DestinationConfig": {
                    "OnFailure": {"Destination": arn(synth.logical_id(synth.stack.dead_letters.queue))}
                },
            },
        )


def test_bedrock_job_state_changes_wait_in_a_queue(default_synth: Synth) -> None:
    stack = default_synth.stack
    default_synth.template.has_resource_properties(
        "AWS::Events::Rule",
        {
            "EventPattern": {"source": ["aws.bedrock"], "detail-type": ["Batch Inference Job State Change"]},
            "State": "ENABLED",
            "Targets": [
                {
                    "Arn": arn(default_synth.logical_id(stack.fast_path.queue)),
                    "Id": Match.any_value(),
                    "RetryPolicy": {"MaximumEventAgeInSeconds": 300, "MaximumRetryAttempts": 2},
                    "DeadLetterConfig": {"Arn": arn(default_synth.logical_id(stack.dead_letters.queue))},
                }
            ],
        },
    )
    queue = default_synth.json["Resources"][default_synth.logical_id(stack.fast_path.queue)]["Properties"]
    assert {k: v for k, v in queue.items() if k != "Tags"} == {
        "MessageRetentionPeriod": 4 * 86400,
        "RedrivePolicy": {
            "deadLetterTargetArn": arn(default_synth.logical_id(stack.fast_path.dead_letter_queue)),
            "maxReceiveCount": 10,
        },
        "SqsManagedSseEnabled": True,
        "VisibilityTimeout": 6 * 240,  # six poller timeouts, AWS's guidance for SQS event sources
    }
    dead_letters = default_synth.json["Resources"][default_synth.logical_id(stack.fast_path.dead_letter_queue)]
    assert dead_letters["Properties"]["MessageRetentionPeriod"] == TWO_WEEKS
    assert dead_letters["Properties"]["SqsManagedSseEnabled"] is True


def test_the_poller_drains_the_state_change_queue_in_batches(any_synth: Synth) -> None:
    stack = any_synth.stack
    mappings = [
        {k: v for k, v in m["Properties"].items() if k != "Tags"}
        for m in any_synth.resources("AWS::Lambda::EventSourceMapping").values()
        if m["Properties"]["FunctionName"] == ref(any_synth.logical_id(stack.poller.function))
    ]

    assert mappings == [
        {
            "EventSourceArn": arn(any_synth.logical_id(stack.fast_path.queue)),
            "FunctionName": ref(any_synth.logical_id(stack.poller.function)),
            "BatchSize": 100,
            "MaximumBatchingWindowInSeconds": 5,
            "ScalingConfig": {"MaximumConcurrency": 2},
            "FunctionResponseTypes": ["ReportBatchItemFailures"],
        }
    ]


def test_only_the_schedule_may_invoke_the_poller_asynchronously(default_synth: Synth) -> None:
    permissions = default_synth.resources("AWS::Lambda::Permission")
    stack = default_synth.stack

    assert [p["Properties"] for p in permissions.values()] == [
        {
            "Action": "lambda:InvokeFunction",
            "FunctionName": arn(default_synth.logical_id(stack.poller.function)),
            "Principal": "events.amazonaws.com",
            "SourceArn": arn(default_synth.logical_id(stack.poller.rule)),
        }
    ]


# Topic and email


def test_the_topic_is_encrypted_with_the_rotating_cmk_and_ssl_only(any_synth: Synth) -> None:
    stack = any_synth.stack
    key = any_synth.logical_id(stack.key)
    topic = any_synth.logical_id(stack.notifications.topic)

    assert any_synth.json["Resources"][key]["Properties"]["EnableKeyRotation"] is True
    any_synth.template.has_resource_properties(
        "AWS::SNS::Topic",
        {"TopicName": f"{stack.config.stack_name}-notifications", "KmsMasterKeyId": arn(key)},
    )
    any_synth.template.has_resource_properties(
        "AWS::SNS::TopicPolicy",
        {
            "Topics": [ref(topic)],
            "PolicyDocument": {
                "Statement": [
                    {
                        "Action": "sns:Publish",
                        "Condition": {"Bool": {"aws:SecureTransport": "false"}},
                        "Effect": "Deny",
                        "Principal": "*",
                        "Resource": ref(topic),
                        "Sid": "AllowPublishThroughSSLOnly",
                    }
                ],
                "Version": "2012-10-17",
            },
        },
    )


def test_the_key_outlives_a_kept_stack_only(default_synth: Synth, dev_synth: Synth) -> None:
    assert default_synth.only("AWS::KMS::Key")["DeletionPolicy"] == "Retain"
    assert dev_synth.only("AWS::KMS::Key")["DeletionPolicy"] == "Delete"
    assert dev_synth.only("AWS::KMS::Key")["Properties"]["PendingWindowInDays"] == 7


def admits(*statuses: str) -> dict[str, Any]:
    """A status filter of the stack's own subscriptions: these statuses, or a test notice."""
    return {"$or": [{"status": list(statuses)}, {"kind": ["test"]}]}


def test_email_subscriptions_with_their_status_filters_and_a_redrive_queue(full_synth: Synth) -> None:
    stack = full_synth.stack
    topic = full_synth.logical_id(stack.notifications.topic)
    dead_letters = arn(full_synth.logical_id(stack.dead_letters.queue))
    emails = {
        s["Properties"]["Endpoint"]: s["Properties"]
        for s in full_synth.resources("AWS::SNS::Subscription").values()
        if s["Properties"]["Protocol"] == "email" and s["Properties"]["TopicArn"] == ref(topic)
    }

    assert emails == {
        "team@example.com": {
            "Protocol": "email",
            "Endpoint": "team@example.com",
            "TopicArn": ref(topic),
            # emailStatuses, the default filter; the attribute is the poller's String "status" attribute.
            "FilterPolicy": admits("Completed", "Expired", "Failed", "PartiallyCompleted", "Stopped"),
            "RedrivePolicy": {"deadLetterTargetArn": dead_letters},
        },
        "oncall@example.com": {
            "Protocol": "email",
            "Endpoint": "oncall@example.com",
            "TopicArn": ref(topic),
            "FilterPolicy": admits("Expired", "Failed"),
            "RedrivePolicy": {"deadLetterTargetArn": dead_letters},
        },
    }


def test_an_email_without_any_filter_gets_the_terminal_statuses_one_email_per_job() -> None:
    from tests.infra.conftest import synthesize

    synth = synthesize(overrides={"emails": "all@example.com"})
    (subscription,) = synth.resources("AWS::SNS::Subscription").values()

    assert subscription["Properties"]["Endpoint"] == "all@example.com"
    assert subscription["Properties"]["FilterPolicy"] == admits(
        "Completed", "Expired", "Failed", "PartiallyCompleted", "Stopped"
    )


def test_the_default_stack_has_no_subscriptions_and_no_slack(default_synth: Synth) -> None:
    for resource_type in ("AWS::SNS::Subscription", "AWS::SecretsManager::Secret"):
        assert default_synth.resources(resource_type) == {}
    assert len(default_synth.resources("AWS::Lambda::Function")) == 1
    assert len(default_synth.resources("AWS::Lambda::EventSourceMapping")) == 1  # the fast path's
    assert len(default_synth.resources("AWS::SQS::Queue")) == 3  # the dead-letter queue, the fast path and its DLQ
    assert default_synth.stack.slack is None


def test_the_dead_letter_queue(any_synth: Synth) -> None:
    queue = any_synth.json["Resources"][any_synth.logical_id(any_synth.stack.dead_letters.queue)]["Properties"]

    assert queue["SqsManagedSseEnabled"] is True
    assert queue["MessageRetentionPeriod"] == TWO_WEEKS


# Slack delivery


def test_the_slack_queue_and_its_dlq(full_synth: Synth) -> None:
    slack = full_synth.stack.slack
    key = arn(full_synth.logical_id(full_synth.stack.key))
    queue = full_synth.json["Resources"][full_synth.logical_id(slack.queue)]["Properties"]
    dlq = full_synth.json["Resources"][full_synth.logical_id(slack.dead_letter_queue)]["Properties"]

    assert queue["KmsMasterKeyId"] == key
    assert queue["VisibilityTimeout"] == 6 * 60  # six times the Slack function's timeout
    assert queue["RedrivePolicy"] == {
        "deadLetterTargetArn": arn(full_synth.logical_id(slack.dead_letter_queue)),
        "maxReceiveCount": 33,  # hours of redelivery delays (notifier.core.redelivery)
    }
    assert dlq["KmsMasterKeyId"] == key
    assert dlq["MessageRetentionPeriod"] == TWO_WEEKS


def test_the_slack_queue_is_subscribed_with_raw_delivery_off_and_its_filter(full_synth: Synth) -> None:
    slack = full_synth.stack.slack
    subscription = full_synth.json["Resources"][full_synth.logical_id(slack.subscription)]

    assert subscription["Properties"] == {
        "Protocol": "sqs",
        "Endpoint": arn(full_synth.logical_id(slack.queue)),
        "TopicArn": ref(full_synth.logical_id(full_synth.stack.notifications.topic)),
        "RawMessageDelivery": False,
        "FilterPolicy": admits("Completed", "Expired", "Failed", "PartiallyCompleted"),
        "RedrivePolicy": {"deadLetterTargetArn": arn(full_synth.logical_id(slack.dead_letter_queue))},
    }
    # SNS may deliver as soon as the subscription exists: the queue policy comes first.
    assert subscription["DependsOn"] == [full_synth.logical_id(slack.queue.node.find_child("Policy"))]


def test_the_slack_function_and_its_event_source(full_synth: Synth) -> None:
    slack = full_synth.stack.slack
    full_synth.template.has_resource_properties(
        "AWS::Lambda::Function",
        {
            "Handler": "notifier.slack.handler",
            "Runtime": "python3.13",
            "Architectures": ["arm64"],
            "MemorySize": 256,
            "Timeout": 60,
            "TracingConfig": {"Mode": "Active"},
            "LoggingConfig": {"LogGroup": ref(full_synth.logical_id(slack.handler.log_group))},
            "ReservedConcurrentExecutions": Match.absent(),
        },
    )
    full_synth.template.has_resource_properties(
        "AWS::Lambda::EventSourceMapping",
        {
            "EventSourceArn": arn(full_synth.logical_id(slack.queue)),
            "FunctionName": ref(full_synth.logical_id(slack.function)),
            "BatchSize": 10,
            "ScalingConfig": {"MaximumConcurrency": 2},
            "FunctionResponseTypes": ["ReportBatchItemFailures"],
        },
    )


def test_the_created_secret_holds_no_credentials(full_synth: Synth) -> None:
    secret = full_synth.only("AWS::SecretsManager::Secret")

    assert secret["Properties"]["SecretString"] == "{}"
    assert "GenerateSecretString" not in secret["Properties"]
    assert secret["DeletionPolicy"] == "Retain"


def test_an_existing_secret_is_referenced_not_created(dev_synth: Synth) -> None:
    assert dev_synth.resources("AWS::SecretsManager::Secret") == {}
    assert dev_synth.json["Outputs"]["SlackSecretArn"]["Value"] == {
        "Fn::Join": [
            "",
            [
                "arn:",
                ref("AWS::Partition"),
                ":secretsmanager:",
                ref("AWS::Region"),
                ":",
                ref("AWS::AccountId"),
                ":secret:team/slack-notifier",
            ],
        ]
    }


# Monitoring


def alarm(synth: Synth, name: str) -> dict[str, Any]:
    found = [
        a["Properties"]
        for a in synth.resources("AWS::CloudWatch::Alarm").values()
        if a["Properties"]["AlarmName"] == f"{synth.stack.config.stack_name}-{name}"
    ]
    assert len(found) == 1, name
    return found[0]


def test_alarms_of_the_default_stack_notify_the_ops_topic(default_synth: Synth) -> None:
    ops = ref(default_synth.logical_id(default_synth.stack.monitoring.ops_topic))
    names = {a["Properties"]["AlarmName"] for a in default_synth.resources("AWS::CloudWatch::Alarm").values()}

    assert names == {
        "BedrockBatchNotifier-PollerErrors",
        "BedrockBatchNotifier-PollerNotRunning",
        "BedrockBatchNotifier-PublishFailures",
        "BedrockBatchNotifier-DeadLetterQueueNotEmpty",
        "BedrockBatchNotifier-StateChangeDeadLetterQueueNotEmpty",
    }
    for properties in (a["Properties"] for a in default_synth.resources("AWS::CloudWatch::Alarm").values()):
        assert properties["AlarmActions"] == [ops]
        assert properties["OKActions"] == [ops]


def test_the_poller_errors_alarm_counts_lambda_errors_and_failed_polls(default_synth: Synth) -> None:
    function = ref(default_synth.logical_id(default_synth.stack.poller.function))
    errors = alarm(default_synth, "PollerErrors")

    assert errors["Metrics"] == [
        {
            "Expression": "FILL(errors, 0) + FILL(failures, 0)",
            "Id": "expr_1",
            "Label": "Failed polls",
            "ReturnData": True,
        },
        {
            "Id": "errors",
            "MetricStat": {
                "Metric": {
                    "Dimensions": [{"Name": "FunctionName", "Value": function}],
                    "MetricName": "Errors",
                    "Namespace": "AWS/Lambda",
                },
                "Period": 300,
                "Stat": "Sum",
            },
            "ReturnData": False,
        },
        {
            "Id": "failures",
            "MetricStat": {
                "Metric": {
                    "Dimensions": [{"Name": "service", "Value": "poller"}],
                    "MetricName": "PollFailures",
                    "Namespace": "BedrockBatchNotifier",
                },
                "Period": 300,
                "Stat": "Sum",
            },
            "ReturnData": False,
        },
    ]
    assert (errors["ComparisonOperator"], errors["Threshold"]) == ("GreaterThanOrEqualToThreshold", 1)
    assert (errors["EvaluationPeriods"], errors["DatapointsToAlarm"]) == (2, 2)
    assert errors["TreatMissingData"] == "notBreaching"


def test_the_not_running_alarm_treats_silence_as_breaching(default_synth: Synth, dev_synth: Synth) -> None:
    for synth, period in ((default_synth, 300), (dev_synth, 60)):
        not_running = alarm(synth, "PollerNotRunning")
        described = {"AlarmActions", "OKActions", "AlarmName", "AlarmDescription", "Tags"}
        assert {k: v for k, v in not_running.items() if k not in described} == {
            "Namespace": "AWS/Lambda",
            "MetricName": "Invocations",
            "Dimensions": [{"Name": "FunctionName", "Value": ref(synth.logical_id(synth.stack.poller.function))}],
            "Statistic": "Sum",
            "Period": period,
            "ComparisonOperator": "LessThanThreshold",
            "Threshold": 1,
            "EvaluationPeriods": 3,
            "DatapointsToAlarm": 3,
            "TreatMissingData": "breaching",
        }


def test_metric_alarms_on_the_functions_metrics(full_synth: Synth) -> None:
    publish = alarm(full_synth, "PublishFailures")
    slack = alarm(full_synth, "SlackPermanentFailures")

    assert (publish["Namespace"], publish["MetricName"]) == ("BedrockBatchNotifier", "PublishFailures")
    assert publish["Dimensions"] == [{"Name": "service", "Value": "poller"}]
    assert (publish["EvaluationPeriods"], publish["Threshold"], publish["Statistic"]) == (2, 1, "Sum")
    assert (slack["Namespace"], slack["MetricName"]) == ("BedrockBatchNotifier", "SlackPermanentFailures")
    assert slack["Dimensions"] == [{"Name": "service", "Value": "slack"}]
    assert (slack["EvaluationPeriods"], slack["Threshold"], slack["Period"]) == (1, 1, 300)


def test_dead_letter_alarms_fire_on_the_first_message(full_synth: Synth) -> None:
    stack = full_synth.stack
    for name, queue in (
        ("DeadLetterQueueNotEmpty", stack.dead_letters.queue),
        ("SlackDeadLetterQueueNotEmpty", stack.slack.dead_letter_queue),
    ):
        found = alarm(full_synth, name)
        assert (found["Namespace"], found["MetricName"]) == ("AWS/SQS", "ApproximateNumberOfMessagesVisible")
        assert found["Dimensions"] == [
            {"Name": "QueueName", "Value": {"Fn::GetAtt": [full_synth.logical_id(queue), "QueueName"]}}
        ]
        assert (found["ComparisonOperator"], found["Threshold"], found["Statistic"]) == (
            "GreaterThanThreshold",
            0,
            "Maximum",
        )


def test_the_ops_topic_is_encrypted_ssl_only_and_has_its_emails(full_synth: Synth) -> None:
    stack = full_synth.stack
    ops = full_synth.logical_id(stack.monitoring.ops_topic)

    full_synth.template.has_resource_properties(
        "AWS::SNS::Topic",
        {"KmsMasterKeyId": arn(full_synth.logical_id(stack.key)), "DisplayName": "Bedrock batch notifier alarms"},
    )
    full_synth.template.has_resource_properties(
        "AWS::SNS::Subscription",
        {
            "Protocol": "email",
            "Endpoint": "ops@example.com",
            "TopicArn": ref(ops),
            "RedrivePolicy": {"deadLetterTargetArn": arn(full_synth.logical_id(stack.dead_letters.queue))},
            "FilterPolicy": Match.absent(),
        },
    )


def dashboard_widgets(synth: Synth) -> list[dict[str, Any]]:
    """The dashboard body with its tokens (region, ARNs) blanked, parsed."""
    parts = synth.only("AWS::CloudWatch::Dashboard")["Properties"]["DashboardBody"]["Fn::Join"][1]
    return list(json.loads("".join(p if isinstance(p, str) else "TOKEN" for p in parts))["widgets"])


def graphed(widget: dict[str, Any]) -> list[str]:
    """Metric names, or the expression, of each line of a graph."""
    return [line[1] if isinstance(line[0], str) else line[0]["expression"] for line in widget["properties"]["metrics"]]


def test_the_dashboard_shows_what_the_notifier_does(full_synth: Synth) -> None:
    widgets = {w["properties"]["title"]: w for w in dashboard_widgets(full_synth)}

    assert graphed(widgets["Transitions by status"]) == [
        "SEARCH('{BedrockBatchNotifier,Status,service} MetricName=\"Transitions\" service=\"poller\"', 'Sum', 300)"
    ]
    assert graphed(widgets["Jobs tracked (not terminal)"]) == ["JobsTracked"]
    assert graphed(widgets["Poll duration (ms)"]) == ["PollDurationMs", "PollDurationMs"]
    assert graphed(widgets["Poller runs"]) == ["Invocations", "Errors", "Throttles", "PollFailures"]
    assert graphed(widgets["Notifications sent"]) == [
        "TransitionsDetected",
        "TransitionsPublished",
        "NumberOfNotificationsDelivered",
        "SlackMessagesSent",
    ]
    assert graphed(widgets["Notifications failed"]) == [
        "PublishFailures",
        "NumberOfNotificationsFailed",
        "SlackRetryableFailures",
        "SlackPermanentFailures",
    ]
    assert graphed(widgets["Queues (messages visible)"]) == ["ApproximateNumberOfMessagesVisible"] * 5
    assert len(widgets["Alarms"]["properties"]["alarms"]) == 7
    for line in widgets["Jobs tracked (not terminal)"]["properties"]["metrics"]:
        assert line[:4] == ["BedrockBatchNotifier", "JobsTracked", "service", "poller"]


def test_the_dashboard_follows_the_schedule(dev_synth: Synth) -> None:
    widgets = {w["properties"]["title"]: w for w in dashboard_widgets(dev_synth)}

    assert graphed(widgets["Transitions by status"])[0].endswith("'Sum', 60)")
    assert widgets["Jobs tracked (not terminal)"]["properties"]["metrics"][0][-1]["period"] == 60


# Outputs


def test_outputs_have_stable_ids(default_synth: Synth, full_synth: Synth) -> None:
    assert set(default_synth.json["Outputs"]) == {
        "TopicArn",
        "StateTableName",
        "OpsTopicArn",
        "DashboardUrl",
        "DeadLetterQueueUrl",
        "StateChangeDeadLetterQueueUrl",
        "StateChangeDeadLetterQueueArn",
        "DeadLetterQueueArn",
        "PollerFunctionName",
        "PollerLogGroupName",
        "PollerScheduleRuleName",
        "NotifierVersion",
    }
    assert set(full_synth.json["Outputs"]) == set(default_synth.json["Outputs"]) | {
        "SlackSecretArn",
        "SlackSecretPutCommand",
        "SlackDeadLetterQueueUrl",
        "SlackDeadLetterQueueArn",
        "SlackQueueArn",
        "SlackLogGroupName",
    }
    outputs = full_synth.json["Outputs"]
    stack = full_synth.stack
    assert outputs["TopicArn"]["Value"] == ref(full_synth.logical_id(stack.notifications.topic))
    assert outputs["StateTableName"]["Value"] == ref(full_synth.logical_id(stack.state_table.table))
    assert outputs["OpsTopicArn"]["Value"] == ref(full_synth.logical_id(stack.monitoring.ops_topic))
    assert outputs["SlackSecretArn"]["Value"] == ref(full_synth.logical_id(stack.slack.secret))


def test_the_runbooks_outputs_name_the_log_groups_queues_function_and_schedule(full_synth: Synth) -> None:
    outputs = {key: output["Value"] for key, output in full_synth.json["Outputs"].items()}
    stack = full_synth.stack

    assert outputs["PollerLogGroupName"] == ref(full_synth.logical_id(stack.poller.handler.log_group))
    assert outputs["SlackLogGroupName"] == ref(full_synth.logical_id(stack.slack.handler.log_group))
    assert outputs["DeadLetterQueueArn"] == arn(full_synth.logical_id(stack.dead_letters.queue))
    assert outputs["SlackDeadLetterQueueArn"] == arn(full_synth.logical_id(stack.slack.dead_letter_queue))
    assert outputs["SlackQueueArn"] == arn(full_synth.logical_id(stack.slack.queue))
    assert outputs["PollerFunctionName"] == ref(full_synth.logical_id(stack.poller.function))
    assert outputs["PollerScheduleRuleName"] == ref(full_synth.logical_id(stack.poller.rule))
    assert outputs["StateChangeDeadLetterQueueArn"] == arn(full_synth.logical_id(stack.fast_path.dead_letter_queue))


def test_the_put_secret_value_line(full_synth: Synth) -> None:
    secret = ref(full_synth.logical_id(full_synth.stack.slack.secret))

    assert full_synth.json["Outputs"]["SlackSecretPutCommand"]["Value"] == {
        "Fn::Join": [
            "",
            [
                "aws secretsmanager put-secret-value --region ",
                ref("AWS::Region"),
                " --secret-id ",
                secret,
                " --secret-string file://slack-secret.json",  # from a file: the value stays out of shell history
            ],
        ]
    }


def test_the_dashboard_url_names_the_dashboard(default_synth: Synth) -> None:
    dashboard = default_synth.logical_id(default_synth.stack.monitoring.dashboard)

    assert default_synth.json["Outputs"]["DashboardUrl"]["Value"] == {
        "Fn::Join": [
            "",
            [
                "https://console.aws.amazon.com/cloudwatch/home?region=",
                ref("AWS::Region"),
                "#dashboards/dashboard/",
                ref(dashboard),
            ],
        ]
    }


def test_the_stack_is_environment_agnostic(any_synth: Synth) -> None:
    """No account or region at synth: nothing to look up, no credentials needed."""
    from aws_cdk import Token

    assert Token.is_unresolved(any_synth.stack.account)
    assert Token.is_unresolved(any_synth.stack.region)
