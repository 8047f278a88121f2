"""CloudFormation: a deployed stack's outputs, by stack name."""

from __future__ import annotations

from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

from tools.problems import Problem, error_code, explain_aws

# A stack in one of these states has no usable outputs (yet, or any more).
_NOT_READY = ("CREATE_IN_PROGRESS", "CREATE_FAILED", "ROLLBACK", "DELETE")


def stack_outputs(cloudformation: Any, stack_name: str) -> dict[str, str]:
    """OutputKey -> OutputValue; Problem when the stack is missing, not deployed yet, or unreadable."""
    region = cloudformation.meta.region_name
    try:
        stacks = cloudformation.describe_stacks(StackName=stack_name)["Stacks"]
    except ClientError as error:
        if error_code(error) == "ValidationError" and "does not exist" in str(error):
            raise Problem(
                f"stack {stack_name!r} not found in region {region}: deploy it first (npx cdk deploy), or pass "
                "--stack with the stackName you deployed and --region with its region"
            ) from None
        raise explain_aws(error, action="cloudformation:DescribeStacks", region=region) or error from None
    except BotoCoreError as error:
        raise explain_aws(error, action="cloudformation:DescribeStacks", region=region) or error from None
    stack = stacks[0]
    status = str(stack.get("StackStatus", ""))
    if status.startswith(_NOT_READY):
        raise Problem(f"stack {stack_name!r} is {status}: wait for the deploy to finish, or fix and redeploy it")
    return {str(o["OutputKey"]): str(o["OutputValue"]) for o in stack.get("Outputs", [])}


def required_output(outputs: dict[str, str], key: str, stack_name: str, hint: str) -> str:
    value = outputs.get(key)
    if not value:
        raise Problem(f"stack {stack_name!r} has no {key} output: {hint}")
    return value
