"""The plugin is found like any third-party one: entry point, hooks, registry, cheap import."""

from __future__ import annotations

import inspect
import subprocess
import sys
import typing
from importlib.metadata import entry_points

import adf_plugin_s3
import pluggy
import pytest
from adf_plugin_s3 import s3_destination, s3_source

from adf_core import hookspecs

RESERVED = {"upstream", "context", "state"}


def test_entry_point_in_group_adf():
    (ep,) = [ep for ep in entry_points(group="adf") if ep.name == "s3"]

    assert ep.value == "adf_plugin_s3"
    assert ep.dist is not None and ep.dist.name == "adf-plugin-s3"
    assert ep.load() is adf_plugin_s3


def test_hooks_provide_an_s3_source_and_an_s3_destination():
    pm = pluggy.PluginManager("adf")
    pm.add_hookspecs(hookspecs)
    pm.register(adf_plugin_s3, name="s3")

    assert pm.hook.adf_sources() == [{"s3": s3_source}]
    assert pm.hook.adf_destinations() == [{"s3": s3_destination}]
    assert pm.hook.adf_transforms() == []


def test_the_registry_resolves_s3_by_position():
    from adf_core.registry import resolve

    assert resolve("s3", "source") is s3_source
    assert resolve("s3", "destination") is s3_destination


@pytest.mark.parametrize("fn", [s3_source, s3_destination])
def test_every_option_is_annotated_and_documented(fn):
    doc = inspect.getdoc(fn) or ""
    summary, _, rest = doc.partition("\n\n")
    hints = typing.get_type_hints(fn)
    options = [name for name in inspect.signature(fn).parameters if name not in RESERVED]

    assert summary and "\n" not in summary
    assert "Args:" in rest
    for name in options:
        assert name in hints, f"{name} has no annotation"
        assert f"\n    {name}: " in rest, f"{name} is not in Args:"


def test_importing_the_plugin_does_not_import_boto3():
    code = "import sys, adf_plugin_s3; print(sorted(m for m in sys.modules if 'boto' in m))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)

    assert out.stdout.strip() == "[]"


def test_adf_plugins_and_adf_describe_show_it():
    def adf(*args: str) -> subprocess.CompletedProcess[str]:
        command = [sys.executable, "-m", "adf_core.cli", *args]
        return subprocess.run(command, capture_output=True, text=True, timeout=60)

    plugins = adf("plugins")
    described = adf("describe", "s3")

    assert plugins.returncode == 0, plugins.stderr
    assert "adf-plugin-s3" in plugins.stdout or "adf_plugin_s3" in plugins.stdout
    assert described.returncode == 0, described.stderr
    for text in ("bucket", "prefix", "endpoint_url", "region", "Write records to S3"):
        assert text in described.stdout
