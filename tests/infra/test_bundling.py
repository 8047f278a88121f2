"""The asset's hashes and its build cache, on a scratch copy of the inputs (no pip, no Docker)."""

from __future__ import annotations

from pathlib import Path

import pytest

from infra import bundling


@pytest.fixture
def sources(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A functions/ directory and a requirements file of our own, and a build/ that starts empty."""
    functions = tmp_path / "functions"
    (functions / "notifier").mkdir(parents=True)
    (functions / "notifier" / "__init__.py").write_text('"""package"""\n')
    (functions / "notifier" / "poller.py").write_text("def handler(event, context): ...\n")
    (functions / "notifier" / "__pycache__").mkdir()
    (functions / "notifier" / "__pycache__" / "poller.cpython-311.pyc").write_bytes(b"\0")
    requirements = tmp_path / "runtime.txt"
    requirements.write_text("slack_sdk==3.48.0\n")
    monkeypatch.setattr(bundling, "FUNCTIONS_DIR", functions)
    monkeypatch.setattr(bundling, "REQUIREMENTS", requirements)
    monkeypatch.setattr(bundling, "BUILD_DIR", tmp_path / "build")
    return functions


def test_the_asset_holds_the_package_without_caches(sources: Path) -> None:
    assert bundling.source_files() == [Path("notifier/__init__.py"), Path("notifier/poller.py")]


def test_the_asset_hash_is_stable_and_follows_code_and_requirements(sources: Path) -> None:
    first = bundling.asset_hash()
    assert bundling.asset_hash() == first

    (sources / "notifier" / "__pycache__" / "poller.cpython-311.pyc").write_bytes(b"\1")
    assert bundling.asset_hash() == first, "caches are not part of the asset"

    (sources / "notifier" / "poller.py").write_text("def handler(event, context): return 1\n")
    changed_code = bundling.asset_hash()
    assert changed_code != first

    bundling.REQUIREMENTS.write_text("slack_sdk==3.48.1\n")
    assert bundling.asset_hash() != changed_code


def test_dependencies_are_installed_once_per_requirements(sources: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    runs: list[list[str]] = []

    def fake_pip(command: list[str], **_: object) -> object:
        runs.append(command)
        target = Path(command[command.index("--target") + 1])
        (target / "slack_sdk").mkdir()
        (target / "slack_sdk" / "__init__.py").write_text("")
        return type("Done", (), {"returncode": 0, "stderr": ""})()

    monkeypatch.setattr(bundling.subprocess, "run", fake_pip)
    first = bundling.build_dependencies()
    again = bundling.build_dependencies()

    assert first == again
    assert len(runs) == 1
    assert runs[0][runs[0].index("--platform") + 1] == "manylinux2014_aarch64"
    assert runs[0][runs[0].index("--python-version") + 1] == "3.13"
    assert "--only-binary=:all:" in runs[0]

    output = sources.parent / "asset"
    bundling.build_asset(output)
    assert sorted(p.relative_to(output).as_posix() for p in output.rglob("*.py")) == [
        "notifier/__init__.py",
        "notifier/poller.py",
        "slack_sdk/__init__.py",
    ]


def test_what_the_runtime_provides_is_not_shipped(tmp_path: Path) -> None:
    for name, package in (("botocore-1.0.dist-info", "botocore"), ("slack_sdk-3.0.dist-info", "slack_sdk")):
        (tmp_path / package).mkdir()
        (tmp_path / package / "__init__.py").write_text("")
        (tmp_path / name).mkdir()
        (tmp_path / name / "RECORD").write_text(f"{package}/__init__.py,,\n{name}/RECORD,,\n")

    bundling._strip_runtime_provided(tmp_path)

    assert sorted(p.name for p in tmp_path.iterdir()) == ["slack_sdk", "slack_sdk-3.0.dist-info"]


def test_the_deployed_asset_key_follows_the_asset_hash(monkeypatch: pytest.MonkeyPatch) -> None:
    """CDK keys the uploaded zip on our hash, so unchanged code is neither rebuilt nor uploaded again."""
    from aws_cdk import App, Stack
    from aws_cdk import aws_lambda as lambda_
    from aws_cdk.assertions import Template

    def key_for(digest: str) -> str:
        monkeypatch.setattr(bundling, "asset_hash", lambda: digest)
        app = App(context={"aws:cdk:bundling-stacks": []})
        stack = Stack(app, "Asset")
        lambda_.Function(stack, "F", code=bundling.function_code(), handler="h.h", runtime=bundling.RUNTIME)
        (function,) = Template.from_stack(stack).find_resources("AWS::Lambda::Function").values()
        return str(function["Properties"]["Code"]["S3Key"])

    assert key_for("a" * 64) == key_for("a" * 64)
    assert key_for("a" * 64) != key_for("b" * 64)
