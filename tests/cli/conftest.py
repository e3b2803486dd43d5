"""CLI fixtures: a fresh plugin manager per test, loaded with the sample plugins."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner, Result

PLUGINS = Path(__file__).resolve().parents[1] / "plugins"


@pytest.fixture
def sample_modules(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Make ``tests/plugins`` importable (the sample plugin modules)."""
    monkeypatch.syspath_prepend(str(PLUGINS))
    yield
    for name in [n for n in sys.modules if n.startswith("adf_sample_")]:
        del sys.modules[name]


@pytest.fixture
def pm(sample_modules: None) -> Any:
    """A fresh ``PluginManager("adf")`` with the basic sample plugin registered."""
    import adf_sample_basic

    from adf_core.plugins import PluginManager

    manager = PluginManager()
    manager.register(adf_sample_basic, name="basic")
    return manager


@pytest.fixture
def invoke(pm: Any) -> Any:
    """``invoke(args)`` runs ``adf`` in-process against the fresh plugin manager."""
    from adf_core.cli import cli
    from adf_core.registry import Registry

    def run(args: list[str], registry: Any = None, **kwargs: Any) -> Result:
        runner = CliRunner()
        return runner.invoke(
            cli, args, obj=registry or Registry(pm), prog_name="adf", catch_exceptions=False,
            **kwargs,
        )

    return run
