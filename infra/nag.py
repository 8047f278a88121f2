"""cdk-nag's AwsSolutions and Serverless packs, run at synth as CDK policy-validation plugins.

An error finding fails the synth. Every finding this stack accepts is acknowledged below, on the construct it
concerns, with the reason; tests/infra check that the acknowledged set and the findings are the same set.
"""

from __future__ import annotations

from dataclasses import dataclass

from aws_cdk import Acknowledgment, Stage, Validations
from aws_cdk import aws_iam as iam
from aws_cdk import aws_lambda as lambda_
from cdk_nag import AwsSolutionsChecks, NagPack, ServerlessChecks
from constructs import IConstruct

from infra import constants as c
from infra.notifier import BedrockBatchNotifier

LATEST_RUNTIME_REASON = (
    "Python 3.13 is the version the code, its wheels (pip --python-version 3.13) and its tests are built for, "
    "and a supported Lambda runtime (upstream support until October 2029). A newer runtime is a deliberate "
    "upgrade with its own test run, not a side effect of a CDK release."
)
XRAY_REASON = (
    "xray:PutTraceSegments and xray:PutTelemetryRecords (active tracing) support no resource-level "
    "permissions: the Service Authorization Reference lists no resource type for them, so only * applies."
)


@dataclass(frozen=True)
class Finding:
    """An accepted cdk-nag finding: the rule id as the plugin reports it, where, and why it is accepted."""

    construct: IConstruct
    rule_id: str
    reason: str

    @property
    def path(self) -> str:
        return self.construct.node.path


def packs() -> list[NagPack]:
    return [AwsSolutionsChecks(), ServerlessChecks()]


def add_checks(stage: Stage) -> None:
    Validations.of(stage).add_plugins(AwsSolutionsChecks(stage), ServerlessChecks(stage))


def _default_policy(role: iam.Role) -> IConstruct:
    return role.node.find_child("DefaultPolicy")


def _event_source_mapping(function: lambda_.Function) -> IConstruct:
    return next(child for child in function.node.children if isinstance(child, lambda_.EventSourceMapping))


def accepted_findings(notifier: BedrockBatchNotifier) -> list[Finding]:
    poller = notifier.poller
    findings = [
        Finding(
            _default_policy(poller.role),
            "AwsSolutions-IAM5[Resource::*]",
            "bedrock:ListModelInvocationJobs has no resource type in the Service Authorization Reference (it is "
            "authorized on * only); the same holds for the X-Ray actions of active tracing. Every other "
            "statement of this policy names its resource.",
        ),
        Finding(
            _default_policy(poller.role),
            "AwsSolutions-IAM5[Resource::arn:<AWS::Partition>:bedrock:<AWS::Region>:<AWS::AccountId>"
            ":model-invocation-job/*]",
            "The poller follows batch jobs it did not create (any team's, in this account and Region) with "
            "bedrock:GetModelInvocationJob; their ids are known only once listed, so the model-invocation-job "
            "resource is limited to this account and Region, not to named jobs.",
        ),
        Finding(poller.function, "AwsSolutions-L1", LATEST_RUNTIME_REASON),
        Finding(poller.function, "Serverless-LambdaLatestVersion", LATEST_RUNTIME_REASON),
        Finding(
            poller.function,
            "Serverless-LambdaDLQ",
            "Failed and expired asynchronous invocations go to an on-failure destination (the dead-letter "
            "queue), whose record also says why (error, or EventAgeExceeded); a function DLQ as well would "
            "store each failure twice.",
        ),
        Finding(
            notifier.dead_letters.queue,
            "AwsSolutions-SQS3",
            "This queue is itself the dead-letter queue of the schedule's target, of the email subscriptions "
            "(redrive policy) and of the poller (on-failure destination); the rule only recognizes queues "
            "named in another queue's redrive policy or a function's DeadLetterConfig.",
        ),
        Finding(
            notifier.dead_letters.queue,
            "Serverless-SQSRedrivePolicy",
            "A dead-letter queue has no consumer whose failures need redriving: messages stay 14 days and the "
            "DeadLetterQueueNotEmpty alarm reports the first one.",
        ),
        Finding(
            _event_source_mapping(poller.function),
            "Serverless-LambdaEventSourceMappingDestination",
            "Lambda supports on-failure destinations for stream and Kafka event sources, not for SQS: a "
            "state-change event that keeps failing moves to the fast-path queue's redrive DLQ, which is alarmed.",
        ),
        Finding(
            notifier.fast_path.dead_letter_queue,
            "Serverless-SQSRedrivePolicy",
            "The fast path's DLQ is the end of the line: the scheduled poll covers the jobs its events name, "
            "messages stay 14 days for inspection, and the StateChangeDeadLetterQueueNotEmpty alarm reports the "
            "first one.",
        ),
    ]
    slack = notifier.slack
    if slack is not None:
        findings += [
            Finding(_default_policy(slack.role), "AwsSolutions-IAM5[Resource::*]", XRAY_REASON),
            Finding(slack.function, "AwsSolutions-L1", LATEST_RUNTIME_REASON),
            Finding(slack.function, "Serverless-LambdaLatestVersion", LATEST_RUNTIME_REASON),
            Finding(
                slack.function,
                "Serverless-LambdaDLQ",
                "The function is invoked only by its SQS event source mapping, synchronously; a function DLQ "
                "applies to asynchronous invocations. The function moves a permanently failed message to the Slack "
                "DLQ itself; one that keeps failing retryably reaches it through the queue's redrive policy "
                f"(maxReceiveCount {c.SLACK_MAX_RECEIVE_COUNT}, hours of retries).",
            ),
            Finding(
                _event_source_mapping(slack.function),
                "Serverless-LambdaEventSourceMappingDestination",
                "Lambda supports on-failure destinations for stream and Kafka event sources, not for SQS: a "
                "message that keeps failing moves to the queue's redrive DLQ (the Slack DLQ), which is alarmed.",
            ),
            Finding(
                slack.dead_letter_queue,
                "Serverless-SQSRedrivePolicy",
                "The Slack DLQ is the end of the line: messages stay 14 days for a redrive to the Slack queue "
                "once Slack works again, and the SlackDeadLetterQueueNotEmpty alarm reports the first one.",
            ),
        ]
        if not notifier.config.uses_existing_slack_secret:
            findings.append(
                Finding(
                    slack.secret,
                    "AwsSolutions-SMG4",
                    "The secret holds a Slack webhook URL or bot token, which only Slack issues and revokes; no "
                    "rotation function can replace it. Rotate it in Slack, then put the new value "
                    "(SlackSecretPutCommand output).",
                )
            )
    return findings


def acknowledge(notifier: BedrockBatchNotifier) -> None:
    """Also for a notifier in a user's own stack: its accepted findings, acknowledged where they are."""
    for finding in accepted_findings(notifier):
        Validations.of(finding.construct).acknowledge(Acknowledgment(id=finding.rule_id, reason=finding.reason))
