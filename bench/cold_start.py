"""Cold start: each handler module imported from the built asset as Lambda imports it, beside its target.

The asset is built as synth builds it; each import runs in a fresh Python 3.13 (the runtime's version, when this
machine has one) with only the asset and the runtime's SDK on its path (local.lambda_import), RUNS times. Wall time
on a shared machine is noisy: the minimum is the figure compared with the target, the median is shown beside it,
and the CPU time of the import (less sensitive to other load) too.
"""

from __future__ import annotations

import statistics
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path

from infra import bundling
from local import lambda_import
from local.runtime import POLLER, SLACK

RUNS = 9
TARGET_MS = {POLLER: 250, SLACK: 350}


@dataclass(frozen=True)
class ColdStart:
    label: str
    handler: str
    wall_min: float
    wall_median: float
    cpu_min: float
    modules: int

    @property
    def target(self) -> int:
        return TARGET_MS[self.handler]


def measure(label: str, asset: Path, runtime: Path, python: str, handler: str, **env: str) -> ColdStart:
    environment = lambda_import.lambda_environment(handler, asset, **env)
    module = lambda_import.HANDLER_MODULES[handler]
    results = [lambda_import.import_in_lambda(asset, runtime, [module], environment, python) for _ in range(RUNS)]
    walls = [r.wall_ms for r in results]
    return ColdStart(
        label, handler, min(walls), statistics.median(walls), min(r.cpu_ms for r in results), len(results[0].modules)
    )


def asset_bytes(asset: Path) -> int:
    return sum(path.stat().st_size for path in asset.rglob("*") if path.is_file())


def run() -> list[ColdStart]:
    python = bundling.bytecode_python() or sys.executable
    version = lambda_import.python_version(python)
    print(f"Cold start (import of each handler from the built asset, Python {version}, min of {RUNS} runs)")
    runtime = lambda_import.runtime_directory(python)
    rows: list[ColdStart] = []
    with tempfile.TemporaryDirectory(prefix="bench-asset-") as scratch:
        asset = lambda_import.build_asset(Path(scratch) / "asset")
        bytecode = any(asset.rglob("*.cpython-313.pyc"))
        print(f"  asset: {asset_bytes(asset) / 1e6:.1f} MB, bytecode for 3.13: {'yes' if bytecode else 'no'}")
        for handler in (POLLER, SLACK):
            rows.append(measure("as deployed (tracing off)", asset, runtime, python, handler))
            rows.append(measure("tracing on", asset, runtime, python, handler, TRACING="true"))
        bare = lambda_import.build_asset(Path(scratch) / "bare", bytecode=False)
        for handler in (POLLER, SLACK):
            rows.append(measure("asset without bytecode", bare, runtime, python, handler))
    print_table(rows)
    return rows


def print_table(rows: list[ColdStart]) -> None:
    print("\n| handler | asset | wall ms, min (target) | wall ms, median | CPU ms, min | modules loaded |")
    print("|---|---|---|---|---|---|")
    for r in rows:
        verdict = "under" if r.wall_min < r.target else "OVER"
        print(
            f"| {lambda_import.HANDLER_MODULES[r.handler]} | {r.label} | {r.wall_min:.0f} ({r.target}, {verdict}) "
            f"| {r.wall_median:.0f} | {r.cpu_min:.0f} | {r.modules} |"
        )


if __name__ == "__main__":
    run()
