"""Meta-test: every built-in component is registered, documented and tested."""

from __future__ import annotations

import importlib
from pathlib import Path

import pytest

from adf_core.plugins.metadata import describe

MODULES = ["db", "files", "http", "notify", "stdout", "transforms"]
HOOKS = {"adf_sources": "source", "adf_transforms": "transform", "adf_destinations": "destination"}
EXPECTED = {
    ("db", "source"),
    ("db", "destination"),
    ("file", "source"),
    ("file", "destination"),
    ("http", "source"),
    ("notify", "destination"),
    ("stdout", "destination"),
    ("merge", "transform"),
    ("split", "transform"),
    ("filter", "transform"),
    ("compare", "transform"),
}


def builtins():
    for module_name in MODULES:
        module = importlib.import_module(f"adf_plugins.{module_name}")
        for hook, kind in HOOKS.items():
            if hasattr(module, hook):
                for name, fn in getattr(module, hook)().items():
                    yield name, kind, fn


def test_the_minimum_set_of_design_section_10_is_there():
    assert {(name, kind) for name, kind, _ in builtins()} == EXPECTED


@pytest.mark.parametrize(("name", "kind", "fn"), list(builtins()), ids=lambda v: str(v)[:20])
def test_every_component_is_documented_for_adf_describe(name, kind, fn):
    info = describe(fn, name, kind)
    assert info.description and not info.description.endswith(":")
    undocumented = [o.name for o in info.options if not o.doc]
    assert undocumented == [], f"{name} ({kind}) lacks Args: docs for {undocumented}"
    assert all(o.type != "Any" for o in info.options), "options carry type annotations"
    if kind != "source":
        assert info.reads_upstream


@pytest.mark.parametrize(("name", "kind", "fn"), list(builtins()), ids=lambda v: str(v)[:20])
def test_every_component_has_a_test(name, kind, fn):
    tests = "".join(
        p.read_text()
        for p in Path(__file__).parent.glob("test_*.py")
        if p.name != Path(__file__).name
    )
    assert f"{fn.__code__.co_name}(" in tests or f'"{name} |' in tests or f"| {name}" in tests


def test_the_entry_points_register_the_same_components():
    from adf_core.registry import default_registry

    registry = default_registry()
    for name, kind, fn in builtins():
        assert registry.resolve(name, kind) is fn
