"""Every permission the stack grants, statement by statement: identity policies, key, queue and topic policies."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import boto3
import pytest

from tests.fixtures.slack import SlackHarness, sns_body, sqs_event
from tests.infra.conftest import Synth
from tests.integration.poller_harness import Harness


def ref(logical_id: str) -> dict[str, Any]:
    return {"Ref": logical_id}


def arn(logical_id: str) -> dict[str, Any]:
    return {"Fn::GetAtt": [logical_id, "Arn"]}


def pseudo_arn(service: str, resource: str) -> dict[str, Any]:
    return {
        "Fn::Join": [
            "",
            [
                "arn:",
                ref("AWS::Partition"),
                f":{service}:",
                ref("AWS::Region"),
                ":",
                ref("AWS::AccountId"),
                f":{resource}",
            ],
        ]
    }


def normalized(statements: list[dict[str, Any]]) -> list[str]:
    """Statements in a canonical form: order of statements and of actions does not matter, content does."""
    canonical = []
    for statement in statements:
        statement = dict(statement)
        if isinstance(statement.get("Action"), list):
            statement["Action"] = sorted(statement["Action"])
        canonical.append(json.dumps(statement, sort_keys=True))
    return sorted(canonical)


def policy_statements(synth: Synth, role: Any) -> list[dict[str, Any]]:
    policy = synth.json["Resources"][synth.logical_id(role.node.find_child("DefaultPolicy"))]
    assert policy["Properties"]["Roles"] == [ref(synth.logical_id(role))]
    return list(policy["Properties"]["PolicyDocument"]["Statement"])


def resource_policy(synth: Synth, resource_type: str, target_key: str, target: dict[str, Any]) -> list[dict[str, Any]]:
    found = [
        r["Properties"]["PolicyDocument"]["Statement"]
        for r in synth.resources(resource_type).values()
        if r["Properties"][target_key] == [target]
    ]
    assert len(found) == 1
    return list(found[0])


def poller_statements(synth: Synth) -> list[dict[str, Any]]:
    stack = synth.stack
    table = arn(synth.logical_id(stack.state_table.table))
    return [
        {
            "Action": ["logs:CreateLogStream", "logs:PutLogEvents"],
            "Effect": "Allow",
            "Resource": arn(synth.logical_id(stack.poller.handler.log_group)),
        },
        {
            # No resource type exists for any of these three (Service Authorization Reference).
            "Action": ["bedrock:ListModelInvocationJobs", "xray:PutTelemetryRecords", "xray:PutTraceSegments"],
            "Effect": "Allow",
            "Resource": "*",
        },
        {
            "Action": "bedrock:GetModelInvocationJob",
            "Effect": "Allow",
            "Resource": pseudo_arn("bedrock", "model-invocation-job/*"),
        },
        {
            "Action": [
                "dynamodb:BatchGetItem",
                "dynamodb:GetItem",
                "dynamodb:PutItem",
                "dynamodb:Query",
                "dynamodb:UpdateItem",
            ],
            "Effect": "Allow",
            "Resource": table,
        },
        {
            "Action": "dynamodb:Query",
            "Effect": "Allow",
            "Resource": [
                {"Fn::Join": ["", [table, "/index/open-jobs"]]},
                {"Fn::Join": ["", [table, "/index/pending-notices"]]},
            ],
        },
        {
            "Action": "sns:Publish",
            "Effect": "Allow",
            "Resource": ref(synth.logical_id(stack.notifications.topic)),
        },
        {
            "Action": ["kms:Decrypt", "kms:GenerateDataKey"],
            "Effect": "Allow",
            "Resource": arn(synth.logical_id(stack.key)),
        },
        {
            # The on-failure destination (CDK's SqsDestination grant).
            "Action": ["sqs:GetQueueAttributes", "sqs:GetQueueUrl", "sqs:SendMessage"],
            "Effect": "Allow",
            "Resource": arn(synth.logical_id(stack.dead_letters.queue)),
        },
        {
            # The fast path's SQS event source (CDK's grant); nothing else may read the queue.
            "Action": [
                "sqs:ChangeMessageVisibility",
                "sqs:DeleteMessage",
                "sqs:GetQueueAttributes",
                "sqs:GetQueueUrl",
                "sqs:ReceiveMessage",
            ],
            "Effect": "Allow",
            "Resource": arn(synth.logical_id(stack.fast_path.queue)),
        },
    ]


def test_the_poller_policy_is_exactly_this(any_synth: Synth) -> None:
    assert normalized(policy_statements(any_synth, any_synth.stack.poller.role)) == normalized(
        poller_statements(any_synth)
    )


def slack_statements(synth: Synth, secret: Any) -> list[dict[str, Any]]:
    stack = synth.stack
    slack = stack.slack
    return [
        {
            "Action": ["logs:CreateLogStream", "logs:PutLogEvents"],
            "Effect": "Allow",
            "Resource": arn(synth.logical_id(slack.handler.log_group)),
        },
        {"Action": ["xray:PutTelemetryRecords", "xray:PutTraceSegments"], "Effect": "Allow", "Resource": "*"},
        {
            "Action": ["secretsmanager:DescribeSecret", "secretsmanager:GetSecretValue"],
            "Effect": "Allow",
            "Resource": secret,
        },
        {
            "Action": ["dynamodb:DeleteItem", "dynamodb:GetItem", "dynamodb:PutItem", "dynamodb:UpdateItem"],
            "Effect": "Allow",
            "Resource": arn(synth.logical_id(stack.state_table.table)),
        },
        {
            # A permanent failure goes straight to the Slack DLQ, sent by the function.
            "Action": "sqs:SendMessage",
            "Effect": "Allow",
            "Resource": arn(synth.logical_id(slack.dead_letter_queue)),
        },
        {
            # kms:Decrypt for the event source, a data key to encrypt what the function sends to the DLQ.
            "Action": ["kms:Decrypt", "kms:GenerateDataKey"],
            "Effect": "Allow",
            "Resource": arn(synth.logical_id(stack.key)),
        },
        {
            # The SQS event source; ChangeMessageVisibility also sets the function's redelivery delays, and
            # GetQueueAttributes lets it read the redrive policy that names the DLQ.
            "Action": [
                "sqs:ChangeMessageVisibility",
                "sqs:DeleteMessage",
                "sqs:GetQueueAttributes",
                "sqs:GetQueueUrl",
                "sqs:ReceiveMessage",
            ],
            "Effect": "Allow",
            "Resource": arn(synth.logical_id(slack.queue)),
        },
    ]


def test_the_slack_policy_is_exactly_this(full_synth: Synth) -> None:
    secret = ref(full_synth.logical_id(full_synth.stack.slack.secret))

    assert normalized(policy_statements(full_synth, full_synth.stack.slack.role)) == normalized(
        slack_statements(full_synth, secret)
    )


def test_a_secret_configured_by_name_is_granted_by_name(dev_synth: Synth) -> None:
    secret = pseudo_arn("secretsmanager", "secret:team/slack-notifier-??????")

    assert normalized(policy_statements(dev_synth, dev_synth.stack.slack.role)) == normalized(
        slack_statements(dev_synth, secret)
    )


def test_roles_are_assumed_by_lambda_only_and_carry_no_managed_or_inline_policy(any_synth: Synth) -> None:
    roles = any_synth.resources("AWS::IAM::Role")

    assert len(roles) == (2 if any_synth.stack.slack else 1)
    for role in roles.values():
        assert role["Properties"]["AssumeRolePolicyDocument"] == {
            "Statement": [
                {"Action": "sts:AssumeRole", "Effect": "Allow", "Principal": {"Service": "lambda.amazonaws.com"}}
            ],
            "Version": "2012-10-17",
        }
        assert "ManagedPolicyArns" not in role["Properties"]
        assert "Policies" not in role["Properties"]
    assert len(any_synth.resources("AWS::IAM::Policy")) == len(roles)


def test_no_identity_policy_grants_a_wildcard_action(any_synth: Synth) -> None:
    for policy in any_synth.resources("AWS::IAM::Policy").values():
        for statement in policy["Properties"]["PolicyDocument"]["Statement"]:
            actions = statement["Action"] if isinstance(statement["Action"], list) else [statement["Action"]]
            assert not [a for a in actions if "*" in a], statement
            assert statement["Effect"] == "Allow"


class TableCalls:
    """Every DynamoDB operation the clients made, per function, recorded by a botocore hook on the default session
    (every adapter makes its client from it), so what is compared is what the code really called."""

    def __init__(self) -> None:
        self.function = ""
        self.calls: dict[str, set[str]] = {}
        self.session = boto3.setup_default_session() or boto3.DEFAULT_SESSION
        self.session.events.register("before-call.dynamodb", self._before_call)

    def _before_call(self, model: Any, **_: Any) -> None:
        self.calls.setdefault(self.function, set()).add(f"dynamodb:{model.name}")


@pytest.fixture
def table_calls(aws: str) -> Iterator[TableCalls]:
    calls = TableCalls()
    yield calls
    boto3.DEFAULT_SESSION = None  # the next test's clients come from a session without the hook


def table_grants(synth: Synth, role: Any) -> set[str]:
    """The DynamoDB actions the role's policy grants on the state table and its indexes."""
    granted: set[str] = set()
    for statement in policy_statements(synth, role):
        actions = statement["Action"] if isinstance(statement["Action"], list) else [statement["Action"]]
        granted |= {action for action in actions if action.startswith("dynamodb:")}
    return granted


def run_the_poller(harness: Harness, calls: TableCalls) -> list[dict[str, Any]]:
    """A first poll (a silent baseline), then one that records, publishes and clears notices."""
    calls.function = "poller"
    now = harness.bedrock.now()
    running = harness.bedrock.create_job("running", submit_time=now - timedelta(hours=2), status="InProgress")
    harness.bedrock.create_job("finished", submit_time=now - timedelta(hours=3), status="Completed")
    harness.poll()
    harness.bedrock.set_status(running, "Failed", message="bad input")
    harness.bedrock.create_job("fresh", submit_time=now - timedelta(minutes=5), status="InProgress")
    harness.poll()
    return harness.notices()


def run_the_slack_function(slack: SlackHarness, documents: list[dict[str, Any]], calls: TableCalls) -> None:
    """Delivers in bot mode (a parent, then a reply in its thread), then fails one delivery on Slack's 5xx."""
    calls.function = "slack"
    dependencies = slack.dependencies(slack.bot_secret())
    first, second = documents
    for document in (first, {**first, "status": "Completed", "transitionId": "t-completed"}):
        assert slack.invoke(sqs_event(sns_body(document)), dependencies) == {"batchItemFailures": []}
    slack.standin.fail_next(3, status=500, target="api")
    assert slack.invoke(sqs_event(sns_body(second)), dependencies)["batchItemFailures"]


def test_the_table_grants_are_exactly_the_calls_the_code_makes(
    full_synth: Synth, harness: Harness, slack: SlackHarness, table_calls: TableCalls
) -> None:
    """Granting less than the code calls fails only in AWS, with AccessDenied; granting more is a wider role
    than needed. Both functions run their real code paths on moto while a hook records each DynamoDB call."""
    documents = run_the_poller(harness, table_calls)
    run_the_slack_function(slack, documents, table_calls)

    assert table_calls.calls["poller"] == table_grants(full_synth, full_synth.stack.poller.role)
    assert table_calls.calls["slack"] == table_grants(full_synth, full_synth.stack.slack.role)


# Resource policies


def root_statement() -> dict[str, Any]:
    return {
        "Action": "kms:*",
        "Effect": "Allow",
        "Principal": {
            "AWS": {"Fn::Join": ["", ["arn:", ref("AWS::Partition"), ":iam::", ref("AWS::AccountId"), ":root"]]}
        },
        "Resource": "*",
    }


def alarms_condition(stack_name: str) -> dict[str, Any]:
    return {
        "StringEquals": {"aws:SourceAccount": ref("AWS::AccountId")},
        "ArnLike": {"aws:SourceArn": pseudo_arn("cloudwatch", f"alarm:{stack_name}-*")},
    }


def test_the_key_policy_lets_exactly_the_services_that_deliver_through_it(
    default_synth: Synth, full_synth: Synth
) -> None:
    cloudwatch = {
        "Action": ["kms:Decrypt", "kms:GenerateDataKey*"],
        "Condition": alarms_condition("BedrockBatchNotifier"),
        "Effect": "Allow",
        "Principal": {"Service": "cloudwatch.amazonaws.com"},
        "Resource": "*",
        "Sid": "AllowStackAlarmsToUseTheKey",
    }
    sns_to_slack_queues = {
        "Action": ["kms:Decrypt", "kms:GenerateDataKey"],
        # The topic's ARN spelled out (not a Ref, which would make a key <-> topic cycle).
        "Condition": {"ArnEquals": {"aws:SourceArn": pseudo_arn("sns", "BedrockBatchNotifier-notifications")}},
        "Effect": "Allow",
        "Principal": {"Service": "sns.amazonaws.com"},
        "Resource": "*",
        "Sid": "AllowNotificationTopicToSlackQueues",
    }

    assert normalized(default_synth.only("AWS::KMS::Key")["Properties"]["KeyPolicy"]["Statement"]) == normalized(
        [root_statement(), cloudwatch]
    )
    assert normalized(full_synth.only("AWS::KMS::Key")["Properties"]["KeyPolicy"]["Statement"]) == normalized(
        [root_statement(), cloudwatch, sns_to_slack_queues]
    )


def deny_insecure_sqs(queue: str) -> dict[str, Any]:
    return {
        "Action": "sqs:*",
        "Condition": {"Bool": {"aws:SecureTransport": "false"}},
        "Effect": "Deny",
        "Principal": {"AWS": "*"},
        "Resource": arn(queue),
    }


def sns_may_send(queue: str, topic: str) -> dict[str, Any]:
    return {
        "Action": "sqs:SendMessage",
        "Condition": {"ArnEquals": {"aws:SourceArn": ref(topic)}},
        "Effect": "Allow",
        "Principal": {"Service": "sns.amazonaws.com"},
        "Resource": arn(queue),
    }


def test_the_dead_letter_queue_accepts_its_writers_only(full_synth: Synth) -> None:
    stack = full_synth.stack
    queue = full_synth.logical_id(stack.dead_letters.queue)
    statements = resource_policy(full_synth, "AWS::SQS::QueuePolicy", "Queues", ref(queue))
    rule_statements = [s for s in statements if s.get("Principal") == {"Service": "events.amazonaws.com"}]
    from_rules = []
    # One statement per rule (the schedule and the state-change events), each limited to that rule.
    for rule, generated in zip((stack.poller.rule, stack.fast_path.rule), rule_statements, strict=True):
        from_rules.append(
            {
                "Action": "sqs:SendMessage",
                "Condition": {"ArnEquals": {"aws:SourceArn": arn(full_synth.logical_id(rule))}},
                "Effect": "Allow",
                "Principal": {"Service": "events.amazonaws.com"},
                "Resource": arn(queue),
                "Sid": generated["Sid"],  # generated by CDK
            }
        )

    # The poller writes with its role (identity policy above); SNS for the email subscriptions of both topics.
    assert normalized(statements) == normalized(
        [
            deny_insecure_sqs(queue),
            *from_rules,
            sns_may_send(queue, full_synth.logical_id(stack.notifications.topic)),
            sns_may_send(queue, full_synth.logical_id(stack.monitoring.ops_topic)),
        ]
    )


def test_the_state_change_queue_accepts_its_rule_only(default_synth: Synth) -> None:
    stack = default_synth.stack
    queue = default_synth.logical_id(stack.fast_path.queue)
    statements = resource_policy(default_synth, "AWS::SQS::QueuePolicy", "Queues", ref(queue))

    assert normalized([{k: v for k, v in s.items() if k != "Sid"} for s in statements]) == normalized(
        [
            deny_insecure_sqs(queue),
            {
                # CDK's SqsQueue target grant.
                "Action": ["sqs:GetQueueAttributes", "sqs:GetQueueUrl", "sqs:SendMessage"],
                "Condition": {"ArnEquals": {"aws:SourceArn": arn(default_synth.logical_id(stack.fast_path.rule))}},
                "Effect": "Allow",
                "Principal": {"Service": "events.amazonaws.com"},
                "Resource": arn(queue),
            },
        ]
    )


def test_the_slack_queues_accept_the_notification_topic_only(full_synth: Synth) -> None:
    stack = full_synth.stack
    topic = full_synth.logical_id(stack.notifications.topic)
    for queue in (stack.slack.queue, stack.slack.dead_letter_queue):
        queue_id = full_synth.logical_id(queue)
        statements = resource_policy(full_synth, "AWS::SQS::QueuePolicy", "Queues", ref(queue_id))
        assert normalized(statements) == normalized([deny_insecure_sqs(queue_id), sns_may_send(queue_id, topic)])


def test_the_ops_topic_takes_alarms_of_this_stack_only(any_synth: Synth) -> None:
    stack = any_synth.stack
    ops = any_synth.logical_id(stack.monitoring.ops_topic)
    statements = resource_policy(any_synth, "AWS::SNS::TopicPolicy", "Topics", ref(ops))

    assert normalized(statements) == normalized(
        [
            {
                "Action": "sns:Publish",
                "Condition": {"Bool": {"aws:SecureTransport": "false"}},
                "Effect": "Deny",
                "Principal": "*",
                "Resource": ref(ops),
                "Sid": "AllowPublishThroughSSLOnly",
            },
            {
                "Action": "sns:Publish",
                "Condition": alarms_condition(stack.config.stack_name),
                "Effect": "Allow",
                "Principal": {"Service": "cloudwatch.amazonaws.com"},
                "Resource": ref(ops),
                "Sid": "AllowStackAlarms",
            },
        ]
    )
