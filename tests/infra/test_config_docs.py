"""The README's configuration tables are the settings table's, and say every key and variable."""

from __future__ import annotations

from infra import config_docs
from notifier.core.settings import SETTINGS


def test_the_readme_holds_the_tables_generated_from_the_settings() -> None:
    readme = config_docs.README.read_text(encoding="utf-8")

    assert config_docs.render(readme) == readme, "README.md's configuration table is out of date: make config-table"


def test_every_key_and_variable_has_its_row() -> None:
    block = config_docs.block()

    for setting in SETTINGS:
        name = setting.key or setting.env
        row = next(line for line in block.splitlines() if line.startswith(f"| `{name}` |"))
        assert setting.shown_default in row
        assert setting.accepted in row or (setting.env and not setting.key)
        assert setting.doc in row


def test_a_drifted_readme_is_caught() -> None:
    readme = config_docs.README.read_text(encoding="utf-8")
    drifted = readme.replace("| `scheduleMinutes` | 5 |", "| `scheduleMinutes` | 10 |")

    assert drifted != readme
    assert config_docs.render(drifted) == readme
