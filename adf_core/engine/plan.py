"""Resolve a definition tree once into a plan: per component, its signature, how its
arguments are bound, how it is called, its engine settings and its stream subscriptions."""

from __future__ import annotations

import inspect
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from adf_core.engine.binding import Binding
from adf_core.engine.callables import ASYNC, ASYNC_GEN, SYNC_GEN, analyse, partial_keywords
from adf_core.engine.declared import declared
from adf_core.engine.definition import Leaf, Node, Sequence, first_leaves, last_leaves, leaves
from adf_core.engine.executors.pool import FlowThreads
from adf_core.engine.rejects import check_max_errors, check_policy
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

    @property
    def streaming(self) -> bool:
        return self.call in (ASYNC_GEN, SYNC_GEN)

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


def compile_plan(root: Sequence, defaults: Defaults) -> Plan:
    all_leaves = leaves(root)
    seen: dict[str, Leaf] = {}
    components = []
    for leaf in all_leaves:
        if leaf.alias in seen:
            other = seen[leaf.alias]
            raise FlowDefinitionError(
                f"the alias {leaf.alias!r} is used twice ({other.position} and {leaf.position}); "
                f"give each instance its own name: in Python step(fn, name='second'), in an "
                f"expression 'first={leaf.alias}, second={leaf.alias}'")
        seen[leaf.alias] = leaf
        leaf.component = _plan_component(leaf, defaults)
        components.append(leaf.component)
    _plan_streams(root)
    for leaf, component in zip(all_leaves, components, strict=True):
        if component.is_async or component.executor == "threads":
            continue  # async components stay on the loop whatever the executor
        if not (component.streaming or component.stream_inputs):
            continue
        if leaf.step.executor is None:
            component.executor = "threads"  # the flow's default: streams stay in this process
        else:
            raise FlowDefinitionError(
                f"component {component.alias!r} ({component.position}) streams, and streams "
                f"stay in this process: it cannot run on executor {component.executor!r}; "
                "use executor='threads' for it")
    peers, stage_members = _stage_peers(root, components)
    return Plan(root=root, components=components, defaults=defaults,
                by_alias={c.alias: c for c in components}, peers=peers,
                stage_members=stage_members,
                has_streams=any(c.streaming for c in components),
                executors={c.executor for c in components if not c.is_async},
                threads=FlowThreads(defaults.max_threads))


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


def _plan_component(leaf: Leaf, defaults: Defaults) -> PlannedComponent:
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
        binding=Binding(leaf.alias, leaf.position, signature, options, partial_keywords(fn)),
        on_error=on_error,
        max_errors=max_errors,
        routes=bool(declared(fn, "routes", False)),
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
