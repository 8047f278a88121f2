"""`make lock`: resolves requirements/runtime.txt for Lambda (arm64, CPython 3.13) and writes the whole set, each
wheel with its sha256, to requirements/runtime-lock.txt, which the asset is built from.

pip resolves for the Lambda platform, not for this machine (`--platform`, `--python-version`), so a dependency that
only Python 3.13 or only aarch64 needs is locked too. Run it after changing requirements/runtime.txt; the build
refuses a lock made from other requirements.
"""

from __future__ import annotations

import json
import subprocess
import sys
import tempfile
from pathlib import Path

from infra import bundling

HEADER = """\
# The Lambda asset's runtime dependencies: everything pip resolves from runtime.txt for arm64 / CPython {python},
# each pinned to the wheel it chose, by hash. Made by `make lock` (python -m infra.lock); do not edit by hand.
# Installed with --require-hashes --no-deps. What the runtime provides is removed from the asset after botocore's
# service models are taken from it: {provided}.
# source: requirements/runtime.txt sha256={digest}
"""


def resolve() -> list[dict[str, str]]:
    """name, version and sha256 of each distribution pip would install for Lambda."""
    with tempfile.TemporaryDirectory() as scratch:
        report = Path(scratch) / "report.json"
        command = [sys.executable, "-m", "pip", "install", "--quiet", "--disable-pip-version-check", "--dry-run"]
        command += ["--ignore-installed", "--report", str(report), *bundling.PIP_TARGET_ARGS]
        command += ["-r", str(bundling.REQUIREMENTS)]
        result = subprocess.run(command, capture_output=True, text=True, check=False)  # noqa: S603 (fixed arguments)
        if result.returncode != 0:
            raise bundling.BundlingError(f"pip could not resolve {bundling.REQUIREMENTS}:\n{result.stderr}")
        installs = json.loads(report.read_text())["install"]
    resolved = []
    for item in installs:
        name, version = item["metadata"]["name"], item["metadata"]["version"]
        sha256 = item["download_info"].get("archive_info", {}).get("hashes", {}).get("sha256")
        if not sha256:
            raise bundling.BundlingError(f"pip reported no sha256 for {name} {version}; cannot lock it")
        resolved.append({"name": name.lower().replace("_", "-"), "version": version, "sha256": sha256})
    return sorted(resolved, key=lambda item: item["name"])


def render(resolved: list[dict[str, str]]) -> str:
    header = HEADER.format(
        python=bundling.PYTHON_VERSION,
        provided=", ".join(sorted(bundling.RUNTIME_PROVIDED)),
        digest=bundling.requirements_digest(),
    )
    lines = [f"{item['name']}=={item['version']} \\\n    --hash=sha256:{item['sha256']}" for item in resolved]
    return header + "\n".join(lines) + "\n"


def main() -> None:
    bundling.LOCK.write_text(render(resolve()))
    print(f"wrote {bundling.LOCK.relative_to(bundling.REPO_ROOT)}")


if __name__ == "__main__":
    main()
