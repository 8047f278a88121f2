"""The Makefile's prerequisite checks, run for real on a copy of the Makefile with stand-in interpreters."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from infra import REPO_ROOT

PREREQUISITES = ("Makefile", "pyproject.toml", "requirements/runtime.txt", "requirements/dev.txt")


@pytest.fixture
def project(tmp_path: Path) -> Path:
    """The Makefile and the files its Python stamp depends on, nothing else: no .venv, no node_modules."""
    for name in PREREQUISITES:
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy(REPO_ROOT / name, tmp_path / name)
    return tmp_path


def fake_python(directory: Path, version: str) -> Path:
    """An interpreter that answers every question with its version, as a 3.9 asked for its version would."""
    path = directory / f"python{version}"
    path.write_text(f"#!/bin/sh\necho {version}\n")
    path.chmod(0o755)
    return path


def make(project: Path, *arguments: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("MAKE", "MFLAGS"))}
    return subprocess.run(  # noqa: S603
        ["make", "--no-print-directory", "-C", str(project), *arguments],  # noqa: S607
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def test_a_python_older_than_3_11_stops_make_in_one_line(project: Path) -> None:
    python = fake_python(project, "3.9")

    result = make(project, "setup", f"PYTHON={python}")

    assert result.returncode != 0
    (line,) = result.stderr.strip().splitlines()
    assert f"{python} is Python 3.9; this project needs Python 3.11 or newer" in line
    assert "PYTHON=" in line  # how to name another one
    assert not (project / ".venv").exists()


def test_a_python_that_does_not_run_stops_make_in_one_line(project: Path) -> None:
    result = make(project, "lint", f"PYTHON={project / 'no-such-python'}")

    assert result.returncode != 0
    (line,) = result.stderr.strip().splitlines()
    assert "does not run: install Python 3.11 or newer" in line


def test_a_broken_venv_is_rebuilt_not_reused(project: Path) -> None:
    # Given a .venv whose interpreter is gone (its base Python was removed), stamped as installed
    bin_dir = project / ".venv" / "bin"
    bin_dir.mkdir(parents=True)
    (bin_dir / "python").symlink_to(project / "removed-python3.11")
    (project / ".venv" / ".installed").touch()
    python = fake_python(project, "3.9")

    # When make needs the virtualenv
    result = make(project, "setup", f"PYTHON={python}")

    # Then it says so and goes on to rebuild it (here with a Python that is too old, so it stops there)
    assert ".venv does not run or is older than Python 3.11: rebuilding it" in result.stdout
    assert "is Python 3.9" in result.stderr
    assert not (project / ".venv" / ".installed").exists()


def test_a_working_venv_is_reused(project: Path) -> None:
    bin_dir = project / ".venv" / "bin"
    bin_dir.mkdir(parents=True)
    (bin_dir / "python").symlink_to(sys.executable)
    (project / ".venv" / ".installed").touch()

    result = make(project, "--question", ".venv/.installed", f"PYTHON={fake_python(project, '3.9')}")

    assert result.returncode == 0, result.stdout + result.stderr  # up to date: nothing to rebuild
    assert "rebuilding" not in result.stdout


def test_help_needs_no_python(project: Path) -> None:
    result = make(project, "help", f"PYTHON={fake_python(project, '3.9')}")

    assert result.returncode == 0
    assert "make test-notification" in result.stdout


def test_the_node_check_fails_under_20_and_warns_under_22(project: Path) -> None:
    bin_dir = project / "fake-bin"
    bin_dir.mkdir()
    node = bin_dir / "node"
    env_path = f"{bin_dir}{os.pathsep}{os.environ['PATH']}"

    def check(version: str) -> subprocess.CompletedProcess[str]:
        node.write_text(f"#!/bin/sh\necho {version}\n")
        node.chmod(0o755)
        return subprocess.run(  # noqa: S603
            ["make", "--no-print-directory", "-C", str(project), "node-check", f"PYTHON={sys.executable}"],  # noqa: S607
            env={**os.environ, "PATH": env_path},
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )

    too_old, end_of_life, current = check("18.20.4"), check("20.20.2"), check("22.11.0")

    assert too_old.returncode != 0
    assert "error: Node.js 18.20.4 is too old for the CDK CLI: install Node.js 22 or newer" in too_old.stderr
    assert end_of_life.returncode == 0
    assert "warning: Node.js 20.20.2 is end of life" in end_of_life.stderr
    assert (current.returncode, current.stderr) == (0, "")


def test_jsii_is_told_to_silence_its_end_of_life_banner_for_node_20() -> None:
    """The DEPRECATED variable does not cover an end-of-life Node.js; this one takes the major versions."""
    makefile = (REPO_ROOT / "Makefile").read_text()

    assert "export JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION := 20" in makefile


def test_synth_says_where_the_template_went(tmp_path: Path) -> None:
    from tools.templates import template_paths

    (tmp_path / "manifest.json").write_text(
        '{"artifacts": {"BedrockBatchNotifier": {"type": "aws:cloudformation:stack", "properties": '
        '{"templateFile": "BedrockBatchNotifier.template.json", "stackName": "BedrockBatchNotifier"}},'
        ' "Tree": {"type": "cdk:tree", "properties": {"file": "tree.json"}}}}'
    )

    assert template_paths(tmp_path) == {"BedrockBatchNotifier": tmp_path / "BedrockBatchNotifier.template.json"}
