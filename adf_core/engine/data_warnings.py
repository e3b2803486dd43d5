"""Data warnings of one run: things that lose data without failing anything.

A component says so with ``adf_core.warn(...)``; the engine itself warns about groups a
routing component (``split``) returned that no later component reads. A warning is a
``data.warning`` event, kept for the run summary (``FlowResult.warnings``, ``--json``); under
``strict`` it is an error instead, and the component that warned fails.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterable
from typing import TYPE_CHECKING, Any

from adf_core.engine.counting import dataset_records
from adf_core.errors import DataWarningError

if TYPE_CHECKING:
    from adf_core.engine.plan import Plan, PlannedComponent


class RunWarnings:
    """The warnings of one run, in the order they were given."""

    def __init__(self, strict: bool, emit: Callable[..., None] | None = None) -> None:
        self.strict = strict
        self.items: list[dict[str, Any]] = []
        self._emit = emit
        self._lock = threading.Lock()

    def add(self, component: str | None, message: str, **fields: Any) -> None:
        """Record a warning; under ``strict`` raise DataWarningError instead."""
        if self.strict:
            who = f"{component}: " if component else ""
            raise DataWarningError(f"{who}{message} (a warning, an error under strict)")
        entry = {"component": component, "message": message, **fields}
        with self._lock:
            self.items.append(entry)
        if self._emit is not None:
            self._emit("data.warning", **entry)


def _names(value: Any) -> list[str]:
    if isinstance(value, str):
        return [n.strip() for n in value.split(",") if n.strip()]
    if isinstance(value, Iterable):
        return [str(n) for n in value]
    return []


def unread_keys(plan: Plan, comp: PlannedComponent, keys: Iterable[str]) -> list[str]:
    """The keys ``comp`` returned that no later component reads.

    A later component reads a key when a parameter of its is named so, or its ``input``
    option names it (a component with an ``input`` option reads those keys: the built-ins
    take ``context`` only for them); one without an ``input`` option that takes ``context``,
    ``upstream`` or ``**kwargs`` may read anything (then nothing is reported). After-run
    components (``notify``) only report on the run: they take records nowhere.
    """
    later = [other for other in plan.components[plan.components.index(comp) + 1:]
             if not other.after_run]
    read: set[str] = set()
    for other in later:
        binding = other.binding
        if other.options.get("input"):
            read.update(_names(other.options["input"]))
        elif binding.wants_context or binding.var_keyword or binding.wants_upstream or any(
                name == "input" for name, _ in binding.lookups):
            return []
        read.update(name for name, _ in binding.lookups)
        read.update(name for name, source, _ in binding.positional if source == "key")
    return [key for key in keys if key not in read]


def check_routes(plan: Plan, warnings: RunWarnings, comp: PlannedComponent,
                 value: dict[str, Any]) -> None:
    """Warn about the groups a routing component returned that nobody reads."""
    unread = unread_keys(plan, comp, value)
    if not unread:
        return
    sizes = {key: dataset_records(value[key]) for key in unread}  # records, not batches
    shown = ", ".join(f"{key!r} ({n} records)" if n is not None else repr(key)
                      for key, n in sizes.items())
    lost = sum(n for n in sizes.values() if n)
    warnings.add(
        comp.alias,
        f"returned {len(unread)} group{'s' if len(unread) != 1 else ''} that no later component "
        f"reads, so {lost} records go nowhere: {shown}; read them with an `input` option "
        f"(-o ALIAS.input={unread[0]}), or route them elsewhere",
        groups=unread, records=lost)
