"""The functions' asset, built without Docker: pip fetches arm64 / CPython 3.13 wheels, then the code is copied in.

The runtime wheels are cached in build/ under a hash of requirements/runtime.txt and the pip arguments, and the
asset's hash covers that plus every file of functions/: unchanged code is neither reinstalled nor re-uploaded.
"""

from __future__ import annotations

import hashlib
import os
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
REQUIREMENTS = REPO_ROOT / "requirements" / "runtime.txt"
BUILD_DIR = REPO_ROOT / "build"
# Wheels for the Lambda platform, whatever machine synthesizes: no sdist builds, no host-compiled code.
PIP_TARGET_ARGS = (
    "--platform",
    "manylinux2014_aarch64",
    "--implementation",
    "cp",
    "--python-version",
    "3.13",
    "--only-binary=:all:",
)
# Distributions Lambda's Python runtime already provides (the SDK and its dependencies); not shipped twice.
RUNTIME_PROVIDED = frozenset({"boto3", "botocore", "s3transfer", "jmespath", "python-dateutil", "six", "urllib3"})
_FORMAT = "1"  # change when the way the asset is assembled changes
_SKIPPED_PARTS = {"__pycache__", ".pytest_cache", ".mypy_cache"}


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
        if path.is_file() and path.suffix != ".pyc" and not _SKIPPED_PARTS & set(path.parts)
    )


def dependencies_hash() -> str:
    return _digest(_FORMAT.encode(), " ".join(PIP_TARGET_ARGS).encode(), REQUIREMENTS.read_bytes())


def asset_hash() -> str:
    parts = [dependencies_hash().encode()]
    for relative in source_files():
        parts += [relative.as_posix().encode(), (FUNCTIONS_DIR / relative).read_bytes()]
    return _digest(*parts)


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


def build_dependencies() -> Path:
    """build/deps-<hash>/: the runtime wheels, installed once per requirements change."""
    final = BUILD_DIR / f"deps-{dependencies_hash()[:16]}"
    if final.is_dir():
        return final
    BUILD_DIR.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix="deps-building-", dir=BUILD_DIR))
    command = [sys.executable, "-m", "pip", "install", "--quiet", "--no-compile", "--disable-pip-version-check"]
    command += [*PIP_TARGET_ARGS, "--target", str(staging), "-r", str(REQUIREMENTS)]
    result = subprocess.run(command, capture_output=True, text=True, check=False)  # noqa: S603 (fixed arguments)
    if result.returncode != 0:
        shutil.rmtree(staging, ignore_errors=True)
        raise RuntimeError(f"pip could not install {REQUIREMENTS} for Lambda (arm64, Python 3.13):\n{result.stderr}")
    _strip_runtime_provided(staging)
    try:
        os.rename(staging, final)
    except OSError:
        # Another synth built the same dependencies meanwhile; theirs are as good.
        shutil.rmtree(staging, ignore_errors=True)
    return final


def build_asset(output_dir: Path) -> None:
    """The runtime dependencies, then the functions' code on top: notifier/ at the root, as the handlers expect."""
    shutil.copytree(build_dependencies(), output_dir, dirs_exist_ok=True)
    for relative in source_files():
        destination = output_dir / relative
        destination.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(FUNCTIONS_DIR / relative, destination)


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
