"""The reserved parameter ``state``: loaded when a run starts, saved once it succeeded.

A component that takes ``state`` receives a mutable dict of JSON values, its own, kept per
(pipeline name, alias) in the state store (:mod:`adf_core.data.state_store`). The run saves
every alias's state in one transaction only after the flow ended without error, that is after
every destination committed: a failed or killed run leaves the state as it was, and the next
run reads the same data again (at-least-once; exactly once in an upsert destination).

A destination writing to the same database as the store may do better: it calls
``write_state_in(connection, url)`` right before its COMMIT, and the state then commits with
the data, in one transaction (exactly once, without a key). That is done only when it is the
flow's only destination and every component that keeps state has finished.
"""

from __future__ import annotations

import copy
import threading
from collections.abc import Mapping
from typing import Any

from adf_core.engine.markers import marked
from adf_core.errors import FlowDefinitionError

#: ``component(state_when="OPTION")``: the component keeps state only when that option is set.
STATE_WHEN = "__adf_state_when__"


def keeps_state(fn: Any, options: Mapping[str, Any], takes_state: bool) -> bool:
    """Whether a component instance keeps state: it takes ``state`` and, when it declares
    ``state_when``, that option is set."""
    if not takes_state:
        return False
    option = marked(fn, STATE_WHEN)
    if option is None:
        return True
    value = options.get(option)
    if isinstance(value, str):
        return value.strip().lower() not in ("", "false", "0", "no", "off")
    return bool(value)


def check_named(name: str | None, aliases: list[str]) -> None:
    """A flow whose components keep state needs a name: the state is kept under it."""
    if aliases and not name:
        listed = ", ".join(repr(alias) for alias in aliases)
        raise FlowDefinitionError(
            f"{listed} keep{'s' if len(aliases) == 1 else ''} state between runs, which is "
            "kept under the pipeline's name: give the flow a name (DataFlow(name=...), "
            "`name = \"...\"` in the pipeline file, or adf run --name NAME)")
    if name is not None and (not isinstance(name, str) or not name.strip()):
        raise FlowDefinitionError(f"name must be a non-empty string, got {name!r}")


class RunStates:
    """The states of one run's components, from load to save."""

    def __init__(self, pipeline: str, url: str, aliases: list[str], run_id: str) -> None:
        from adf_core.data.state_store import StateStore

        self.pipeline = pipeline
        self.aliases = aliases
        self.run_id = run_id
        self.store = StateStore(url)
        self.values: dict[str, dict[str, Any]] = {}
        self._written: dict[str, Any] | None = None  # what a destination committed
        self._lock = threading.Lock()
        self.statuses: Mapping[str, str] = {}
        self.destinations: tuple[str, ...] = ()
        #: streaming components that ended (before their readers are told)
        self.done: set[str] = set()

    def load(self) -> None:
        try:
            saved = self.store.load(self.pipeline)
        finally:
            self.store.close()
        self.values = {alias: dict(saved.get(alias) or {}) for alias in self.aliases}

    def of(self, alias: str) -> dict[str, Any]:
        return self.values.setdefault(alias, {})

    def _snapshot(self) -> dict[str, Any]:
        return {alias: copy.deepcopy(self.values.get(alias, {})) for alias in self.aliases}

    def save(self) -> None:
        """Save every alias's state in one transaction, unless a destination already
        committed exactly this state with its data."""
        try:
            with self._lock:
                snapshot = self._snapshot()
                if self._written == snapshot:
                    return
            self.store.save(self.pipeline, snapshot, self.run_id)
        finally:
            self.store.close()

    def write_in(self, connection: Any, url: str, alias: str | None,
                 run: Any = None) -> bool:
        """Write the state on ``connection`` (a SQLAlchemy connection to ``url``, inside the
        caller's open transaction) if that is safe: same database as the store, the caller is
        the flow's only destination, and every component keeping state has finished."""
        from adf_core.data.state_store import (
            encode_state,
            same_database,
            state_statements,
            write_rows,
        )

        if alias is None or self.destinations != (alias,):
            return False
        if any(a not in self.done and self.statuses.get(a) != "finished" for a in self.aliases):
            return False
        if not same_database(url, self.store.url):
            return False
        with self._lock:
            snapshot = self._snapshot()
            encoded = {a: encode_state(v, f"{self.pipeline}.{a}") for a, v in snapshot.items()}
            if run is None:
                write_rows(connection, self.pipeline, encoded, self.run_id)
            else:
                for sql, params in state_statements(self.pipeline, encoded, self.run_id):
                    run(sql, params)
            self._written = snapshot
        return True


def write_state_in(connection: Any, url: str) -> bool:
    """For a destination, right before it commits on ``connection`` (SQLAlchemy, an open
    transaction on the database at ``url``): write the run's state in that transaction when
    the state store is that same database and this is the flow's only destination. Returns
    whether it did (then the state commits with the data, or not at all)."""
    from adf_core.engine.run_info import current_component, current_run

    run = current_run()
    if run is None or run.states is None:
        return False
    return bool(run.states.write_in(connection, url, current_component()))


def write_state_with(run: Any, url: str) -> bool:
    """``write_state_in`` for a destination whose driver is not SQLAlchemy (ADBC): ``run(sql,
    params)`` executes one statement with ``:name`` placeholders inside its transaction."""
    from adf_core.engine.run_info import current_component, current_run

    info = current_run()
    if info is None or info.states is None:
        return False
    return bool(info.states.write_in(None, url, current_component(), run))
