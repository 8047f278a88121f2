"""What both functions share: the asset, arm64 / Python 3.13, X-Ray, Powertools settings, an explicit log group
with retention, and a role of their own that starts empty (no AWS managed policy)."""

from __future__ import annotations

from collections.abc import Mapping

from aws_cdk import CfnResource, Duration, RemovalPolicy, Stack
from aws_cdk import aws_iam as iam
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_logs as logs
from constructs import Construct

from infra.bundling import ARCHITECTURE, RUNTIME
from notifier.core.settings import LOG_RETENTION_DAYS

R = logs.RetentionDays
# CDK's enum has names, the template gets days: the accepted days in the same order as their names.
RETENTION = dict(zip(LOG_RETENTION_DAYS, (
    R.ONE_DAY, R.THREE_DAYS, R.FIVE_DAYS, R.ONE_WEEK, R.TWO_WEEKS, R.ONE_MONTH, R.TWO_MONTHS, R.THREE_MONTHS,
    R.FOUR_MONTHS, R.FIVE_MONTHS, R.SIX_MONTHS, R.ONE_YEAR, R.THIRTEEN_MONTHS, R.EIGHTEEN_MONTHS, R.TWO_YEARS,
    R.THREE_YEARS, R.FIVE_YEARS, R.SIX_YEARS, R.SEVEN_YEARS, R.EIGHT_YEARS, R.NINE_YEARS, R.TEN_YEARS,
), strict=True))  # fmt: skip


class NotifierFunction(Construct):
    """A Lambda function of the notifier; grants are added by the construct that owns its purpose."""

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        code: lambda_.Code,
        handler: str,
        service: str,
        description: str,
        memory_mb: int,
        timeout: Duration,
        environment: Mapping[str, str],
        log_retention_days: int,
        removal_policy: RemovalPolicy,
        reserved_concurrency: int | None = None,
        async_options: lambda_.EventInvokeConfigOptions | None = None,
    ) -> None:
        super().__init__(scope, construct_id)
        self.log_group = logs.LogGroup(
            self,
            "LogGroup",
            retention=RETENTION[log_retention_days],
            removal_policy=removal_policy,
        )
        self.role = iam.Role(
            self,
            "Role",
            assumed_by=iam.ServicePrincipal("lambda.amazonaws.com"),
            description=f"The {service} function of the Bedrock batch notifier",
        )
        # Instead of AWSLambdaBasicExecutionRole (logs:* on every log group): this log group only.
        self.log_group.grant_write(self.role)
        async_settings = async_options or lambda_.EventInvokeConfigOptions()
        self.function = lambda_.Function(
            self,
            "Function",
            code=code,
            handler=handler,
            runtime=RUNTIME,
            architecture=ARCHITECTURE,
            description=description,
            memory_size=memory_mb,
            timeout=timeout,
            role=self.role,
            log_group=self.log_group,
            tracing=lambda_.Tracing.ACTIVE,
            reserved_concurrent_executions=reserved_concurrency,
            environment=dict(environment),
            max_event_age=async_settings.max_event_age,
            retry_attempts=async_settings.retry_attempts,
            on_failure=async_settings.on_failure,
        )
        # CDK makes the function depend on the whole role construct. The role's policy must exist first (Lambda
        # checks an event source's permissions at creation); the role itself is already implied by the GetAtt of
        # its ARN, and naming it again is what cfn-lint reports as W3005.
        policy = self.role.node.find_child("DefaultPolicy").node.default_child
        assert isinstance(policy, CfnResource)
        function_resource = self.function.node.default_child
        assert isinstance(function_resource, CfnResource)
        function_resource.add_override("DependsOn", [Stack.of(self).get_logical_id(policy)])
