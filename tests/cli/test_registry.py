"""The component registry: kinds by position, duplicates, did-you-mean, metadata."""

from __future__ import annotations

import functools
from pathlib import Path
from typing import Any

import pytest

from adf_core import component
from adf_core.errors import FlowDefinitionError
from adf_core.plugins import PluginManager
from adf_core.plugins.metadata import REQUIRED, describe, option_docs
from adf_core.registry import Registry


def test_one_name_resolves_by_kind(pm: PluginManager) -> None:
    registry = Registry(pm)
    source = registry.resolve("jsonl", "source")
    destination = registry.resolve("jsonl", "destination")
    assert source.__name__ == "jsonl_source" and destination.__name__ == "jsonl"
    assert [e.kind for e in registry.lookup("jsonl")] == ["source", "destination"]


def test_a_name_in_the_wrong_position_says_where_it_belongs(pm: PluginManager) -> None:
    with pytest.raises(FlowDefinitionError, match="'plus_one' is a transform, not a source"):
        Registry(pm).resolve("plus_one", "source")


def test_unknown_names_get_a_did_you_mean(pm: PluginManager) -> None:
    with pytest.raises(FlowDefinitionError) as info:
        Registry(pm).resolve("plus_on", "transform")
    assert "unknown transform 'plus_on' (did you mean 'plus_one'?)." in str(info.value)
    assert "Known transforms: fail, plus_one." in str(info.value)


def test_unknown_names_mention_plugins_that_failed(pm: PluginManager) -> None:
    from importlib.metadata import EntryPoint

    from adf_core.plugins import load_plugins

    load_plugins(pm, [EntryPoint("broken", "adf_sample_broken", "adf")], environ={})
    failed = r"Plugin 'broken' .* failed to load: ImportError"
    with pytest.raises(FlowDefinitionError, match=failed):
        Registry(pm).resolve("s3", "source")


def test_duplicate_names_name_both_providers(pm: PluginManager) -> None:
    import adf_sample_dupe

    from adf_core.plugins import PluginRecord

    pm.load_records["basic"] = PluginRecord("basic", "adf_sample_basic", "adf-basic", "1.0")
    pm.load_records["dupe"] = PluginRecord("dupe", "adf_sample_dupe", "adf-dupe", "2.0")
    pm.register(adf_sample_dupe, name="dupe")
    registry = Registry(pm, strict=False)
    both = "registered by two plugins: 'adf-basic' and 'adf-dupe'"
    with pytest.raises(FlowDefinitionError, match=both):
        registry.resolve("numbers", "source")
    assert registry.resolve("plus_one", "transform")  # the rest still works
    from adf_core.plugins import PluginError

    with pytest.raises(PluginError, match=r"adf-basic.*adf-dupe"):
        Registry(pm, strict=True)


def test_metadata_comes_from_signature_and_docstring(pm: PluginManager) -> None:
    info = next(e for e in Registry(pm).lookup("jsonl") if e.kind == "destination").info()
    assert info.description == "Write every upstream record to a JSON-lines file."
    assert info.reads_upstream and info.mode == "sync (thread)"
    options = {o.name: o for o in info.options}
    assert list(options) == ["path", "token", "append"]
    assert options["path"].type == "Path" and options["path"].default is REQUIRED
    assert options["append"].type == "bool" and options["append"].default is False
    assert options["append"].doc == "add to the file instead of replacing it"
    assert options["token"].secret and not options["path"].secret


def test_component_decorator_adds_metadata_without_wrapping() -> None:
    def raw(upstream: dict[str, Any], api_key: str, size: int = 3) -> int:
        return size

    decorated = component(description="Counts.", options={"size": "how many"})(raw)
    assert decorated is raw and decorated({}, "k") == 3
    info = describe(decorated, "raw", "destination")
    assert info.description == "Counts."
    assert {o.name: o.doc for o in info.options} == {"api_key": "", "size": "how many"}
    assert info.option("api_key").secret  # type: ignore[union-attr]


def test_bare_component_decorator_and_secrets() -> None:
    @component
    def plain(url: str) -> None:
        """Plain."""

    @component(secrets=["dsn"])
    def custom(dsn: str) -> None: ...

    assert describe(plain, "plain", "source").description == "Plain."
    assert describe(custom, "custom", "source").options[0].secret


def test_metadata_of_partials_callable_objects_and_generators() -> None:
    class Reader:
        def __call__(self, path: Path, limit: int = 10) -> list[Any]:
            """Read."""
            return []

    async def agen(n: int = 2) -> Any:
        yield n

    part = functools.partial(lambda prefix, count=1: None, "x")
    assert [o.name for o in describe(Reader(), "r", "source").options] == ["path", "limit"]
    assert describe(Reader(), "r", "source").options[0].type == "Path"
    assert describe(agen, "a", "source").mode == "async stream"
    assert [o.name for o in describe(part, "p", "source").options] == ["count"]


def test_option_docs_google_and_sphinx_styles() -> None:
    doc = """Do it.

    Args:
        url (str): where to go,
            continued here
        *args: ignored
        retries: how often

    Returns:
        nothing
    """
    import inspect

    assert option_docs(inspect.cleandoc(doc)) == {
        "url": "where to go, continued here", "args": "ignored", "retries": "how often"
    }
    sphinx = ":param str url: the url\n:param n: count"
    assert option_docs(sphinx) == {"url": "the url", "n": "count"}


class _Reader:
    def __call__(self) -> list[Any]:
        return []


class _Settings:
    pass


def _sloppy_plugin(ran: list[str]) -> Any:
    from adf_core import hookimpl

    def tally() -> dict[str, Any]:
        ran.append("tally")
        return {"tally": [{"n": 1}]}

    class Sloppy:
        @hookimpl
        def adf_sources(self) -> dict[Any, Any]:
            return {"tally": tally, 7: tally, ("a", "b"): tally, "answer": 42,
                    "reader": _Reader, "settings": _Settings, "has space": tally}

        @hookimpl
        def adf_transforms(self) -> dict[str, Any]:
            raise SystemExit(2)

    return Sloppy()


def test_unusable_entries_fail_their_hook_and_the_good_ones_stay(
        pm: PluginManager, invoke: Any, tmp_path: Path) -> None:
    ran: list[str] = []
    pm.register(_sloppy_plugin(ran), name="sloppy")
    registry = Registry(pm, strict=False)

    assert registry.resolve("tally", "source") is not None
    error = registry.records()["sloppy"].error or ""
    for part in ("adf_sources(): the name 7 (int) is not a string",
                 "the name ('a', 'b') (tuple) is not a string",
                 "'answer' maps to 42 (int) is not callable",
                 "'reader' maps to _Reader is a class; pass an instance",
                 "'settings' maps to _Settings is a class whose instances are not callable",
                 "the name 'has space' cannot be written in an expression",
                 "adf_transforms() called sys.exit(2)"):
        assert part in error, error
    assert registry.records()["sloppy"].status == "failed"
    for name in ("answer", "reader", "settings"):
        with pytest.raises(FlowDefinitionError,
                           match=f"source '{name}' from plugin 'sloppy' cannot be used"):
            registry.resolve(name, "source")

    for args in (["plugins"], ["plugins", "--json"], ["components"], ["components", "--json"],
                 ["describe", "tally"]):
        result = invoke(args, registry=registry)
        assert result.exit_code == 0, (args, result.output)
    out = tmp_path / "o.jsonl"
    result = invoke(["run", "tally, answer | jsonl", "-o", f"jsonl.path={out}"],
                    registry=registry)
    assert result.exit_code == 2
    assert "source 'answer' from plugin 'sloppy' cannot be used" in result.output
    assert ran == [] and not out.exists()
    result = invoke(["run", "tally | jsonl", "-o", f"jsonl.path={out}"], registry=registry)
    assert result.exit_code == 0, result.output
    assert ran == ["tally"]


def test_strict_mode_makes_unusable_entries_fatal(pm: PluginManager) -> None:
    from adf_core.plugins import PluginError

    pm.register(_sloppy_plugin([]), name="sloppy")
    with pytest.raises(PluginError, match="'answer' maps to 42"):
        Registry(pm, strict=True)
