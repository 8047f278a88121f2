"""Every module of the notifier imports from the built asset as Lambda imports it, and no more than it needs.

The asset is the one synth builds (the locked wheels, the parts the code never imports left out, bytecode when a
Python 3.13 is here); it is imported in a fresh interpreter without site-packages, beside this environment's SDK
as the runtime provides it, with each function's environment as the stack sets it. How long the imports take is
measured by `make bench`, not here.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from infra import bundling
from local import lambda_import
from local.runtime import POLLER, SLACK

pytestmark = pytest.mark.slow

# The package each function's modules live in, beside the shared notifier.core.
PACKAGES = {POLLER: "poller", SLACK: "slack"}


@pytest.fixture(scope="module")
def asset(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return lambda_import.build_asset(tmp_path_factory.mktemp("asset"))


@pytest.fixture(scope="module")
def runtime() -> Path:
    return lambda_import.runtime_directory()


def modules_of(asset: Path, package: str) -> list[str]:
    """Every module of notifier.core and of the function's own package, as the asset holds them."""
    found = []
    for part in ("core", package):
        for path in sorted((asset / "notifier" / part).glob("*.py")):
            name = f"notifier.{part}" if path.stem == "__init__" else f"notifier.{part}.{path.stem}"
            found.append(name)
    return found


@pytest.mark.parametrize("handler", [POLLER, SLACK])
def test_every_module_of_each_function_imports_from_the_built_asset(asset: Path, runtime: Path, handler: str) -> None:
    modules = modules_of(asset, PACKAGES[handler])
    assert len(modules) > 5

    result = lambda_import.import_in_lambda(asset, runtime, modules, lambda_import.lambda_environment(handler, asset))

    assert set(modules) <= result.modules


@pytest.mark.parametrize("handler", [POLLER, SLACK])
def test_with_tracing_off_a_cold_start_does_not_import_the_xray_sdk(asset: Path, runtime: Path, handler: str) -> None:
    environment = lambda_import.lambda_environment(handler, asset)
    assert environment.get("TRACING") == "false", "the stack's default"

    result = lambda_import.import_in_lambda(asset, runtime, [lambda_import.HANDLER_MODULES[handler]], environment)

    assert not result.loaded("aws_xray_sdk.core")


@pytest.mark.parametrize("handler", [POLLER, SLACK])
def test_with_tracing_on_the_handler_is_traced_through_botocore(asset: Path, runtime: Path, handler: str) -> None:
    environment = lambda_import.lambda_environment(handler, asset, TRACING="true")

    result = lambda_import.import_in_lambda(asset, runtime, [lambda_import.HANDLER_MODULES[handler]], environment)

    assert result.loaded("aws_xray_sdk.core")
    assert result.loaded("aws_xray_sdk.ext.botocore")
    assert result.loaded("aws_xray_sdk.ext.httplib")


def test_the_asset_leaves_out_what_the_code_never_imports(asset: Path) -> None:
    for part in bundling.UNUSED_DEPENDENCY_PARTS:
        assert not (asset / part).exists(), part
    assert (asset / "aws_lambda_powertools" / "utilities" / "idempotency").is_dir()
    assert (asset / "slack_sdk" / "web" / "client.py").is_file()


@pytest.mark.skipif(bundling.bytecode_python() is None, reason="no Python 3.13 here: the asset has no bytecode")
def test_every_module_of_the_asset_has_bytecode_for_the_runtime(asset: Path) -> None:
    sources = list(asset.rglob("*.py"))
    missing = [p for p in sources if not (p.parent / "__pycache__" / f"{p.stem}.cpython-313.pyc").is_file()]

    assert len(sources) > 100
    assert missing == []
