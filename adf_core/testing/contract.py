"""``ComponentContract``: the standard tests every component should pass, in three lines.

.. code-block:: python

    from adf_core.testing import ComponentContract
    import adf_plugin_weather

    class TestReadings(ComponentContract):
        plugin = adf_plugin_weather   # the plugin module: its hooks are read, nothing installed
        component = "readings"        # the registered name
        kind = "source"               # source | transform | destination

The checks: the component is registered under that name and kind; it is described (a
description in its metadata); every option is annotated and documented; options that hold
credentials are named so that adf hides them (DESIGN §7); it handles empty input; its records
in and out are counted (``FlowResult.records``); and a bad record's error names the record's
number. Each check that needs data takes it from a class attribute (``options``, ``sample``,
``bad_record``, ``empty_options``, ``bad_options``...), and skips with the reason and the
attribute to set when it cannot apply.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path
from types import ModuleType
from typing import Any, ClassVar

import pytest

from adf_core.testing.harness import PluginHarness

KINDS = ("source", "transform", "destination")
SHAPES = ("list", "stream")
SINK = "contract_sink"

#: Three records with a number, a text and a decimal-ish amount: what most transforms and
#: destinations accept. Override ``sample`` when the component needs other fields.
DEFAULT_SAMPLE: tuple[dict[str, Any], ...] = (
    {"id": 1, "name": "ada", "amount": 12.5},
    {"id": 2, "name": "grace", "amount": 7.0},
    {"id": 3, "name": "linus", "amount": 3.25},
)

#: Words of an option's name or documentation that mean "this holds a credential".
_CREDENTIAL_DOC = re.compile(
    r"\b(passwords?|passwd|passphrase|secrets?|tokens?|api[ _-]?keys?|access[ _-]keys?|"
    r"private[ _-]keys?|credentials?|bearer)\b", re.IGNORECASE)
_CREDENTIAL_NAME_PARTS = frozenset({
    "pwd", "pass", "passphrase", "apikey", "credential", "credentials", "creds", "auth",
    "authorization", "bearer", "cookie", "private", "signature", "pat", "otp", "pin", "dsn",
})
#: Options whose values are redacted by shape (the password part of a URL) whatever they say.
_URL_OPTION = re.compile(r"(^|_)(url|uri|endpoint|endpoint_url)$")


class ComponentContract:
    """Standard tests for one component; subclass it as ``Test...`` and set the three names.

    Class attributes (all optional but the first three):

    - ``plugin``: the plugin module (or its import path); ``component``: the registered name;
      ``kind``: ``"source"``, ``"transform"`` or ``"destination"``.
    - ``options``: options bound to the component in every run. A string value may contain
      ``{tmp_path}``, replaced by the test's temporary directory.
    - ``sample``: the records fed to a transform or destination (a list), or several named
      inputs (``{"source": [...], "target": [...]}`` for a component that reads two).
    - ``bad_record``: a record the transform or destination must reject; it is fed as record
      number ``len(sample) + 1`` of the first input, and the error must say ``record N``.
    - ``empty_options`` / ``bad_options``: for a source, options under which it finds no data,
      or meets a bad record; ``bad_record_number``: which record is bad (a source's bad-record
      check runs once it is set).
    - ``input_shapes``: how input is fed: ``"list"`` (a list of records) and ``"stream"`` (a
      generator of batches of two records, as the built-in sources stream).
    - ``not_secrets``: option names that look like credentials but are not.
    - ``builtins``: also register the built-in plugins (default False).

    Override :meth:`component_options` (to compute options, e.g. from a fixture stored on
    ``self``) or :meth:`prepare` (to create input files in ``tmp_path``) when attributes are
    not enough. Any check can be switched off the pytest way, by overriding it in the
    subclass with a ``pytest.mark.skip(reason=...)``.
    """

    plugin: ClassVar[ModuleType | str | Any] = None
    component: ClassVar[str] = ""
    kind: ClassVar[str] = ""

    options: ClassVar[Mapping[str, Any]] = {}
    sample: ClassVar[Sequence[Mapping[str, Any]] | Mapping[str, Sequence[Mapping[str, Any]]]] = (
        DEFAULT_SAMPLE)
    bad_record: ClassVar[Mapping[str, Any] | None] = None
    empty_options: ClassVar[Mapping[str, Any] | None] = None
    bad_options: ClassVar[Mapping[str, Any] | None] = None
    bad_record_number: ClassVar[int | None] = None
    input_shapes: ClassVar[Sequence[str]] = SHAPES
    not_secrets: ClassVar[Sequence[str]] = ()
    builtins: ClassVar[bool] = False

    # -- hooks for authors -----------------------------------------------------------------

    def prepare(self, tmp_path: Path, case: str) -> None:
        """Called before each run; ``case`` is ``"sample"``, ``"empty"`` or ``"bad"``.
        Create the files or tables the component reads here."""

    def component_options(self, tmp_path: Path, case: str) -> dict[str, Any]:
        """The options for a run of ``case`` (``"sample"``, ``"empty"`` or ``"bad"``)."""
        chosen: Mapping[str, Any] = self.options
        if case == "empty" and self.empty_options is not None:
            chosen = {**self.options, **self.empty_options}
        if case == "bad" and self.bad_options is not None:
            chosen = {**self.options, **self.bad_options}
        return {k: _with_tmp(v, tmp_path) for k, v in chosen.items()}

    # -- the checks ------------------------------------------------------------------------

    def test_is_registered(self) -> None:
        """The plugin's hook registers the component under this name and kind."""
        self._check_class()
        harness = self._harness()
        entries = harness.registry.lookup(self.component)
        kinds = [e.kind for e in entries]
        assert self.kind in kinds, (
            f"{self._plugin_label()} registers {self.component!r} as "
            f"{', '.join(kinds) or 'nothing'}, not as a {self.kind}: return it from "
            f"adf_{self.kind}s() (components it registers: "
            f"{', '.join(sorted(harness.registry.names())) or 'none'})")

    def test_is_described(self) -> None:
        """``adf components`` and ``adf describe`` show a description."""
        info = self._info()
        assert info.description.strip(), (
            f"{self._label()} has no description: give it a docstring (its first paragraph is "
            f"the description) or @component(description=...)")

    def test_options_are_annotated(self) -> None:
        """Every option has a type annotation: ``-o`` strings are converted by it."""
        missing = [o.name for o in self._info().options if not o.type]
        assert not missing, (
            f"{self._label()}: options without a type annotation: {', '.join(missing)}. "
            f"Annotate them (`count: int = 10`): the command line converts `-o` values by it, "
            f"and `adf describe` shows it")

    def test_options_are_documented(self) -> None:
        """Every option has a line of documentation (``Args:`` or ``:param:``)."""
        missing = [o.name for o in self._info().options if not o.doc.strip()]
        assert not missing, (
            f"{self._label()}: options without documentation: {', '.join(missing)}. Add an "
            f"`Args:` section to the docstring (`    {missing[0]}: what it is`) or "
            f"@component(options={{{missing[0]!r}: '...'}})")

    def test_secrets_are_named_so(self) -> None:
        """Options that hold credentials are recognised as secrets, so that adf hides them
        in logs, traces, ``--dry-run`` and errors (a name containing password, passwd,
        secret or token, or ending in ``_key``; or ``@component(secrets=[...])``)."""
        from adf_core.observe.secrets import is_secret_name

        suspicious = []
        for option in self._info().options:
            if option.secret or option.name in self.not_secrets:
                continue
            if _URL_OPTION.search(option.name):
                continue  # the password part of a URL is hidden whatever the option is called
            parts = set(re.split(r"[_\W]+", option.name.lower()))
            said = _CREDENTIAL_DOC.search(option.doc)
            why = None
            if parts & _CREDENTIAL_NAME_PARTS:
                why = f"its name has {sorted(parts & _CREDENTIAL_NAME_PARTS)[0]!r}"
            elif said:
                why = f"its documentation says {said[0]!r}"
            if why and not is_secret_name(option.name):
                suspicious.append(f"{option.name!r} ({why})")
        assert not suspicious, (
            f"{self._label()}: options that look like credentials but would be shown in "
            f"logs: {', '.join(suspicious)}. adf hides an option whose name contains "
            f"password, passwd, secret or token or ends in _key: rename it (`api_token`), "
            f"declare it with @component(secrets=[...]), or list it in `not_secrets` on this "
            f"test class if it holds no credential")

    @pytest.mark.parametrize("shape", SHAPES)
    def test_handles_empty_input(self, tmp_path: Path, shape: str) -> None:
        """No input records (or, for a source, no data): no error, no records out."""
        self._check_shape(shape)
        if self.kind == "source":
            if shape != "list":
                pytest.skip("a source has no input to shape")
            if self.empty_options is None and not self._overrides("prepare",
                                                                   "component_options"):
                pytest.skip("a source has no input: set `empty_options` (and `prepare` to make "
                            "the empty data) to check that it yields no records and no error")
        result = self._run(tmp_path, "empty", shape, self._empty_inputs())
        produced = result.outputs.get(SINK)
        if self.kind != "destination":
            assert produced == 0, (
                f"{self._label()} made {produced} records out of no input")

    @pytest.mark.parametrize("shape", SHAPES)
    def test_counts_records(self, tmp_path: Path, shape: str) -> None:
        """``FlowResult.records`` counts the records in and out of the component."""
        self._check_shape(shape)
        if self.kind == "source" and shape != "list":
            pytest.skip("a source has no input to shape")
        inputs = self._inputs()
        result = self._run(tmp_path, "sample", shape, inputs)
        counts = result.records[self.component]
        fed = sum(len(records_) for records_ in inputs.values())
        if self.kind == "source":
            produced = result.outputs[SINK]
            assert produced > 0, (
                f"{self._label()} produced no records with options {self._shown_options()}: "
                f"set `options` (and `prepare`) so that it reads some")
            assert counts.records_out == produced, (
                f"{self._label()}: records_out is {counts.records_out}, the next stage read "
                f"{produced}")
        else:
            assert counts.records_in == fed, (
                f"{self._label()}: records_in is {counts.records_in}, it was fed {fed}")
        if self.kind == "transform":
            produced = result.outputs[SINK]
            assert counts.records_out == produced, (
                f"{self._label()}: records_out is {counts.records_out}, the next stage read "
                f"{produced}")

    @pytest.mark.parametrize("shape", SHAPES)
    def test_a_bad_record_is_named_in_the_error(self, tmp_path: Path, shape: str) -> None:
        """A record the component cannot handle fails the run with an error that says
        which record (``record N``), so that the user can find it."""
        from adf_core.errors import FlowError

        self._check_shape(shape)
        if self.kind == "source":
            if shape != "list":
                pytest.skip("a source has no input to shape")
            if self.bad_record_number is None:
                pytest.skip("set `bad_record_number`, and `bad_options` (or `prepare`) so that "
                            "the source meets a bad record there, to check that its error "
                            "names the record it could not read")
            inputs: dict[str, list[Mapping[str, Any]]] = {}
            number = self.bad_record_number
        else:
            if self.bad_record is None:
                pytest.skip("set `bad_record` to a record this component rejects (a missing "
                            "field, a value of the wrong type) to check that its error names "
                            "the record")
            inputs = self._inputs()
            first = next(iter(inputs))
            inputs[first] = [*inputs[first], dict(self.bad_record)]
            number = len(inputs[first])
        with pytest.raises(FlowError) as caught:
            self._run(tmp_path, "bad", shape, inputs)
        error = caught.value
        failed = getattr(error, "component", None)
        assert failed == self.component, (
            f"expected {self._label()} to fail, but {failed!r} did: {error}")
        text = " | ".join(_messages(error))
        assert re.search(rf"\brecord\s+#?{number}\b", text), (
            f"{self._label()}: the error for bad record number {number} does not name it "
            f"(say `record {number}` in the message): {text}")

    # -- helpers ---------------------------------------------------------------------------

    def _check_class(self) -> None:
        problems = []
        if self.plugin is None:
            problems.append("`plugin` (the plugin module)")
        if not self.component:
            problems.append("`component` (the registered name)")
        if self.kind not in KINDS:
            problems.append(f"`kind` (one of {', '.join(KINDS)}; got {self.kind!r})")
        if problems:
            pytest.fail(f"{type(self).__name__}: set {', '.join(problems)}", pytrace=False)

    def _check_shape(self, shape: str) -> None:
        self._check_class()
        unknown = [s for s in self.input_shapes if s not in SHAPES]
        if unknown:
            pytest.fail(f"input_shapes: unknown {unknown}; use {SHAPES}", pytrace=False)
        if shape not in self.input_shapes:
            pytest.skip(f"input_shapes of {type(self).__name__} leaves out {shape!r}")

    def _overrides(self, *names: str) -> bool:
        return any(getattr(type(self), n) is not getattr(ComponentContract, n) for n in names)

    def _harness(self) -> PluginHarness:
        return PluginHarness(self.plugin, builtins=self.builtins)

    def _plugin_label(self) -> str:
        return f"plugin {getattr(self.plugin, '__name__', self.plugin)!r}"

    def _label(self) -> str:
        return f"{self.kind} {self.component!r}"

    def _info(self) -> Any:
        self._check_class()
        return self._entry(self._harness()).info()

    def _entry(self, harness: PluginHarness) -> Any:
        entry = harness.registry.entries[self.kind].get(self.component)
        if entry is None:
            pytest.fail(f"{self._plugin_label()} registers no {self._label()} "
                        f"(see test_is_registered)", pytrace=False)
        return entry

    def _shown_options(self) -> str:
        return repr(dict(self.options)) if self.options else "none"

    def _inputs(self) -> dict[str, list[Mapping[str, Any]]]:
        sample = self.sample
        if isinstance(sample, Mapping):
            return {name: list(records) for name, records in sample.items()}
        return {"sample": list(sample)}

    def _empty_inputs(self) -> dict[str, list[Mapping[str, Any]]]:
        if self.kind == "source":
            return {}
        return {name: [] for name in self._inputs()}

    def _run(self, tmp_path: Path, case: str, shape: str,
             inputs: Mapping[str, list[Mapping[str, Any]]]) -> Any:
        from adf_core.engine.flow import DataFlow
        from adf_core.engine.steps import step

        self._check_class()
        harness = self._harness()
        fn = self._entry(harness).fn
        self.prepare(tmp_path, case)
        me = step(fn, name=self.component, options=self.component_options(tmp_path, case))
        stages: list[Any] = []
        if self.kind != "source":
            feeds = [_feed(name, records, shape) for name, records in inputs.items()]
            stages.append(feeds[0] if len(feeds) == 1 else tuple(feeds))
        stages.append(me)
        if self.kind != "destination":
            stages.append(step(_count_upstream, name=SINK))
        return DataFlow(tuple(stages)).run()


def _with_tmp(value: Any, tmp_path: Path) -> Any:
    if isinstance(value, str):
        return value.replace("{tmp_path}", str(tmp_path))
    return value


def _feed(name: str, records: list[Mapping[str, Any]], shape: str) -> Any:
    from adf_core.engine.steps import step

    rows = [dict(r) for r in records]
    if shape == "list":
        def feed_list() -> list[dict[str, Any]]:
            return [dict(r) for r in rows]
        return step(feed_list, name=name)

    def feed_stream() -> Iterator[list[dict[str, Any]]]:
        for first in range(0, len(rows), 2):
            yield [dict(r) for r in rows[first:first + 2]]
    return step(feed_stream, name=name)


def _count_upstream(upstream: Mapping[str, Any]) -> int:
    """The records the stage before produced (streams, lists, mappings of datasets)."""
    from adf_core.data.records import count_records, is_dataset

    return sum(count_records(value) for value in upstream.values() if is_dataset(value))


def _messages(error: BaseException) -> list[str]:
    """The messages of an error and of every error in its cause/context chain."""
    found: list[str] = []
    seen: set[int] = set()
    current: BaseException | None = error
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        found.append(f"{type(current).__name__}: {current}")
        found.extend(getattr(current, "__notes__", []))
        current = current.__cause__ or current.__context__
    return found


