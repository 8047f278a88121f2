"""The asset's hashes, its lock file, its build cache and its bytecode, on a scratch copy of the inputs (no pip)."""

from __future__ import annotations

import gzip
import json
import os
import re
import sys
from pathlib import Path

import pytest

from infra import bundling, lock

NO_PYTHON_313 = pytest.mark.skipif(
    bundling.bytecode_python() is None,
    reason="no Python 3.13 here (python3.13 on PATH, ~/.pyenv/versions/3.13*, or NOTIFIER_BYTECODE_PYTHON): "
    "the asset is built without bytecode",
)
LOCKED = {"name": "slack-sdk", "version": "3.48.0", "sha256": "1" * 64}


def write_lock(*resolved: dict[str, str]) -> None:
    bundling.LOCK.write_text(lock.render(list(resolved)))


@pytest.fixture
def sources(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A functions/ directory, requirements and their lock of our own, and a build/ that starts empty."""
    functions = tmp_path / "functions"
    (functions / "notifier").mkdir(parents=True)
    (functions / "notifier" / "__init__.py").write_text('"""package"""\n')
    (functions / "notifier" / "poller.py").write_text("def handler(event, context): ...\n")
    (functions / "notifier" / "__pycache__").mkdir()
    (functions / "notifier" / "__pycache__" / "poller.cpython-311.pyc").write_bytes(b"\0")
    (functions / "bedrock_batch_notifier.egg-info").mkdir()
    (functions / "bedrock_batch_notifier.egg-info" / "SOURCES.txt").write_text("notifier/__init__.py\n")
    monkeypatch.setattr(bundling, "FUNCTIONS_DIR", functions)
    monkeypatch.setattr(bundling, "REQUIREMENTS", tmp_path / "runtime.txt")
    monkeypatch.setattr(bundling, "LOCK", tmp_path / "runtime-lock.txt")
    monkeypatch.setattr(bundling, "BUILD_DIR", tmp_path / "build")
    monkeypatch.setenv(bundling.BYTECODE_PYTHON_VARIABLE, "none")
    bundling.REQUIREMENTS.write_text("slack_sdk==3.48.0\n")
    write_lock(LOCKED)
    return functions


def fake_python(path: Path, version: str | None) -> Path:
    """An executable that answers the version question as a Python of that version would, or fails like a shim."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(
        f"#!/bin/sh\necho {version}\n" if version else "#!/bin/sh\necho 'command not found' >&2\nexit 127\n"
    )
    path.chmod(0o755)
    return path


def test_the_asset_holds_the_package_without_caches(sources: Path) -> None:
    assert bundling.source_files() == [Path("notifier/__init__.py"), Path("notifier/poller.py")]


def test_the_asset_hash_is_stable_and_follows_code_and_lock(sources: Path) -> None:
    first = bundling.asset_hash()
    assert bundling.asset_hash() == first

    (sources / "notifier" / "__pycache__" / "poller.cpython-311.pyc").write_bytes(b"\1")
    assert bundling.asset_hash() == first, "caches are not part of the asset"

    (sources / "notifier" / "poller.py").write_text("def handler(event, context): return 1\n")
    changed_code = bundling.asset_hash()
    assert changed_code != first

    write_lock({**LOCKED, "sha256": "2" * 64})
    assert bundling.asset_hash() != changed_code, "a wheel locked to another hash is another asset"


def test_the_asset_hash_says_whether_it_carries_bytecode(sources: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    without = bundling.asset_hash()
    monkeypatch.setattr(bundling, "bytecode_python", lambda: "python3.13")

    assert bundling.asset_hash() != without


def test_requirements_changed_since_the_lock_stop_the_synth_with_how_to_fix_it(sources: Path) -> None:
    bundling.REQUIREMENTS.write_text("slack_sdk==3.49.0\n")

    with pytest.raises(
        bundling.BundlingError, match=r"runtime-lock\.txt was not made from the current runtime\.txt: run `make lock`"
    ):
        bundling.asset_hash()


def test_a_missing_lock_stops_the_synth_with_how_to_fix_it(sources: Path) -> None:
    bundling.LOCK.unlink()

    with pytest.raises(bundling.BundlingError, match=r"runtime-lock\.txt is missing: run `make lock`"):
        bundling.asset_hash()


def test_the_committed_lock_is_made_from_the_committed_requirements() -> None:
    """Fails after an edit of requirements/runtime.txt without `make lock`."""
    locked = dict(
        re.findall(r"^([a-z0-9-]+)==(\S+) \\\n    --hash=sha256:[0-9a-f]{64}$", bundling.checked_lock().decode(), re.M)
    )
    lines = [line.split("#")[0].strip() for line in bundling.REQUIREMENTS.read_text().splitlines()]
    wanted = [re.fullmatch(r"([A-Za-z0-9_.-]+)(?:\[[^]]*\])?==(\S+)", line) for line in lines if line]

    assert all(wanted), "runtime.txt pins each requirement to one version"
    for match in wanted:
        assert match is not None
        assert locked[match.group(1).lower().replace("_", "-")] == match.group(2)
    assert {"botocore", "wrapt", "aws-xray-sdk"} <= set(locked), "the lock holds the transitive set too"


def fake_pip(runs: list[list[str]]):  # type: ignore[no-untyped-def]
    def run(command: list[str], **_: object) -> object:
        runs.append(command)
        target = Path(command[command.index("--target") + 1])
        (target / "slack_sdk").mkdir()
        (target / "slack_sdk" / "__init__.py").write_text("")
        model = target / "botocore" / "data" / "bedrock" / "2023-04-20"
        model.mkdir(parents=True)
        (model / "service-2.json.gz").write_bytes(gzip.compress(b'{"shapes": {}}'))
        (model / "paginators-1.json").write_text("{}")
        (target / "botocore" / "__init__.py").write_text("")
        (target / "botocore-1.44.8.dist-info").mkdir()
        files = ["botocore/__init__.py", "botocore/data/bedrock/2023-04-20/service-2.json.gz"]
        files += ["botocore/data/bedrock/2023-04-20/paginators-1.json", "botocore-1.44.8.dist-info/RECORD"]
        (target / "botocore-1.44.8.dist-info" / "RECORD").write_text("".join(f"{f},,\n" for f in files))
        return type("Done", (), {"returncode": 0, "stderr": ""})()

    return run


def test_dependencies_are_installed_from_the_lock_once(sources: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    runs: list[list[str]] = []
    monkeypatch.setattr(bundling.subprocess, "run", fake_pip(runs))

    first = bundling.build_dependencies()
    again = bundling.build_dependencies()

    assert first == again
    assert len(runs) == 1
    (command,) = runs
    assert [command[i + 1] for i, arg in enumerate(command) if arg == "--platform"] == [
        "manylinux2014_aarch64",
        "manylinux_2_28_aarch64",
    ]
    assert command[command.index("--python-version") + 1] == "3.13"
    assert {"--only-binary=:all:", "--require-hashes", "--no-deps", "--no-compile"} <= set(command)
    assert command[command.index("-r") + 1] == str(bundling.LOCK)


def test_the_bedrock_model_ships_uncompressed_and_botocore_does_not(
    sources: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setattr(bundling.subprocess, "run", fake_pip([]))
    output = sources.parent / "asset"

    bundling.build_asset(output)

    assert sorted(p.relative_to(output).as_posix() for p in output.rglob("*") if p.is_file()) == [
        "notifier/__init__.py",
        "notifier/poller.py",
        "sdk-models/bedrock/2023-04-20/paginators-1.json",
        "sdk-models/bedrock/2023-04-20/service-2.json",
        "slack_sdk/__init__.py",
    ]
    assert json.loads((output / "sdk-models/bedrock/2023-04-20/service-2.json").read_text()) == {"shapes": {}}
    assert "ships WITHOUT bytecode: NOTIFIER_BYTECODE_PYTHON asks for none" in capsys.readouterr().err


def test_without_a_python_3_13_the_build_says_where_it_looked(
    sources: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setattr(bundling.subprocess, "run", fake_pip([]))
    monkeypatch.delenv(bundling.BYTECODE_PYTHON_VARIABLE)
    monkeypatch.setattr(bundling, "bytecode_python", lambda: None)

    bundling.build_asset(sources.parent / "asset")

    assert "ships WITHOUT bytecode: no Python 3.13 interpreter was found (tried python3.13 on PATH" in (
        capsys.readouterr().err
    )
    assert not list((sources.parent / "asset").rglob("__pycache__"))


def test_what_the_runtime_provides_is_not_shipped(tmp_path: Path) -> None:
    for name, package in (("botocore-1.0.dist-info", "botocore"), ("slack_sdk-3.0.dist-info", "slack_sdk")):
        (tmp_path / package).mkdir()
        (tmp_path / package / "__init__.py").write_text("")
        (tmp_path / name).mkdir()
        (tmp_path / name / "RECORD").write_text(f"{package}/__init__.py,,\n{name}/RECORD,,\n")

    bundling._strip_runtime_provided(tmp_path)

    assert sorted(p.name for p in tmp_path.iterdir()) == ["slack_sdk", "slack_sdk-3.0.dist-info"]


def test_bytecode_is_off_when_asked(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(bundling.BYTECODE_PYTHON_VARIABLE, "none")

    assert bundling.bytecode_python() is None


@pytest.mark.parametrize(("version", "says"), [("3.11", "is Python 3.11"), (None, "does not run")])
def test_a_configured_python_that_is_not_3_13_stops_the_synth(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, version: str | None, says: str
) -> None:
    python = fake_python(tmp_path / "python", version)
    monkeypatch.setenv(bundling.BYTECODE_PYTHON_VARIABLE, str(python))

    with pytest.raises(bundling.BundlingError, match=f"NOTIFIER_BYTECODE_PYTHON='{python}' {says}"):
        bundling.bytecode_python()


def test_a_python_3_13_is_found_past_a_broken_shim_newest_first(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    fake_python(tmp_path / "bin" / "python3.13", None)  # a pyenv shim for a version pyenv does not activate
    for version in ("3.13.9", "3.13.10", "3.12.1"):
        fake_python(tmp_path / "pyenv" / "versions" / version / "bin" / "python", version[:4])
    monkeypatch.delenv(bundling.BYTECODE_PYTHON_VARIABLE, raising=False)
    monkeypatch.setenv("PATH", f"{tmp_path / 'bin'}{os.pathsep}/usr/bin:/bin")
    monkeypatch.setenv("PYENV_ROOT", str(tmp_path / "pyenv"))
    monkeypatch.setattr(sys, "executable", str(tmp_path / "not-3.13"))

    assert bundling.bytecode_python() == str(tmp_path / "pyenv" / "versions" / "3.13.10" / "bin" / "python")

    monkeypatch.setenv("PYENV_ROOT", str(tmp_path / "nowhere"))
    assert bundling.bytecode_python() is None


@NO_PYTHON_313
def test_bytecode_is_compiled_for_3_13_and_never_checked_against_the_source(tmp_path: Path) -> None:
    (tmp_path / "pkg").mkdir()
    (tmp_path / "pkg" / "__init__.py").write_text("VALUE = 1\n")
    python = bundling.bytecode_python()
    assert python is not None

    bundling.compile_bytecode(tmp_path, python)

    (compiled,) = (tmp_path / "pkg" / "__pycache__").iterdir()
    assert compiled.name == "__init__.cpython-313.pyc"
    # PEP 552 flags: bit 0 hash-based, bit 1 check the source. The zip's fixed timestamps would defeat any check.
    assert int.from_bytes(compiled.read_bytes()[4:8], "little") == 0b01


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
