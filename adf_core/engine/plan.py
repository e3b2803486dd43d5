"""Resolve a definition tree once into a plan: per component, its signature, how its
arguments are bound, how it is called, its engine settings and its stream subscriptions."""

from __future__ import annotations

import inspect
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from adf_core.engine.after_run import split_after_run
from adf_core.engine.binding import Binding
from adf_core.engine.callables import ASYNC, ASYNC_GEN, SYNC_GEN, analyse, partial_keywords
from adf_core.engine.definition import (
    Leaf,
    Node,
    Sequence,
    first_leaves,
    last_leaves,
    leaves,
    render,
)
from adf_core.engine.executors.pool import FlowThreads
from adf_core.engine.markers import declares_routes, is_in_process
from adf_core.engine.rejects import check_max_errors, check_policy
from adf_core.engine.saved_state import check_named, keeps_state
from adf_core.errors import FlowDefinitionError


@dataclass(frozen=True)
class Defaults:
    """Flow-wide settings that a ``step`` overrides."""

    retries: int = 0
    timeout: float | None = None
    executor: str = "threads"
    max_concurrency: int | None = None
    max_threads: int = 64
    buffer_size: int = 64
    executor_address: str | None = None
    thread_grace: float = 10.0
    retry_delay: float = 0.1
    on_error: str = "fail"
    max_errors: int | float | None = None
    dead_letter: str | None = None
    strict: bool = False
    batch_format: str | None = None  # "arrow" | "records"; None: ADF_BATCH_FORMAT or "arrow"
    #: the pipeline's name: the key of its saved state
    name: str | None = None
    #: the state store's URL (None: ``ADF_STATE``, else the default, when the run starts)
    state: str | None = None


@dataclass(eq=False)
class PlannedComponent:
    """One component instance as the runner sees it."""

    alias: str
    name: str
    kind: str
    stage: int
    position: str
    fn: Callable[..., Any]
    signature: inspect.Signature
    options: dict[str, Any]
    retries: int
    timeout: float | None
    executor: str
    buffer_size: int
    call: str
    binding: Binding
    on_error: str = "fail"  # bad-record policy: fail | skip | dead_letter
    max_errors: int | float | None = None  # a count, or a fraction below 1 of records read
    routes: bool = False  # returns records routed into context keys (``split``)
    stream_inputs: list[str] = field(default_factory=list)  # producer aliases read here
    subscribers: list[str] = field(default_factory=list)  # consumer aliases of this stream
    #: runs after the flow (``component(after_run=True)``), receiving ``report``
    after_run: bool = False
    #: for an after-run component: the aliases whose outputs it receives as ``upstream``
    after_upstream: tuple[str, ...] = ()
    #: declared ``component(in_process=True)``: never sent to another process
    in_process: bool = False
    #: why it runs on threads although the flow's executor is another one (for the plan)
    executor_note: str | None = None
    #: the executor was set for this component (``step(executor=...)``), not by the flow
    executor_explicit: bool = False
    #: receives its saved ``state`` (it takes ``state``, and its ``state_when`` option is set)
    keeps_state: bool = field(init=False, default=False)
    #: whether any argument may be a dataset worth counting as records in
    counts_inputs: bool = field(init=False, default=False)

    @property
    def streaming(self) -> bool:
        return self.call in (ASYNC_GEN, SYNC_GEN)

    @property
    def retries_cover(self) -> str:
        """What a retry can repeat: every attempt, a stream until its first item, or nothing
        for a component that reads a stream (a stream cannot be read twice)."""
        if self.stream_inputs:
            return "n/a (reads a stream)"
        if self.streaming:
            return "until first item"
        return "every attempt"

    def __post_init__(self) -> None:
        binding = self.binding
        self.counts_inputs = bool(binding.wants_upstream or binding.lookups
                                  or binding.positional)
        self.keeps_state = keeps_state(self.fn, self.options, binding.wants_state)

    @property
    def is_async(self) -> bool:
        return self.call in (ASYNC, ASYNC_GEN)

    @property
    def description(self) -> str:
        doc = inspect.getdoc(self.fn) or ""
        return doc.strip().splitlines()[0] if doc.strip() else ""


@dataclass(eq=False)
class Plan:
    """A definition resolved once: its components, stages, streams and thread pool."""

    root: Sequence
    components: list[PlannedComponent]
    defaults: Defaults
    by_alias: dict[str, PlannedComponent]
    peers: dict[str, tuple[str, ...]]  # first members of a top-level stage -> the others
    stage_members: list[tuple[str, ...]]  # per top-level stage, its first members
    has_streams: bool
    executors: set[str]
    threads: FlowThreads
    #: the after-run components, in definition order (also at the end of ``components``)
    after_run: list[PlannedComponent] = field(default_factory=list)
    #: the canonical expression of the whole definition, after-run components included
    expression: str = ""
    #: the aliases that keep state between runs (``adf_core.engine.saved_state``)
    state_aliases: list[str] = field(default_factory=list)
    #: the destinations (components of the last stage)
    destinations: tuple[str, ...] = ()


def compile_plan(definition: Sequence, defaults: Defaults) -> Plan:
    expression = render(definition)
    root, after = split_after_run(definition)
    all_leaves = leaves(root) + [leaf for leaf, _ in after]
    seen: dict[str, Leaf] = {}
    after_ids = {id(leaf) for leaf, _ in after}
    components = []
    for leaf in all_leaves:
        if leaf.alias in seen:
            raise duplicate_alias(seen[leaf.alias], leaf)
        seen[leaf.alias] = leaf
        leaf.component = _plan_component(leaf, defaults, id(leaf) in after_ids)
        components.append(leaf.component)
    after_run = []
    for leaf, upstream in after:
        component = leaf.component
        component.after_upstream = upstream
        after_run.append(component)
    _plan_streams(root)
    peers, stage_members = _stage_peers(root, components)
    state_aliases = [c.alias for c in components if c.keeps_state and not c.after_run]
    check_named(defaults.name, state_aliases)
    return Plan(state_aliases=state_aliases,
                destinations=tuple(leaf.alias for leaf in last_leaves(root))
                if root.children else (),
                root=root, components=components, defaults=defaults,
                by_alias={c.alias: c for c in components}, peers=peers,
                stage_members=stage_members,
                has_streams=any(c.streaming for c in components),
                executors={c.executor for c in components if not c.is_async},
                threads=FlowThreads(defaults.max_threads), after_run=after_run,
                expression=expression)


def duplicate_alias(first: Leaf, second: Leaf) -> FlowDefinitionError:
    """Two instances under one alias: the hint names the components, not the alias twice."""
    from adf_core.engine.definition import component_name

    def written(leaf: Leaf) -> str:  # how an expression names the component
        return leaf.step.ref or component_name(leaf.step.fn)

    alias = first.alias
    return FlowDefinitionError(
        f"the alias {alias!r} is used twice ({first.position} and {second.position}); give "
        f"each instance its own alias: in an expression write them '{alias}={written(first)}' "
        f"and '{alias}_2={written(second)}', in Python step({component_name(second.step.fn)}, "
        f"name='{alias}_2')")


def _stage_peers(root: Sequence, components: list[PlannedComponent]
                 ) -> tuple[dict[str, tuple[str, ...]], list[tuple[str, ...]]]:
    """Per top-level stage, its first members; per member, the others it may wait for."""
    # A streaming producer ends only once the next stage has read it: never wait on one.
    streaming = {c.alias for c in components if c.streaming}
    peers: dict[str, tuple[str, ...]] = {}
    stage_members: list[tuple[str, ...]] = []
    for child in root.children:
        members = tuple(leaf.alias for leaf in first_leaves(child))
        stage_members.append(members)
        if len(members) < 2:
            continue
        waitable = tuple(m for m in members if m not in streaming)
        for alias in members:
            peers[alias] = waitable  # commit_group skips itself
    return peers, stage_members


def _plan_component(leaf: Leaf, defaults: Defaults, after_run: bool = False
                    ) -> PlannedComponent:
    step = leaf.step
    fn = step.fn
    signature, call = analyse(fn)
    options = dict(step.options)
    retries = defaults.retries if step.retries is None else step.retries
    timeout = defaults.timeout if step.timeout is None else step.timeout
    _check_settings(leaf, retries, timeout, step.buffer_size)
    where = f"component {leaf.alias!r} ({leaf.position}): "
    on_error = check_policy(defaults.on_error if step.on_error is None else step.on_error, where)
    max_errors = check_max_errors(
        defaults.max_errors if step.max_errors is None else step.max_errors, where)
    return PlannedComponent(
        alias=leaf.alias,
        name=step.ref or leaf.alias,
        kind=leaf.kind,
        stage=leaf.stage,
        position=leaf.position,
        fn=fn,
        signature=signature,
        options=options,
        retries=retries,
        timeout=timeout,
        executor=step.executor or defaults.executor,
        buffer_size=step.buffer_size or defaults.buffer_size,
        call=call,
        binding=Binding(leaf.alias, leaf.position, signature, options, partial_keywords(fn),
                        gives_report=after_run),
        in_process=is_in_process(step),
        after_run=after_run,
        executor_explicit=step.executor is not None,
        on_error=on_error,
        max_errors=max_errors,
        routes=declares_routes(step),
    )


def _check_settings(leaf: Leaf, retries: Any, timeout: Any, buffer_size: Any) -> None:
    where = f"component {leaf.alias!r} ({leaf.position})"
    if not isinstance(retries, int) or retries < 0:
        raise FlowDefinitionError(f"{where}: retries must be an integer >= 0, got {retries!r}")
    if timeout is not None and (not isinstance(timeout, (int, float)) or timeout <= 0):
        raise FlowDefinitionError(f"{where}: timeout must be a number of seconds > 0, "
                                  f"got {timeout!r}")
    if buffer_size is not None and (not isinstance(buffer_size, int) or buffer_size < 1):
        raise FlowDefinitionError(f"{where}: buffer_size must be an integer >= 1")


def _plan_streams(node: Node) -> None:
    """Subscribe each consumer to the streams of the node right before it."""
    if isinstance(node, Leaf):
        return
    for child in node.children:
        _plan_streams(child)
    if not isinstance(node, Sequence):
        return
    for before, after in zip(node.children, node.children[1:], strict=False):
        producers = [leaf.component for leaf in last_leaves(before) if leaf.component.streaming]
        if not producers:
            continue
        for leaf in first_leaves(after):
            consumer: PlannedComponent = leaf.component
            binding = consumer.binding
            reads_all = binding.wants_upstream or binding.wants_context or binding.var_keyword
            for producer in producers:
                by_name = any(name == producer.alias for name, _ in binding.lookups) or any(
                    name == producer.alias and source == "key"
                    for name, source, _ in binding.positional)
                if reads_all or by_name:
                    consumer.stream_inputs.append(producer.alias)
                    producer.subscribers.append(consumer.alias)
