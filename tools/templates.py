"""`python -m tools.templates [cdk.out]`: where `cdk synth` wrote each stack's template (from the cloud assembly)."""

from __future__ import annotations

import json
import sys
from pathlib import Path

STACK_ARTIFACT = "aws:cloudformation:stack"


def template_paths(cloud_assembly: Path) -> dict[str, Path]:
    """Stack name -> its template file, as the assembly's manifest.json lists them."""
    manifest = json.loads((cloud_assembly / "manifest.json").read_text())
    return {
        artifact.get("properties", {}).get("stackName", name): cloud_assembly / artifact["properties"]["templateFile"]
        for name, artifact in manifest.get("artifacts", {}).items()
        if artifact.get("type") == STACK_ARTIFACT
    }


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    cloud_assembly = Path(args[0] if args else "cdk.out")
    for stack, path in template_paths(cloud_assembly).items():
        print(f"Template of stack {stack}: {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
