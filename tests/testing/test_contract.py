"""``ComponentContract`` passes good components and fails each kind of bad one, with a
message that says what to fix; its pytest fixtures run flows and ``adf`` against a module
that is not installed.

Each case writes a plugin module and a test file into a pytester directory and runs pytest on
it in-process, as a plugin author's ``pytest`` would.
"""

from __future__ import annotations

import textwrap

import pytest

pytest_plugins = ["pytester"]

GOOD = '''
from collections.abc import Iterator, Mapping
from typing import Any

from adf_core import component, hookimpl
from adf_core.records import iter_batches, select_inputs


def numbers(count: int = 3) -> Iterator[list[dict]]:
    """Make records.

    Args:
        count: how many
    """
    yield [{"n": i} for i in range(count)]


def double(upstream: Mapping[str, Any], field: str = "n") -> list[dict]:
    """Double a field.

    Args:
        field: the field to double
    """
    out = []
    for name, data in select_inputs(upstream):
        number = 0
        for batch in iter_batches(data):
            for record in batch:
                number += 1
                if not isinstance(record.get(field), (int, float)):
                    raise ValueError(f"record {number} of input {name!r}: {field} is no number")
                out.append({**record, field: record[field] * 2})
    return out


def sink(upstream: Mapping[str, Any], api_token: str | None = None) -> int:
    """Count what arrives.

    Args:
        api_token: a token for the service
    """
    return sum(len(b) for _, d in select_inputs(upstream) for b in iter_batches(d))


@hookimpl
def adf_sources():
    return {"numbers": numbers}


@hookimpl
def adf_transforms():
    return {"double": double}


@hookimpl
def adf_destinations():
    return {"sink": sink}
'''

CONTRACTS = '''
import {module}
from adf_core.testing import ComponentContract


class TestNumbers(ComponentContract):
    plugin = {module}
    component = "numbers"
    kind = "source"
    empty_options = {{"count": 0}}


class TestDouble(ComponentContract):
    plugin = {module}
    component = "double"
    kind = "transform"
    sample = [{{"n": 1}}, {{"n": 2}}, {{"n": 3}}]
    bad_record = {{"n": "x"}}


class TestSink(ComponentContract):
    plugin = {module}
    component = "sink"
    kind = "destination"
'''


def write(pytester: pytest.Pytester, module: str, source: str) -> None:
    pytester.makepyfile(**{module: textwrap.dedent(source)})
    pytester.makepyfile(test_contract=CONTRACTS.format(module=module))
    pytester.syspathinsert()


def outcome(pytester: pytest.Pytester, *args: str) -> pytest.RunResult:
    # hypothesis (installed for this repo's own tests) would import itself in every inner run
    return pytester.runpytest("-p", "no:cacheprovider", "-p", "no:hypothesispytest", "-rs", *args)


def test_good_components_pass_every_check(pytester: pytest.Pytester) -> None:
    write(pytester, "plugin_good", GOOD)
    result = outcome(pytester)
    counts = result.parseoutcomes()
    assert counts.get("failed", 0) == 0, result.stdout.str()
    assert counts["passed"] >= 20
    # What does not apply says why: a source has no input to shape, no bad record given...
    result.stdout.fnmatch_lines(["*a source has no input to shape*"])


DEFECTS = {
    "no description": (
        '    """Make records.\n\n    Args:\n        count: how many\n    """\n', "",
        "TestNumbers::test_is_described",
        "source 'numbers' has no description: give it a docstring"),
    "no annotation": (
        "def numbers(count: int = 3)", "def numbers(count=3)",
        "TestNumbers::test_options_are_annotated", "options without a type annotation: count"),
    "no option doc": (
        "        count: how many\n", "",
        "TestNumbers::test_options_are_documented", "options without documentation: count"),
    "secret by name": (
        "api_token", "api_auth",
        "TestSink::test_secrets_are_named_so", "'api_auth' (its name has 'auth')"),
    "secret by doc": (
        "api_token: a token for the service", "for_service: the service password",
        "TestSink::test_secrets_are_named_so",
        "'for_service' (its documentation says 'password')"),
    "error without the record": (
        'raise ValueError(f"record {number} of input {name!r}: {field} is no number")',
        'raise ValueError(f"{field} is no number")',
        "TestDouble::test_a_bad_record_is_named_in_the_error",
        "the error for bad record number 4 does not name it"),
    "records from nothing": (
        "range(count)]", "range(count or 3)]",
        "TestNumbers::test_handles_empty_input", "made 3 records out of no input"),
    "not registered": (
        '    return {"double": double}', '    return {"doubler": double}',
        "TestDouble::test_is_registered", "registers 'double' as nothing, not as a transform"),
}


@pytest.mark.parametrize("defect", DEFECTS)
def test_each_defect_fails_its_check_with_what_to_fix(pytester: pytest.Pytester,
                                                      defect: str) -> None:
    old, new, check, message = DEFECTS[defect]
    assert old in GOOD
    source = GOOD.replace(old, new)
    if defect == "secret by doc":
        source = source.replace("api_token", "for_service")
    write(pytester, "plugin_bad", source)
    test_class, test_name = check.split("::")
    result = outcome(pytester, "-k", f"{test_class} and {test_name}")
    assert result.parseoutcomes().get("failed", 0) >= 1, result.stdout.str()
    assert message in result.stdout.str()


def test_a_class_without_its_three_names_says_which_are_missing(
        pytester: pytest.Pytester) -> None:
    pytester.makepyfile(test_incomplete="""
        from adf_core.testing import ComponentContract

        class TestNothing(ComponentContract):
            component = "x"
            kind = "sink"
    """)
    result = outcome(pytester, "-k", "test_is_registered")
    result.stdout.fnmatch_lines(["*TestNothing: set `plugin` (the plugin module), `kind` (one of "
                                 "source, transform, destination; got 'sink')*"])


def test_the_fixtures_run_flows_and_the_cli_against_an_uninstalled_module(
        pytester: pytest.Pytester) -> None:
    pytester.makepyfile(plugin_fixture=textwrap.dedent(GOOD))
    pytester.syspathinsert()
    pytester.makeini("[pytest]\nadf_plugins = plugin_fixture\n")
    pytester.makepyfile(test_fixtures="""
        import json

        def test_run(adf_run):
            result = adf_run("numbers | double | sink", options={"numbers": {"count": "4"}})
            assert result.outputs["sink"] == 4
            assert [r["n"] for r in result.outputs["double"]] == [0, 2, 4, 6]

        def test_builtins_come_along(adf_run, tmp_path):
            out = tmp_path / "out.jsonl"
            adf_run("numbers | double | file", options={"file": {"path": str(out)}})
            assert [json.loads(l)["n"] for l in out.read_text().splitlines()] == [0, 2, 4]

        def test_cli(adf_cli):
            listed = adf_cli("components", "--json")
            assert listed.exit_code == 0
            names = {(c["name"], c["kind"]) for c in json.loads(listed.stdout)}
            assert {("numbers", "source"), ("double", "transform"), ("sink", "destination"),
                    ("stdout", "destination")} <= names
            ran = adf_cli("run", "numbers | stdout", "-o", "numbers.count=2", "-o",
                          "stdout.format=jsonl")
            assert ran.exit_code == 0, ran.stderr
            assert ran.stdout == '{"n": 0}\\n{"n": 1}\\n'
            bad = adf_cli("run", "numbers | stdout", "-o", "numbers.cuont=2")
            assert bad.exit_code == 2 and "did you mean 'count'" in bad.stderr

        def test_registry(adf_registry):
            assert adf_registry.resolve("double", "transform").__name__ == "double"
    """)
    result = outcome(pytester)
    result.assert_outcomes(passed=4)


def test_without_builtins_only_the_plugin_is_there(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(plugin_alone=textwrap.dedent(GOOD))
    pytester.syspathinsert()
    pytester.makeini("[pytest]\nadf_plugins = plugin_alone\nadf_builtins = false\n")
    pytester.makepyfile(test_alone="""
        def test_only_mine(adf_registry):
            assert adf_registry.names() == {"numbers", "double", "sink"}
    """)
    outcome(pytester).assert_outcomes(passed=1)


def test_the_cli_fixture_leaves_an_unconfigured_structlog_unconfigured() -> None:
    """Configured with its defaults, structlog prints to stdout: every later flow's events
    would then land in the output a test reads."""
    import structlog

    from adf_core.testing.harness import PluginHarness

    structlog.reset_defaults()
    assert not structlog.is_configured()
    result = PluginHarness().cli("components")
    assert result.exit_code == 0, result.stderr
    assert not structlog.is_configured()
