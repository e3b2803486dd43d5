"""The README's "Incremental loads" pipeline is the tested example file, verbatim (the README
block runner draws it with ``adf graph`` and runs the commands that follow it)."""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_the_readme_pipeline_is_examples_incremental_toml() -> None:
    text = (ROOT / "README.md").read_text()
    section = text[text.index("## Incremental loads"):]
    match = re.search(r"```toml\n(.*?)```", section, re.DOTALL)
    assert match is not None
    assert match[1] == (ROOT / "examples" / "incremental.toml").read_text()
