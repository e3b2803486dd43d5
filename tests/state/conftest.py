"""Fixtures of the state tests; ``kill_loop`` importable here and in the benchmark."""

from __future__ import annotations

import sys
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

HERE = Path(__file__).resolve().parent
if str(HERE) not in sys.path:
    sys.path.insert(0, str(HERE))


@pytest.fixture
def workdir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """A fresh working directory (the default state store lives under it), no ADF_STATE."""
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("ADF_STATE", raising=False)
    yield tmp_path


@pytest.fixture
def unique() -> str:
    """A name no parallel test run uses (tables, pipelines)."""
    return f"t{uuid.uuid4().hex[:10]}"
