"""``adf plugins``, ``adf components`` and ``adf describe``: what is installed."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import click

from adf_core.cli.common import echo_json, get_registry, table

if TYPE_CHECKING:
    from adf_core.plugins.metadata import ComponentInfo, Option
    from adf_core.plugins.registry import Entry, Registry

KIND_CHOICE = click.Choice(["source", "transform", "destination"])


@click.command()
@click.option("--json", "as_json", is_flag=True, help="Print machine-readable JSON.")
@click.pass_context
def plugins(ctx: click.Context, as_json: bool) -> None:
    """List installed plugins: versions, components and load errors."""
    registry = get_registry(ctx)
    provided: dict[str, list[Entry]] = {}
    for entry in _all_entries(registry):
        provided.setdefault(entry.plugin, []).append(entry)
    rows: list[dict[str, Any]] = []
    for record in sorted(registry.records().values(), key=lambda r: r.name):
        entries = provided.get(record.name, [])
        hooks = _hooks_of(registry, record.name)
        rows.append(
            {
                "name": record.name,
                "module": record.module,
                "distribution": record.dist,
                "version": record.version,
                "status": record.status,
                "error": record.error,
                "components": [{"name": e.name, "kind": e.kind} for e in entries],
                "executors": _executors_of(registry, record.name) if "adf_executors" in hooks
                else [],
                "hooks": hooks,
            }
        )
    conflicts = [registry.conflict_text(kind, name) for kind, name in registry.conflicts]
    if as_json:
        echo_json({"plugins": rows, "conflicts": conflicts})
        return
    click.echo(
        table(
            ["NAME", "DISTRIBUTION", "VERSION", "STATUS", "COMPONENTS"],
            [
                [r["name"], r["distribution"] or "-", r["version"] or "-", r["status"],
                 _provided_text(r) or "-"]
                for r in rows
            ],
        )
    )
    for row in rows:
        if row["error"]:
            click.echo(f"error: plugin {row['name']!r}: {row['error']}", err=True)
    _warn_conflicts(registry)


@click.command()
@click.option("--kind", type=KIND_CHOICE, help="Only components of this kind.")
@click.option("--json", "as_json", is_flag=True, help="Print machine-readable JSON.")
@click.pass_context
def components(ctx: click.Context, kind: str | None, as_json: bool) -> None:
    """List components by name and kind, with the plugin that provides each."""
    registry = get_registry(ctx)
    entries = registry.components(kind)
    _warn_conflicts(registry)
    if as_json:
        echo_json([_entry_json(registry, e) for e in entries])
        return
    click.echo(
        table(
            ["NAME", "KIND", "PLUGIN", "DESCRIPTION"],
            [[e.name, e.kind, e.provider, e.info().description] for e in entries],
        )
    )


@click.command()
@click.argument("name")
@click.option("--kind", type=KIND_CHOICE, help="Only this kind, when NAME has several.")
@click.option("--json", "as_json", is_flag=True, help="Print machine-readable JSON.")
@click.pass_context
def describe(ctx: click.Context, name: str, kind: str | None, as_json: bool) -> None:
    """Show a component's options, types, defaults and documentation."""
    registry = get_registry(ctx)
    clashing = [e for (k, n), es in registry.conflicts.items() if n == name for e in es]
    entries = [e for e in [*registry.lookup(name), *clashing] if kind in (None, e.kind)]
    if not entries:
        raise click.UsageError(registry.unknown_message(name, kind), ctx)
    _warn_conflicts(registry, name)
    if as_json:
        echo_json([_entry_json(registry, e) for e in entries])
        return
    blocks = [_describe_text(registry, e) for e in entries]
    click.echo("\n\n".join(blocks))


def _warn_conflicts(registry: Registry, name: str | None = None) -> None:
    for kind, clash in registry.conflicts:
        if name in (None, clash):
            click.echo(f"conflict: {registry.conflict_text(kind, clash)}", err=True)


def _all_entries(registry: Registry) -> list[Entry]:
    entries = registry.components()
    for clashing in registry.conflicts.values():
        entries.extend(clashing)
    return entries


def _component_list(items: list[dict[str, str]]) -> str:
    kinds: dict[str, list[str]] = {}
    for item in items:
        kinds.setdefault(item["name"], []).append(item["kind"])
    return ", ".join(f"{n} ({'/'.join(k)})" for n, k in kinds.items())


def _hooks_of(registry: Registry, plugin: str) -> list[str]:
    """The ``adf`` hooks a plugin implements, in the order of their specifications."""
    from adf_core.plugins import hookspecs

    module = registry.pm.get_plugin(plugin)
    if module is None:
        return []
    implemented = {caller.name for caller in registry.pm.get_hookcallers(module) or []}
    return [name for name in vars(hookspecs) if name in implemented]


def _executors_of(registry: Registry, plugin: str) -> list[str]:
    for impl in registry.pm.hook.adf_executors.get_hookimpls():
        if impl.plugin_name == plugin:
            try:
                provided: Any = impl.function() or {}
                return sorted(str(name) for name in dict(provided))
            except KeyboardInterrupt:
                raise
            except BaseException:  # a flow that asks for an executor reports the failure
                return []
    return []


#: how ``adf plugins`` names the lifecycle hooks of an observer plugin, by what they observe
_OBSERVES = {"adf_run_started": "run", "adf_run_finished": "run", "adf_stage_started": "stage",
             "adf_component_started": "component", "adf_component_retrying": "component",
             "adf_component_finished": "component"}


def _provided_text(row: dict[str, Any]) -> str:
    """What a plugin provides, for the COMPONENTS column: its components, executors, and the
    lifecycle hooks of an observer (``observer (run, component hooks)``)."""
    parts = [_component_list(row["components"])]
    if row["executors"]:
        parts.append("executors: " + ", ".join(row["executors"]))
    observes = dict.fromkeys(_OBSERVES[h] for h in row["hooks"] if h in _OBSERVES)
    if observes:
        parts.append(f"observer ({', '.join(observes)} hooks)")
    return "; ".join(part for part in parts if part)


def _provider(registry: Registry, entry: Entry) -> str:
    record = registry.records().get(entry.plugin)
    if record is None or record.dist is None:
        return f"plugin {entry.plugin!r}"
    return f"{record.dist} {record.version} (plugin {entry.plugin!r})"


def _entry_json(registry: Registry, entry: Entry) -> dict[str, Any]:
    from adf_core.observe.secrets import MASK

    info = entry.info()
    return {
        "name": entry.name,
        "kind": entry.kind,
        "plugin": entry.plugin,
        "distribution": entry.dist,
        "description": info.description,
        "target": info.target,
        "mode": info.mode,
        "reads_upstream": info.reads_upstream,
        "doc": info.doc,
        "options": [
            {
                "name": o.name,
                "type": o.type,
                "required": o.required,
                "default": None if o.required else (MASK if o.secret and o.default else o.default),
                "secret": o.secret,
                "doc": o.doc,
            }
            for o in info.options
        ],
    }


def _default_text(option: Option) -> str:
    if option.required:
        return "required"
    if option.secret and option.default:
        return "***"
    return repr(option.default)


def _describe_text(registry: Registry, entry: Entry) -> str:
    info: ComponentInfo = entry.info()
    lines = [f"{entry.name} ({entry.kind}) from {_provider(registry, entry)}"]
    if info.description:
        lines.append(f"  {info.description}")
    lines.append(f"  callable: {info.target} [{info.mode}]")
    if info.reads_upstream:
        lines.append("  reads: upstream (every output of the previous stage)")
    if info.options:
        lines.append("")
        rows = [
            [o.name, o.type or "-", _default_text(o), ("secret. " if o.secret else "") + o.doc]
            for o in info.options
        ]
        body = table(["OPTION", "TYPE", "DEFAULT", "DESCRIPTION"], rows)
        lines.extend(f"  {line}" for line in body.splitlines())
        lines.append("")
        lines.append(f"  Set with -o {entry.name}.OPTION=VALUE or ADF_{entry.name.upper()}_OPTION.")
    from adf_core.plugins.metadata import doc_body

    rest = doc_body(info.doc)
    if rest:
        lines.append("")
        lines.extend(f"  {line}".rstrip() for line in rest.splitlines())
    return "\n".join(lines)
