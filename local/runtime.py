"""The functions' environments as the stack sets them, for running them on this machine.

`local/stack_environment.json` holds each Lambda function's Environment.Variables exactly as the synthesized
template declares them (CloudFormation references included) and the type of every resource they reference.
Synthesizing takes a minute, so the sandbox reads that extract; tests/infra/test_local_runtime.py fails when it
differs from a fresh synthesis (regenerate it with `python -m local.runtime`).

`function_environment` turns one function's variables into plain strings the way CloudFormation would, with the
local resources' names and ARNs in place of the references.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Mapping
from pathlib import Path
from typing import Any

STACK_ENVIRONMENT = Path(__file__).with_name("stack_environment.json")
POLLER = "notifier.poller.handler"
SLACK = "notifier.slack.handler"


class UnresolvedReference(ValueError):
    """A variable references a resource the local runtime has no stand-in for."""


def extract(template: Mapping[str, Any]) -> dict[str, Any]:
    """Each function's variables (by handler) and the types of the resources they reference."""
    resources = template["Resources"]
    functions: dict[str, dict[str, Any]] = {}
    referenced: dict[str, str] = {}
    for resource in resources.values():
        if resource["Type"] != "AWS::Lambda::Function":
            continue
        properties = resource["Properties"]
        variables = properties.get("Environment", {}).get("Variables", {})
        functions[properties["Handler"]] = variables
        for value in variables.values():
            for logical_id in _references(value):
                referenced[logical_id] = resources[logical_id]["Type"]
    return {"functions": dict(sorted(functions.items())), "resources": dict(sorted(referenced.items()))}


def _references(value: Any) -> list[str]:
    if isinstance(value, dict) and set(value) == {"Ref"}:
        return [value["Ref"]]
    if isinstance(value, dict) and set(value) == {"Fn::GetAtt"}:
        return [value["Fn::GetAtt"][0]]
    if isinstance(value, dict | list):
        items = value.values() if isinstance(value, dict) else value
        return [found for item in items for found in _references(item)]
    return []


def load() -> dict[str, Any]:
    return dict(json.loads(STACK_ENVIRONMENT.read_text(encoding="utf-8")))


def function_environment(
    handler: str, by_type: Mapping[str, str], stack: Mapping[str, Any] | None = None
) -> dict[str, str]:
    """The function's variables with each reference replaced by the local resource of its type (a Ref to an
    AWS::DynamoDB::Table by the local table's name, to an AWS::SNS::Topic by the topic's ARN, ...)."""
    stack = stack or load()
    if handler not in stack["functions"]:
        raise KeyError(f"the stack declares no function with handler {handler!r} (has {sorted(stack['functions'])})")
    types: Mapping[str, str] = stack["resources"]
    return {name: _resolve(name, value, types, by_type) for name, value in stack["functions"][handler].items()}


def _resolve(name: str, value: Any, types: Mapping[str, str], by_type: Mapping[str, str]) -> str:
    if isinstance(value, str):
        return value
    if isinstance(value, dict) and set(value) == {"Ref"}:
        resource_type = types[value["Ref"]]
        if resource_type not in by_type:
            raise UnresolvedReference(
                f"{name} references a {resource_type} ({value['Ref']}); the local runtime has stand-ins for "
                f"{', '.join(sorted(by_type))}"
            )
        return by_type[resource_type]
    raise UnresolvedReference(f"{name} is {json.dumps(value)}: only plain values and Ref are resolved locally")


def synthesized_template() -> dict[str, Any]:
    """The stack as cdk.json configures it with Slack on (bundling skipped): what the sandbox runs."""
    from aws_cdk import App
    from aws_cdk.assertions import Template

    from infra import REPO_ROOT
    from infra.application import build

    context = dict(json.loads((REPO_ROOT / "cdk.json").read_text())["context"])
    context["aws:cdk:bundling-stacks"] = []
    context["slack"] = True  # a one-command override, as `-c slack=true` would be
    return dict(Template.from_stack(build(App(context=context))).to_json())


def main() -> int:
    STACK_ENVIRONMENT.write_text(json.dumps(extract(synthesized_template()), indent=2) + "\n", encoding="utf-8")
    print(f"wrote {STACK_ENVIRONMENT}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
