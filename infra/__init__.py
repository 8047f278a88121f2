"""The CDK app of the notifier: one stack, one construct per concern."""

from __future__ import annotations

from pathlib import Path

# The release, as in pyproject.toml and CHANGELOG.md and the NotifierVersion output (tests/infra/test_library.py keeps them equal).
__version__ = "0.2.0"

REPO_ROOT = Path(__file__).resolve().parent.parent
FUNCTIONS_DIR = REPO_ROOT / "functions"
