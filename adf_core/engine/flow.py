"""``DataFlow``: build a flow once from a definition or an expression, run it many times."""

from __future__ import annotations

import inspect
import os
from collections.abc import Mapping
from typing import Any

from adf_core.data.arrow import check_batch_format
from adf_core.engine.definition import Leaf, Sequence, leaves, normalize, render
from adf_core.engine.expression import Resolver, build_definition
from adf_core.engine.placement import place_components
from adf_core.engine.plan import Defaults, Plan, PlannedComponent, compile_plan
from adf_core.engine.rejects import check_max_errors, check_policy
from adf_core.engine.result import FlowResult
from adf_core.engine.steps import Step, step
from adf_core.errors import FlowDefinitionError
from adf_core.text import did_you_mean

#: Engine settings a single component takes (``step()``, ``settings=``, ``[settings.ALIAS]``).
STEP_SETTINGS = ("retries", "timeout", "executor", "buffer_size", "on_error", "max_errors")


class DataFlow:
    """A flow of components: sources, transforms and destinations in stages.

    ``definition`` is a nested tuple of callables (``((a, b), merge, (c, d))``), a list
    (sequence), sets (parallel groups), or a tree from :meth:`parse`. Keyword arguments set
    the flow-wide defaults that a :func:`adf_core.step` overrides:

    - ``retries`` (0) and ``timeout`` (None, seconds) per component attempt;
    - ``executor`` ("threads") for sync components; ``executor_address`` for Dask;
    - ``max_concurrency`` (None: unlimited) components running at once;
    - ``max_threads`` (64, sized for I/O-bound work) worker threads for sync components;
    - ``buffer_size`` (64) items buffered per stream consumer;
    - ``thread_grace`` (10 s) how long a cancelled flow waits for a sync component that is
      still running in its thread, which cannot be interrupted;
    - ``retry_delay`` (0.1 s) the first backoff delay, doubled per attempt, with jitter;
    - ``on_error`` ("fail") what a component does with a record it cannot read or write:
      ``fail``, ``skip`` (count it) or ``dead_letter`` (count it and keep it); the default is
      ``dead_letter`` when a ``dead_letter`` path is given;
    - ``max_errors`` (None: no bound) skipped plus dead-lettered records a component may have,
      a count or a fraction below 1 of the records it read; beyond it the run fails;
    - ``dead_letter`` (None) the JSON-lines file the dead letters are written to at the end of
      each run (without it they are kept in ``FlowResult.dead_letters``);
    - ``strict`` (False) data warnings (``adf_core.warn``, unread ``split`` groups) are errors;
    - ``batch_format`` (``ADF_BATCH_FORMAT`` or "arrow") how the built-in components move
      batches: "arrow" (columnar, when pyarrow is installed) or "records" (lists of dicts);
    - ``name`` (None) the pipeline's name, the key of the state its components keep between
      runs (required when a component takes ``state``);
    - ``state`` (None) the URL of the state store (``sqlite:///...``, ``postgresql+psycopg://``);
      None: ``ADF_STATE``, else ``sqlite:///.adf/state.db`` under the working directory.
    """

    def __init__(
        self,
        definition: Any,
        *,
        retries: int = 0,
        timeout: float | None = None,
        executor: str = "threads",
        max_concurrency: int | None = None,
        max_threads: int | None = None,
        buffer_size: int = 64,
        executor_address: str | None = None,
        thread_grace: float = 10.0,
        retry_delay: float = 0.1,
        on_error: str | None = None,
        max_errors: float | None = None,
        dead_letter: str | os.PathLike[str] | None = None,
        strict: bool = False,
        batch_format: str | None = None,
        name: str | None = None,
        state: str | None = None,
    ) -> None:
        _check_positive("max_concurrency", max_concurrency)
        _check_positive("max_threads", max_threads)
        _check_positive("buffer_size", buffer_size)
        if not isinstance(retries, int) or retries < 0:
            raise FlowDefinitionError(f"retries must be an integer >= 0, got {retries!r}")
        if timeout is not None and (not isinstance(timeout, (int, float)) or timeout <= 0):
            raise FlowDefinitionError(f"timeout must be a number of seconds > 0, got {timeout!r}")
        for setting, value in (("thread_grace", thread_grace), ("retry_delay", retry_delay)):
            if isinstance(value, bool) or not isinstance(value, (int, float)) or value < 0:
                raise FlowDefinitionError(
                    f"{setting} must be a number of seconds >= 0, got {value!r}")
        if dead_letter is not None and not isinstance(dead_letter, str | os.PathLike):
            raise FlowDefinitionError(f"dead_letter must be a file path, got {dead_letter!r}")
        if on_error is None:
            on_error = "dead_letter" if dead_letter else "fail"
        if not isinstance(strict, bool):
            raise FlowDefinitionError(f"strict must be true or false, got {strict!r}")
        on_error = check_policy(on_error)
        if batch_format is not None:
            try:
                batch_format = check_batch_format(batch_format)
            except ValueError as exc:
                raise FlowDefinitionError(str(exc)) from None
        max_errors = check_max_errors(max_errors)
        self.defaults = Defaults(
            retries=retries, timeout=timeout, executor=executor,
            max_concurrency=max_concurrency, max_threads=max_threads or 64,
            buffer_size=buffer_size, executor_address=executor_address,
            thread_grace=thread_grace, retry_delay=retry_delay, on_error=on_error,
            max_errors=max_errors, dead_letter=os.fspath(dead_letter) if dead_letter else None,
            strict=strict, batch_format=batch_format, name=name, state=state)
        if state is not None and (not isinstance(state, str) or not state.strip()):
            raise FlowDefinitionError(f"state must be a database URL, got {state!r}")
        self.tree: Sequence = normalize(definition)
        self.plan: Plan = compile_plan(self.tree, self.defaults)
        place_components(self.plan)

    @classmethod
    def parse(
        cls,
        expression: str,
        *,
        resolver: Resolver | None = None,
        options: Mapping[str, Mapping[str, Any]] | None = None,
        settings: Mapping[str, Mapping[str, Any]] | None = None,
        **defaults: Any,
    ) -> DataFlow:
        """Build a flow from a pipe expression, e.g. ``"a, b | merge | c, d"``.

        ``resolver(name, kind)`` turns a name into a callable (default: ``module:attr`` by
        import, a bare name through the plugin registry). ``options`` binds parameters per
        alias (strings are converted by annotation); ``settings`` sets ``retries``,
        ``timeout``, ``executor``, ``buffer_size``, ``on_error`` and ``max_errors`` per alias.
        """
        tree = normalize(build_definition(expression, resolver))
        _apply_per_alias(tree, options or {}, settings or {})
        return cls(tree, **defaults)

    async def __call__(self, params: Mapping[str, Any] | None = None, /, *,
                       run_id: str | None = None) -> FlowResult:
        """Run the flow with ``params`` as the initial context."""
        from adf_core.engine.runner import execute

        if params is not None and not isinstance(params, Mapping):
            raise TypeError(f"params must be a mapping, got {type(params).__name__}")
        return await execute(self.plan, params, run_id)

    def run(self, params: Mapping[str, Any] | None = None, /, *,
            run_id: str | None = None) -> FlowResult:
        """Run the flow synchronously, as ``asyncio.run(flow(params))`` would.

        Works in scripts and inside a running event loop (a notebook): there the flow runs
        on a loop of its own in a helper thread. Uses eager task start on Python 3.12+.
        """
        from adf_core.engine.loops import run_sync

        return run_sync(lambda: self(params, run_id=run_id))

    @property
    def expression(self) -> str:
        """The canonical pipe expression of this flow."""
        return render(self.tree)

    @property
    def components(self) -> list[PlannedComponent]:
        """Every component instance in definition order."""
        return list(self.plan.components)

    def __str__(self) -> str:
        return self.expression

    def __repr__(self) -> str:
        return f"DataFlow({self.expression!r})"


def _check_positive(name: str, value: Any) -> None:
    if value is not None and (not isinstance(value, int) or value < 1):
        raise FlowDefinitionError(f"{name} must be an integer >= 1, got {value!r}")


def _apply_per_alias(tree: Sequence, options: Mapping[str, Mapping[str, Any]],
                     settings: Mapping[str, Mapping[str, Any]]) -> None:
    by_alias: dict[str, Leaf] = {leaf.alias: leaf for leaf in leaves(tree)}
    for table, label in ((options, "options"), (settings, "settings")):
        if not isinstance(table, Mapping):
            raise FlowDefinitionError(f"{label} must map aliases to tables, got {table!r}")
        for alias, value in table.items():
            if not isinstance(value, Mapping):
                raise FlowDefinitionError(
                    f"{label} for {alias!r} must be a table of key = value, got {value!r}")
            if alias not in by_alias:
                raise FlowDefinitionError(
                    f"{label} given for {alias!r}, which is not in the flow"
                    f"{did_you_mean(alias, by_alias)}; its components are: "
                    f"{', '.join(by_alias)}")
    for alias, leaf in by_alias.items():
        bound = options.get(alias)
        engine = dict(settings.get(alias) or {})
        unknown = [k for k in engine if k not in STEP_SETTINGS]
        if unknown:
            hint = did_you_mean(unknown[0], STEP_SETTINGS)
            raise FlowDefinitionError(
                f"unknown setting {unknown[0]!r} for {alias!r}{hint}; "
                f"settings are: {', '.join(STEP_SETTINGS)}")
        if bound or engine:
            wrapped = step(leaf.step, options=bound, **engine)
            leaf.step = Step(wrapped.fn, name=leaf.alias, retries=wrapped.retries,
                             timeout=wrapped.timeout, executor=wrapped.executor,
                             options=wrapped.options, buffer_size=wrapped.buffer_size,
                             ref=leaf.step.ref, kind=leaf.step.kind, on_error=wrapped.on_error,
                             max_errors=wrapped.max_errors)


#: Flow-wide engine settings: the keyword arguments of ``DataFlow`` (``[settings]`` in a file).
FLOW_SETTINGS = tuple(name for name, p in inspect.signature(DataFlow.__init__).parameters.items()
                      if p.kind is p.KEYWORD_ONLY)
