"""The built asset parses Bedrock's record counts even on a Lambda runtime whose botocore predates them.

The asset's code runs in a subprocess without site-packages, as Lambda runs it: the asset first on the path, then a
stand-in for the runtime's /var/runtime whose botocore has a Bedrock model without the four record counts (an older
model). Only the stack's AWS_DATA_PATH, pointing at the asset's own models, brings the counts back.
"""

from __future__ import annotations

import gzip
import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import boto3
import botocore
import pytest

from infra import bundling
from infra.config import NotifierConfig
from infra.poller import poller_environment
from local.bedrock_emulator import BedrockEmulator
from notifier.core.settings import SDK_DATA_PATH
from tests.fixtures.aws import REGION

pytestmark = pytest.mark.slow

RECORD_COUNTS = ("totalRecordCount", "processedRecordCount", "successRecordCount", "errorRecordCount")
# What Lambda's Python runtime provides beside the SDK itself; linked from this environment unchanged.
RUNTIME_MODULES = ("boto3", "s3transfer", "jmespath", "dateutil", "six.py", "urllib3")
READ_JOB = """
import json, sys
import botocore
from notifier.poller.bedrock import BedrockJobs
job = BedrockJobs().get(sys.argv[1])
print(json.dumps({"botocore": botocore.__file__, "records": vars(job.records)}))
"""


@pytest.fixture(scope="module")
def asset(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The function asset as synth builds it (the locked wheels, cached in build/), without bytecode to save time."""
    output = tmp_path_factory.mktemp("asset")
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv(bundling.BYTECODE_PYTHON_VARIABLE, "none")
        bundling.build_asset(output)
    return output


def old_bedrock_model(directory: Path) -> int:
    """Bedrock's model of this botocore with the record counts taken out; how many members were removed."""
    source = Path(botocore.__file__).parent / "data" / "bedrock"
    removed = 0
    for version in source.iterdir():
        (directory / version.name).mkdir(parents=True)
        for path in version.iterdir():
            if not path.name.startswith("service-2."):
                (directory / version.name / path.name).symlink_to(path)
                continue
            model = json.loads(gzip.decompress(path.read_bytes()) if path.suffix == ".gz" else path.read_bytes())
            for shape in model["shapes"].values():
                for name in RECORD_COUNTS:
                    removed += shape.get("members", {}).pop(name, None) is not None
            (directory / version.name / "service-2.json").write_text(json.dumps(model))
    return removed


@pytest.fixture(scope="module")
def old_runtime(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A /var/runtime stand-in: this environment's SDK, but botocore's Bedrock model from before the record counts."""
    runtime = tmp_path_factory.mktemp("runtime")
    site = Path(boto3.__file__).parent.parent
    for name in RUNTIME_MODULES:
        (runtime / name).symlink_to(site / name)
    real = Path(botocore.__file__).parent
    (runtime / "botocore" / "data").mkdir(parents=True)
    for entry in real.iterdir():
        if entry.name != "data":
            (runtime / "botocore" / entry.name).symlink_to(entry)
    for entry in (real / "data").iterdir():
        if entry.name != "bedrock":
            (runtime / "botocore" / "data" / entry.name).symlink_to(entry)
    assert old_bedrock_model(runtime / "botocore" / "data" / "bedrock") >= len(RECORD_COUNTS)
    return runtime


def read_job_in_lambda(asset: Path, runtime: Path, bedrock: BedrockEmulator, job_arn: str, **env: str) -> Any:
    environment = {
        "PATH": os.environ["PATH"],
        "PYTHONPATH": f"{asset}{os.pathsep}{runtime}",
        "HOME": str(runtime),  # no ~/.aws/models of the caller's
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_REGION": REGION,
        "AWS_DEFAULT_REGION": REGION,
        "AWS_ENDPOINT_URL_BEDROCK": bedrock.url,
        **env,
    }
    result = subprocess.run(  # noqa: S603 - a fixed command line; -S: no site-packages, as in Lambda
        [sys.executable, "-S", "-c", READ_JOB, job_arn], env=environment, capture_output=True, text=True, check=False
    )
    assert result.returncode == 0, result.stderr[-3000:]
    return json.loads(result.stdout.splitlines()[-1])


def test_the_asset_reads_record_counts_through_its_own_bedrock_model(
    asset: Path, old_runtime: Path, bedrock: BedrockEmulator
) -> None:
    arn = bedrock.create_job("nightly-eval", status="InProgress")
    bedrock.set_status(arn, "PartiallyCompleted", records={"total": 100, "processed": 100, "success": 98, "error": 2})
    # As the stack sets it, with the asset where Lambda unpacks it.
    stack_env = poller_environment(NotifierConfig(), table_name="state", topic_arn="arn:aws:sns:r:1:t")
    data_path = stack_env[str(SDK_DATA_PATH.env)].replace(bundling.LAMBDA_TASK_ROOT, str(asset), 1)

    without = read_job_in_lambda(asset, old_runtime, bedrock, arn)
    with_models = read_job_in_lambda(asset, old_runtime, bedrock, arn, AWS_DATA_PATH=data_path)

    assert Path(with_models["botocore"]).is_relative_to(old_runtime), "the runtime's botocore, not one of the asset's"
    assert without["records"] == {"total": None, "processed": None, "success": None, "error": None}, (
        "the simulated runtime drops the counts"
    )
    assert with_models["records"] == {"total": 100, "processed": 100, "success": 98, "error": 2}
