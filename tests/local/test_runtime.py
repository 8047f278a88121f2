"""The local runtime: each function's environment from the synthesized stack, references resolved locally."""

from __future__ import annotations

import pytest

from local import runtime
from notifier.core.settings import PollerSettings, SlackSettings

TABLE = "local-table"
TOPIC = "arn:aws:sns:us-east-1:123456789012:local-topic"
SECRET = "arn:aws:secretsmanager:us-east-1:123456789012:secret:local-slack-AbCdEf"
LOCAL = {"AWS::DynamoDB::Table": TABLE, "AWS::SNS::Topic": TOPIC, "AWS::SecretsManager::Secret": SECRET}


def test_every_variable_the_stack_sets_on_the_poller_is_set_with_the_local_resources():
    stack = runtime.load()

    environment = runtime.function_environment(runtime.POLLER, LOCAL)

    assert environment.keys() == stack["functions"][runtime.POLLER].keys()
    assert environment["STATE_TABLE_NAME"] == TABLE
    assert environment["TOPIC_ARN"] == TOPIC
    assert all(isinstance(value, str) for value in environment.values())
    settings = PollerSettings.from_env(environment)
    assert (settings.state_table_name, settings.topic_arn) == (TABLE, TOPIC)


def test_the_slack_function_gets_its_secret_and_table():
    environment = runtime.function_environment(runtime.SLACK, LOCAL)

    settings = SlackSettings.from_env(environment)
    assert (settings.secret_arn, settings.state_table_name) == (SECRET, TABLE)


def test_a_reference_without_a_local_stand_in_is_named():
    stack = {
        "functions": {runtime.POLLER: {"QUEUE_URL": {"Ref": "Queue1"}, "PLAIN": "x"}},
        "resources": {"Queue1": "AWS::SQS::Queue"},
    }

    with pytest.raises(runtime.UnresolvedReference, match=r"QUEUE_URL references a AWS::SQS::Queue \(Queue1\)"):
        runtime.function_environment(runtime.POLLER, LOCAL, stack)


def test_the_extract_keeps_each_functions_variables_and_the_types_it_references():
    template = {
        "Resources": {
            "Table1": {"Type": "AWS::DynamoDB::Table", "Properties": {}},
            "Fn1": {
                "Type": "AWS::Lambda::Function",
                "Properties": {
                    "Handler": runtime.POLLER,
                    "Environment": {"Variables": {"STATE_TABLE_NAME": {"Ref": "Table1"}, "A": "1"}},
                },
            },
        }
    }

    assert runtime.extract(template) == {
        "functions": {runtime.POLLER: {"STATE_TABLE_NAME": {"Ref": "Table1"}, "A": "1"}},
        "resources": {"Table1": "AWS::DynamoDB::Table"},
    }
