"""``adf state list | show NAME | reset NAME [ALIAS]``: the state pipelines keep between runs.

The store is found as ``adf run`` finds it: ``--state URL``, else ``ADF_STATE``, else
``sqlite:///.adf/state.db`` under the working directory.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import click

from adf_core.cli.common import echo_json, table

if TYPE_CHECKING:
    from adf_core.data.state_store import StateStore, StoredState

_STATE_OPTION = click.option(
    "--state", "state_url", metavar="URL",
    help="State store URL (default: $ADF_STATE, else sqlite:///.adf/state.db).")


@click.group()
def state() -> None:
    """Inspect and reset the state that pipelines keep between runs."""


def _rows(state_url: str | None, pipeline: str | None = None) -> list[StoredState]:
    from adf_core.data.state_store import StateStoreError

    store = _store(state_url)
    try:
        return store.rows(pipeline)
    except StateStoreError as exc:
        raise click.ClickException(str(exc)) from None
    finally:
        store.close()


def _store(state_url: str | None) -> StateStore:
    from adf_core.data.state_store import StateStore, store_url

    return StateStore(store_url(state_url))


@state.command("list")
@_STATE_OPTION
@click.option("--json", "as_json", is_flag=True, help="Print machine-readable JSON.")
def list_state(state_url: str | None, as_json: bool) -> None:
    """The pipelines with saved state: aliases, size and last update."""
    pipelines: dict[str, list[StoredState]] = {}
    for row in _rows(state_url):
        pipelines.setdefault(row.pipeline, []).append(row)
    found: list[dict[str, Any]] = [{"name": name, "aliases": [r.alias for r in rows],
              "bytes": sum(r.size for r in rows),
              "updated_at": max((r.updated_at or "" for r in rows), default="") or None}
             for name, rows in pipelines.items()]
    if as_json:
        echo_json({"store": _store(state_url).shown, "pipelines": found})
        return
    if not found:
        click.echo(f"no saved state in {_store(state_url).shown}")
        return
    click.echo(table(["NAME", "ALIASES", "BYTES", "UPDATED"],
                     [[p["name"], ", ".join(p["aliases"]), str(p["bytes"]),
                       p["updated_at"] or "-"] for p in found]))


@state.command()
@click.argument("name")
@_STATE_OPTION
@click.option("--json", "as_json", is_flag=True, help="Print machine-readable JSON.")
def show(name: str, state_url: str | None, as_json: bool) -> None:
    """The saved state of pipeline NAME, per alias."""
    rows = _rows(state_url, name)
    if not rows:
        _unknown(name, state_url)
    if as_json:
        echo_json({"name": name, "aliases": {
            r.alias: {"state": r.value, "run_id": r.run_id, "updated_at": r.updated_at,
                      "bytes": r.size} for r in rows}})
        return
    for row in rows:
        click.echo(f"{row.alias}  (run {row.run_id or '-'}, {row.updated_at or '-'}, "
                   f"{row.size} bytes)")
        click.echo(json.dumps(row.value, indent=2, sort_keys=True, default=str))


@state.command()
@click.argument("name")
@click.argument("alias", required=False)
@_STATE_OPTION
def reset(name: str, alias: str | None, state_url: str | None) -> None:
    """Forget the state of pipeline NAME (or of one ALIAS): its next run starts over."""
    rows = _rows(state_url, name)
    if not rows:
        _unknown(name, state_url)
    if alias is not None and alias not in {r.alias for r in rows}:
        from adf_core.text import did_you_mean

        known = [r.alias for r in rows]
        raise click.ClickException(
            f"pipeline {name!r} keeps no state for {alias!r}{did_you_mean(alias, known)}; "
            f"its aliases are: {', '.join(known)}")
    store = _store(state_url)
    try:
        removed = _guarded(lambda: store.reset(name, alias))
    finally:
        store.close()
    what = f"{alias!r} of {name!r}" if alias else f"{name!r}"
    click.echo(f"reset the state of {what} ({removed} alias{'es' if removed != 1 else ''})")


def _guarded(work: Callable[[], Any]) -> Any:
    from adf_core.data.state_store import StateStoreError

    try:
        return work()
    except StateStoreError as exc:
        raise click.ClickException(str(exc)) from None


def _unknown(name: str, state_url: str | None) -> None:
    from adf_core.text import did_you_mean

    known = sorted({r.pipeline for r in _rows(state_url)})
    listed = ", ".join(known) if known else "none"
    raise click.ClickException(
        f"no saved state for pipeline {name!r}{did_you_mean(name, known)} in "
        f"{_store(state_url).shown}; pipelines with state: {listed}")
