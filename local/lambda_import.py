"""A handler module imported as Lambda imports it: from the built asset, in a fresh interpreter, nothing else.

The asset is what synth builds (infra.bundling.build_asset). Beside it stands what Lambda's Python runtime provides
(boto3, botocore and their dependencies, with bytecode, as in /var/runtime): for this interpreter, this environment's
own SDK linked in; for another Python (the bench measures with a 3.13 like the runtime's), the same versions
installed for it once into build/ and compiled by it. The interpreter runs with -S (no site-packages), the asset
first on the path, and the function's environment as the stack sets it.

Used by the cold-start test (every handler module imports from the built asset, and what each loads) and by
`make bench` (how long each import takes).
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path

import boto3
import botocore

from infra import bundling
from local.runtime import POLLER, SLACK, function_environment

# What Lambda's Python runtime provides beside the handler's asset (importable names).
RUNTIME_MODULES = ("boto3", "botocore", "s3transfer", "jmespath", "dateutil", "six.py", "urllib3")
RUNTIME_DISTRIBUTIONS = ("boto3", "botocore", "s3transfer", "jmespath", "python-dateutil", "six", "urllib3")
# Stand-ins for the resources a function's environment names; nothing is called at import.
LOCAL_RESOURCES = {
    "AWS::DynamoDB::Table": "state",
    "AWS::SNS::Topic": "arn:aws:sns:us-east-1:123456789012:notifications",
    "AWS::SecretsManager::Secret": "arn:aws:secretsmanager:us-east-1:123456789012:secret:slack-AbC123",
}
HANDLER_MODULES = {POLLER: "notifier.poller", SLACK: "notifier.slack"}

CHILD = """
import json, sys, time
wall, cpu = time.perf_counter(), time.process_time()
import importlib
for name in sys.argv[1:]:
    importlib.import_module(name)
cpu, wall = time.process_time() - cpu, time.perf_counter() - wall
print(json.dumps({"wall_ms": wall * 1000, "cpu_ms": cpu * 1000, "modules": sorted(sys.modules)}))
"""


@dataclass(frozen=True)
class ImportResult:
    wall_ms: float
    cpu_ms: float
    modules: frozenset[str]

    def loaded(self, prefix: str) -> bool:
        """Whether a module named ``prefix`` or one inside it was imported."""
        return any(name == prefix or name.startswith(prefix + ".") for name in self.modules)


def build_asset(directory: Path, *, bytecode: bool = True) -> Path:
    """The function asset as synth builds it, in ``directory``; without bytecode when asked (or no 3.13 exists)."""
    previous = os.environ.get(bundling.BYTECODE_PYTHON_VARIABLE)
    if not bytecode:
        os.environ[bundling.BYTECODE_PYTHON_VARIABLE] = "none"
    try:
        bundling.build_asset(directory)
    finally:
        if previous is None:
            os.environ.pop(bundling.BYTECODE_PYTHON_VARIABLE, None)
        else:
            os.environ[bundling.BYTECODE_PYTHON_VARIABLE] = previous
    return directory


def python_version(python: str) -> str:
    result = subprocess.run(  # noqa: S603 - an interpreter asked for its version
        [python, "-c", "import sys; print('%d.%d' % sys.version_info[:2])"], capture_output=True, text=True, check=True
    )
    return result.stdout.strip()


def _installed_versions() -> dict[str, str]:
    from importlib.metadata import version

    return {name: version(name) for name in RUNTIME_DISTRIBUTIONS}


def runtime_directory(python: str = sys.executable) -> Path:
    """The SDK as Lambda's runtime provides it, for ``python``.

    For this interpreter, this environment's own modules linked into a scratch directory. For another one, the
    same versions installed once for its Python version into build/ and compiled by it, as /var/runtime ships them.
    """
    if Path(python).resolve() == Path(sys.executable).resolve():
        runtime = Path(tempfile.mkdtemp(prefix="lambda-runtime-"))
        site = Path(boto3.__file__).parent.parent
        for name in RUNTIME_MODULES:
            (runtime / name).symlink_to(site / name)
        return runtime
    version = python_version(python)
    pins = [f"{name}=={wanted}" for name, wanted in sorted(_installed_versions().items())]
    key = hashlib.sha256(" ".join([version, *pins]).encode()).hexdigest()[:16]
    final = bundling.BUILD_DIR / f"lambda-runtime-{version}-{key}"
    if final.is_dir():
        return final
    bundling.BUILD_DIR.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix="lambda-runtime-building-", dir=bundling.BUILD_DIR))
    install = [sys.executable, "-m", "pip", "install", "--quiet", "--no-compile", "--disable-pip-version-check"]
    install += ["--python-version", version, "--only-binary=:all:", "--no-deps", "--target", str(staging), *pins]
    subprocess.run(install, check=True, capture_output=True)  # noqa: S603 - fixed arguments
    bundling.compile_bytecode(staging, python)
    os.rename(staging, final)
    return final


def lambda_environment(handler: str, asset: Path, **extra: str) -> dict[str, str]:
    """The function's environment as the stack sets it, with the asset where /var/task would be."""
    variables = function_environment(handler, LOCAL_RESOURCES)
    variables = {name: value.replace(bundling.LAMBDA_TASK_ROOT, str(asset)) for name, value in variables.items()}
    return {
        "PATH": os.environ.get("PATH", ""),
        "HOME": str(asset),  # no ~/.aws of the caller's
        "LAMBDA_TASK_ROOT": str(asset),
        "AWS_LAMBDA_FUNCTION_NAME": handler.split(".")[1],
        "AWS_LAMBDA_FUNCTION_MEMORY_SIZE": "256",
        "AWS_REGION": "us-east-1",
        "AWS_DEFAULT_REGION": "us-east-1",
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        **variables,
        **extra,
    }


def import_in_lambda(
    asset: Path,
    runtime: Path,
    modules: list[str],
    environment: dict[str, str],
    python: str = sys.executable,
) -> ImportResult:
    """Import ``modules`` in a fresh ``python`` with only the asset and the runtime's SDK on its path."""
    env = {**environment, "PYTHONPATH": f"{asset}{os.pathsep}{runtime}", "PYTHONDONTWRITEBYTECODE": "1"}
    result = subprocess.run(  # noqa: S603 - a fixed command line; -S: no site-packages, as in Lambda
        [python, "-S", "-c", CHILD, *modules], env=env, capture_output=True, text=True, check=False
    )
    if result.returncode != 0:
        raise RuntimeError(f"importing {', '.join(modules)} from the asset failed:\n{result.stderr[-4000:]}")
    report = json.loads(result.stdout.strip().splitlines()[-1])
    return ImportResult(report["wall_ms"], report["cpu_ms"], frozenset(report["modules"]))


def remove(path: Path) -> None:
    shutil.rmtree(path, ignore_errors=True)


def sdk_versions() -> dict[str, str]:
    return {"boto3": boto3.__version__, "botocore": botocore.__version__}
