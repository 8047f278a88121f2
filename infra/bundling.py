"""The functions' asset, built without Docker: pip installs the locked arm64 / CPython 3.13 wheels, the code is
copied in, and a Python 3.13 interpreter, when this machine has one, compiles it all to bytecode.

requirements/runtime.txt names what the functions import; requirements/runtime-lock.txt (`make lock`) is the whole
set pip resolved from it for Lambda, each wheel with its hash. The installed wheels are cached in build/ under a hash
of the lock file and the pip arguments, and the asset's hash covers that, the bytecode's Python version and every
file of functions/: unchanged code is neither reinstalled nor re-uploaded.
"""

from __future__ import annotations

import gzip
import hashlib
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

import jsii
from aws_cdk import AssetHashType, BundlingOptions, DockerImage, ILocalBundling
from aws_cdk import aws_lambda as lambda_

from infra import FUNCTIONS_DIR, REPO_ROOT

RUNTIME = lambda_.Runtime.PYTHON_3_13
ARCHITECTURE = lambda_.Architecture.ARM_64
PYTHON_VERSION = "3.13"  # RUNTIME's; the wheels and the bytecode are for this version only
REQUIREMENTS = REPO_ROOT / "requirements" / "runtime.txt"
LOCK = REPO_ROOT / "requirements" / "runtime-lock.txt"
BUILD_DIR = REPO_ROOT / "build"
# Wheels for the Lambda platform, whatever machine synthesizes: no sdist builds, no host-compiled code. Python 3.13 on
# Lambda runs on Amazon Linux 2023 (glibc 2.34): a wheel built for manylinux2014 (glibc 2.17) or for glibc 2.28 runs
# there, and some releases publish only the newer tag.
PIP_TARGET_ARGS = (
    "--platform",
    "manylinux2014_aarch64",
    "--platform",
    "manylinux_2_28_aarch64",
    "--implementation",
    "cp",
    "--python-version",
    PYTHON_VERSION,
    "--only-binary=:all:",
)
# Distributions Lambda's Python runtime already provides (the SDK and its dependencies); not shipped twice.
RUNTIME_PROVIDED = frozenset({"boto3", "botocore", "s3transfer", "jmespath", "python-dateutil", "six", "urllib3"})
# The runtime's botocore may predate fields the code reads (Bedrock's record counts): the asset carries the service
# models of the locked botocore for these services, and the stack puts SDK_MODELS_DIR on AWS_DATA_PATH, which
# botocore searches before its own data. Models only, not the SDK: nothing more to import at a cold start.
SHIPPED_SERVICE_MODELS = ("bedrock",)
# Parts of the dependencies the functions never import, left out of the asset: most of its bytes (Powertools'
# event_handler alone is 2.9 MB), unzipped on every cold start for nothing. Powertools features other than logging,
# metrics, tracing, batch, idempotency and parameters; slack_sdk's asyncio, legacy, OAuth, Socket Mode, RTM, SCIM,
# audit-log and signature clients, and its deprecated `slack` package. tests/integration/test_asset_imports.py
# imports every module of the notifier package from the built asset, so a part the code starts to use fails a test.
UNUSED_DEPENDENCY_PARTS = (
    *(
        f"aws_lambda_powertools/{part}"
        for part in (
            "event_handler",
            "utilities/auth_alpha",
            "utilities/circuit_breaker",
            "utilities/data_masking",
            "utilities/feature_flags",
            "utilities/kafka",
            "utilities/parser",
            "utilities/streaming",
            "utilities/validation",
        )
    ),
    "slack",
    *(f"slack_sdk/{part}" for part in ("audit_logs", "oauth", "rtm", "rtm_v2", "scim", "signature", "socket_mode")),
    *(
        f"slack_sdk/web/{name}.py"
        for name in (
            "async_base_client",
            "async_chat_stream",
            "async_client",
            "async_internal_utils",
            "async_slack_response",
            "legacy_base_client",
            "legacy_client",
            "legacy_slack_response",
        )
    ),
    "slack_sdk/webhook/async_client.py",
)

SDK_MODELS_DIR = "sdk-models"
LAMBDA_TASK_ROOT = "/var/task"  # where Lambda unpacks the asset
# Which Python compiles the bytecode: a command or a path to a Python 3.13, or "none" to ship none.
BYTECODE_PYTHON_VARIABLE = "NOTIFIER_BYTECODE_PYTHON"
_NONE = {"none", "off", "false", "0"}
_FORMAT = "3"  # change when the way the asset is assembled changes
_SKIPPED_PARTS = {"__pycache__", ".pytest_cache", ".mypy_cache"}
_LOCK_SOURCE = re.compile(r"^# source: requirements/runtime\.txt sha256=([0-9a-f]{64})$", re.MULTILINE)


class BundlingError(RuntimeError):
    """The asset cannot be built as configured; the message says what to change."""


def _digest(*parts: bytes) -> str:
    digest = hashlib.sha256()
    for part in parts:
        digest.update(len(part).to_bytes(8, "big"))
        digest.update(part)
    return digest.hexdigest()


def source_files() -> list[Path]:
    """The files of the notifier package that go into the asset, as paths relative to it, in a stable order."""
    return sorted(
        path.relative_to(FUNCTIONS_DIR)
        for path in (FUNCTIONS_DIR / "notifier").rglob("*")
        if path.is_file()
        and path.suffix != ".pyc"
        and not _SKIPPED_PARTS & set(path.parts)
        # The editable install of the project (make setup) writes its metadata here; it is not code.
        and not any(part.endswith(".egg-info") for part in path.parts)
    )


def requirements_digest() -> str:
    return hashlib.sha256(REQUIREMENTS.read_bytes()).hexdigest()


def checked_lock() -> bytes:
    """The lock file, once it is known to be made from the requirements as they are now."""
    if not LOCK.is_file():
        raise BundlingError(f"{LOCK} is missing: run `make lock` to resolve {REQUIREMENTS.name} for Lambda")
    text = LOCK.read_bytes()
    recorded = _LOCK_SOURCE.search(text.decode())
    if recorded is None or recorded.group(1) != requirements_digest():
        raise BundlingError(f"{LOCK.name} was not made from the current {REQUIREMENTS.name}: run `make lock`")
    return text


def dependencies_hash() -> str:
    return _digest(_FORMAT.encode(), " ".join(PIP_TARGET_ARGS).encode(), checked_lock())


def _version_of(command: str) -> str | None:
    try:
        result = subprocess.run(  # noqa: S603 (an interpreter asked for its version)
            [command, "-c", "import sys; print('%d.%d' % sys.version_info[:2])"],
            capture_output=True,
            text=True,
            timeout=30,
            check=False,
        )
    except (OSError, subprocess.TimeoutExpired):
        return None
    return result.stdout.strip() if result.returncode == 0 else None


def _pyenv_pythons() -> list[str]:
    """pyenv's Python 3.13 builds, the newest patch release first (3.13.10 before 3.13.9)."""
    versions = Path(os.environ.get("PYENV_ROOT") or Path.home() / ".pyenv") / "versions"
    found = versions.glob(f"{PYTHON_VERSION}*/bin/python")
    newest_first = sorted(found, key=lambda p: [int(n) for n in re.findall(r"\d+", p.parent.parent.name)], reverse=True)
    return [str(path) for path in newest_first]


def bytecode_python() -> str | None:
    """The Python 3.13 that compiles the asset's bytecode, or None when there is none (the asset ships without).

    NOTIFIER_BYTECODE_PYTHON names it (a command or a path; "none" ships no bytecode); otherwise the first of this
    interpreter, `python3.13` on PATH and pyenv's 3.13 builds that answers as Python 3.13.
    """
    configured = os.environ.get(BYTECODE_PYTHON_VARIABLE, "").strip()
    if configured.lower() in _NONE:
        return None
    if configured:
        version = _version_of(configured)
        if version != PYTHON_VERSION:
            found = f"is Python {version}" if version else "does not run"
            raise BundlingError(
                f"{BYTECODE_PYTHON_VARIABLE}={configured!r} {found} (accepted: a command or path of a Python "
                f"{PYTHON_VERSION} interpreter, or none to ship the asset without bytecode)"
            )
        return configured
    candidates = [sys.executable, f"python{PYTHON_VERSION}", *_pyenv_pythons()]
    return next((c for c in candidates if _version_of(c) == PYTHON_VERSION), None)


def asset_hash() -> str:
    bytecode = PYTHON_VERSION if bytecode_python() else "none"
    parts = [dependencies_hash().encode(), f"bytecode={bytecode}".encode()]
    for relative in source_files():
        parts += [relative.as_posix().encode(), (FUNCTIONS_DIR / relative).read_bytes()]
    return _digest(*parts)


def _ship_service_models(target: Path) -> None:
    """Copies the locked botocore's models of SHIPPED_SERVICE_MODELS to SDK_MODELS_DIR, uncompressed: any botocore
    reads plain JSON, and only newer ones read the .json.gz files botocore ships today."""
    for service in SHIPPED_SERVICE_MODELS:
        source = target / "botocore" / "data" / service
        if not source.is_dir():
            raise BundlingError(f"the locked botocore has no model for {service}: is botocore in {LOCK.name}?")
        for path in source.rglob("*.json*"):
            destination = target / SDK_MODELS_DIR / service / path.relative_to(source)
            destination = destination.with_name(destination.name.removesuffix(".gz"))
            destination.parent.mkdir(parents=True, exist_ok=True)
            data = gzip.decompress(path.read_bytes()) if path.suffix == ".gz" else path.read_bytes()
            json.loads(data)  # a model botocore could not read is a build error, not a cold-start one
            destination.write_bytes(data)


def _strip_runtime_provided(target: Path) -> None:
    """Removes what pip installed for distributions the Lambda runtime has, file by file from their RECORD."""
    for dist_info in target.glob("*.dist-info"):
        name = dist_info.name.split("-")[0].lower().replace("_", "-")
        if name not in RUNTIME_PROVIDED:
            continue
        for line in (dist_info / "RECORD").read_text().splitlines():
            (target / line.split(",")[0]).unlink(missing_ok=True)
        shutil.rmtree(dist_info, ignore_errors=True)
    shutil.rmtree(target / "bin", ignore_errors=True)
    for directory in sorted((p for p in target.rglob("*") if p.is_dir()), key=lambda p: len(p.parts), reverse=True):
        if directory.name == "__pycache__" or not any(directory.iterdir()):
            shutil.rmtree(directory, ignore_errors=True)


def _strip_unused(target: Path) -> None:
    for part in UNUSED_DEPENDENCY_PARTS:
        path = target / part
        if path.is_dir():
            shutil.rmtree(path)
        else:
            path.unlink(missing_ok=True)


def build_dependencies() -> Path:
    """build/deps-<hash>/: the locked runtime wheels, installed once per lock file."""
    final = BUILD_DIR / f"deps-{dependencies_hash()[:16]}"
    if final.is_dir():
        return final
    BUILD_DIR.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix="deps-building-", dir=BUILD_DIR))
    command = [sys.executable, "-m", "pip", "install", "--quiet", "--no-compile", "--disable-pip-version-check"]
    # --no-deps: the lock is the whole set; --require-hashes: each wheel is the one that was locked.
    command += [*PIP_TARGET_ARGS, "--no-deps", "--require-hashes", "--target", str(staging), "-r", str(LOCK)]
    result = subprocess.run(command, capture_output=True, text=True, check=False)  # noqa: S603 (fixed arguments)
    if result.returncode != 0:
        shutil.rmtree(staging, ignore_errors=True)
        raise BundlingError(
            f"pip could not install {LOCK} for Lambda (arm64, Python {PYTHON_VERSION}):\n{result.stderr}"
        )
    _ship_service_models(staging)
    _strip_runtime_provided(staging)
    _strip_unused(staging)
    try:
        os.rename(staging, final)
    except OSError:
        # Another synth built the same dependencies meanwhile; theirs are as good.
        shutil.rmtree(staging, ignore_errors=True)
    return final


def compile_bytecode(directory: Path, python: str) -> None:
    """__pycache__/*.cpython-313.pyc beside every module, checked against nothing at import.

    Lambda's file system is read-only, so without these every cold start compiles what it imports. Hash-based and
    unchecked: the zip CDK makes carries fixed timestamps, which would make timestamp-checked bytecode look stale,
    and the asset never changes under the bytecode (a code change is a new asset).
    """
    command = [python, "-m", "compileall", "-q", "--invalidation-mode", "unchecked-hash", str(directory)]
    result = subprocess.run(command, capture_output=True, text=True, check=False)  # noqa: S603 (fixed arguments)
    if result.returncode != 0:
        raise BundlingError(f"{python} could not compile the asset to bytecode:\n{result.stdout}{result.stderr}")


def build_asset(output_dir: Path) -> None:
    """The runtime dependencies, then the functions' code on top (notifier/ at the root, as the handlers expect),
    then bytecode for all of it."""
    shutil.copytree(build_dependencies(), output_dir, dirs_exist_ok=True)
    for relative in source_files():
        destination = output_dir / relative
        destination.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(FUNCTIONS_DIR / relative, destination)
    python = bytecode_python()
    if python is None:
        why = (
            f"{BYTECODE_PYTHON_VARIABLE} asks for none"
            if os.environ.get(BYTECODE_PYTHON_VARIABLE, "").strip()
            else f"no Python {PYTHON_VERSION} interpreter was found (tried python{PYTHON_VERSION} on PATH and "
            f"~/.pyenv/versions/{PYTHON_VERSION}*; set {BYTECODE_PYTHON_VARIABLE} to one)"
        )
        print(
            f"notifier: the Lambda asset ships WITHOUT bytecode: {why}. Each cold start compiles what it imports.",
            file=sys.stderr,
        )
        return
    compile_bytecode(output_dir, python)


@jsii.implements(ILocalBundling)
class LocalPipBundling:
    """CDK's local bundling hook: builds the asset on this machine, so Docker is never needed."""

    def try_bundle(self, output_dir: str, *, image: DockerImage, **_options: Any) -> bool:
        build_asset(Path(output_dir))
        return True


def function_code() -> lambda_.Code:
    """One asset for both functions. Bundling is skipped when the context asks (infra tests); the hash stays."""
    return lambda_.Code.from_asset(
        str(FUNCTIONS_DIR),
        asset_hash=asset_hash(),
        asset_hash_type=AssetHashType.CUSTOM,
        bundling=BundlingOptions(image=RUNTIME.bundling_image, local=LocalPipBundling()),
    )
