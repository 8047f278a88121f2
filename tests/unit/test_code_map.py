"""The code map in CONTRIBUTING.md, checked: which package of notifier may import which."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[2] / "functions" / "notifier"
FORBIDDEN = {
    "core": ("notifier.poller", "notifier.slack"),
    "poller": ("notifier.slack",),
    "slack": ("notifier.poller",),
}


def imported_modules(path: Path) -> set[str]:
    tree = ast.parse(path.read_text())
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module:
            names.add(node.module)
    return names


@pytest.mark.parametrize("package", sorted(FORBIDDEN))
def test_a_package_imports_only_what_the_code_map_allows(package: str) -> None:
    sources = sorted((PACKAGE / package).rglob("*.py"))
    assert sources, f"notifier.{package} has no modules"
    breaches = [
        f"{path.relative_to(PACKAGE)} imports {module}"
        for path in sources
        for module in imported_modules(path)
        if module.startswith(FORBIDDEN[package])
    ]
    assert breaches == []
