"""``adf run``: build a flow from an expression, tier flags or a pipeline file, and run it."""

from __future__ import annotations

import sys
import time
from typing import TYPE_CHECKING, Any

import click

from adf_core.cli.common import echo_json, get_registry, table
from adf_core.cli.validate import find_problems, probe, probe_rows, report_problems, show_probes

if TYPE_CHECKING:
    from collections.abc import Callable
    from pathlib import Path

    from adf_core.cli.spec import FlowSpec
    from adf_core.engine.flow import DataFlow
    from adf_core.engine.result import FlowResult
    from adf_core.observe.secrets import Redactor
    from adf_core.plugins.registry import Registry


class _MaxErrors(click.ParamType):
    """A count (``5``) or a fraction below 1 (``0.01``)."""

    name = "max_errors"

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None
                ) -> Any:
        from adf_core.engine.rejects import check_max_errors
        from adf_core.errors import FlowDefinitionError

        try:
            return check_max_errors(value)
        except FlowDefinitionError as exc:
            self.fail(str(exc), param, ctx)


MAX_ERRORS = _MaxErrors()


@click.command(short_help="Run a flow: an expression, tier flags or a pipeline file.")
@click.argument("expression", required=False, metavar="[EXPR]")
@click.option("--source", "sources", metavar="S,...", help="First stage: parallel sources.")
@click.option(
    "--transform", "transforms", multiple=True, metavar="T",
    help="A middle stage (repeat for a sequence of stages).",
)
@click.option("--dest", "dests", metavar="D,...", help="Last stage: parallel destinations.")
@click.option(
    "-f", "--file", "pipeline_file", type=click.Path(dir_okay=False),
    help="A pipeline file (TOML); ${VAR} is read from the environment.",
)
@click.option(
    "-o", "--option", "options", multiple=True, metavar="ALIAS.KEY=VALUE",
    help="A component option (also ADF_<ALIAS>_<KEY> in the environment).",
)
@click.option("-p", "--param", "params", multiple=True, metavar="KEY=VALUE",
              help="An initial context value (a string; KEY:=JSON for numbers, lists...).")
@click.option("--retries", type=click.IntRange(min=0), metavar="N",
              help="Retries per component (default 0).")
@click.option("--timeout", type=click.FloatRange(min=0, min_open=True), metavar="SECONDS",
              help="Timeout per component attempt.")
@click.option("--executor", metavar="NAME",
              help="Executor for sync components: threads, processes, dask.")
@click.option("--executor-address", metavar="URL", help="Address of a Dask scheduler.")
@click.option("--max-concurrency", type=click.IntRange(min=1), metavar="N",
              help="Components running at once.")
@click.option("--max-threads", type=click.IntRange(min=1), metavar="N",
              help="Worker threads for sync components.")
@click.option(
    "--log-format", type=click.Choice(["auto", "console", "json"]), default="auto",
    show_default=True, help="Log lines on stderr: console on a TTY, JSON lines otherwise.",
)
@click.option("-v", "--verbose", count=True, help="Debug events and tracebacks.")
@click.option("-q", "--quiet", is_flag=True, help="Only warnings and errors on stderr.")
@click.option("--trace-file", type=click.Path(dir_okay=False), metavar="FILE",
              help="Write a Chrome trace-event JSON of the run (open it in Perfetto).")
@click.option("--json", "as_json", is_flag=True, help="Print the result (or plan) as JSON.")
@click.option("--dry-run", is_flag=True,
              help="Validate everything, report every problem, print the plan; run nothing.")
@click.option("--check", is_flag=True,
              help="--dry-run, and open every connection (database, bucket, URL) too.")
@click.option("--on-error", type=click.Choice(["fail", "skip", "dead_letter"]),
              help="Bad records: fail the run (default), skip them, or dead-letter them.")
@click.option("--max-errors", type=MAX_ERRORS, metavar="N|F",
              help="Bad records a component may skip: a count, or a fraction below 1.")
@click.option("--dead-letter", type=click.Path(dir_okay=False), metavar="PATH",
              help="JSON-lines file of the bad records (implies --on-error dead_letter).")
@click.option("--strict", is_flag=True, default=None,
              help="Data warnings (e.g. split groups nobody reads) fail the run.")
@click.option("--name", metavar="NAME",
              help="The pipeline's name: the key of the state its components keep.")
@click.option("--state", "state_url", metavar="URL",
              help="State store URL (default: $ADF_STATE, else sqlite:///.adf/state.db).")
@click.pass_context
def run(ctx: click.Context, expression: str | None, sources: str | None,
        transforms: tuple[str, ...], dests: str | None, pipeline_file: str | None,
        options: tuple[str, ...], params: tuple[str, ...], retries: int | None,
        timeout: float | None, executor: str | None, executor_address: str | None,
        max_concurrency: int | None, max_threads: int | None, log_format: str, verbose: int,
        quiet: bool, trace_file: str | None, as_json: bool, dry_run: bool, check: bool,
        on_error: str | None, max_errors: float | None, dead_letter: str | None,
        strict: bool | None, name: str | None, state_url: str | None) -> None:
    """Run a flow: EXPR (e.g. "a, b | merge | c"), tier flags, or -f FILE.

    \b
    adf run --source db --transform merge --dest s3,notify -o db.url=sqlite:///a.db
    adf run "good=file, bad=file | merge | stdout" -o good.path=a.csv -o bad.path=b.csv
    adf run -f flow.toml -p day=2026-11-24 --dry-run
    """
    from pathlib import Path

    from adf_core.cli.redaction import learn_declared, learn_declared_by_name
    from adf_core.cli.spec import make_spec
    from adf_core.observe.secrets import Redactor

    spec = make_spec(
        expression, sources=sources, transforms=transforms, dests=dests,
        pipeline_file=Path(pipeline_file) if pipeline_file else None,
        options=options, params=params,
        defaults={"retries": retries, "timeout": timeout, "executor": executor,
                  "executor_address": executor_address, "max_concurrency": max_concurrency,
                  "max_threads": max_threads, "on_error": on_error, "max_errors": max_errors,
                  "dead_letter": dead_letter, "strict": strict, "name": name,
                  "state": state_url},
    )
    redactor = Redactor()
    redactor.learn(spec.options)
    redactor.learn({"params": spec.params})
    registry = get_registry(ctx)
    learn_declared_by_name(redactor, spec, registry)
    problems = find_problems(spec, resolver(registry), redactor)
    if problems:
        report_problems(problems, spec, redactor, as_json=as_json)
        ctx.exit(2)
    flow = build_flow(spec, registry, redactor, ctx)
    learn_declared(redactor, spec, flow)
    if dry_run or check:
        outcomes = probe(flow, spec) if check else None
        show_plan(flow, spec, registry, redactor, as_json,
                  checks=None if outcomes is None else probe_rows(outcomes, redactor))
        if outcomes is not None:
            show_probes(outcomes, redactor, as_json=as_json)
        if outcomes is not None and any(o.status == "failed" for o in outcomes):
            ctx.exit(2)
        return
    verbosity = -1 if quiet else verbose
    trace_path = Path(trace_file) if trace_file else None
    if trace_path is not None and not trace_path.parent.resolve().is_dir():
        raise click.BadParameter(f"the directory {str(trace_path.parent)!r} does not exist",
                                 param_hint="--trace-file")
    execute(flow, spec, redactor, registry, verbosity=verbosity, log_format=log_format,
            trace_file=trace_path, as_json=as_json)


def resolver(registry: Registry) -> Callable[[str, str], Any]:
    """Names through the registry, ``module:attr`` by import."""
    from adf_core.engine.expression import import_reference

    def resolve(name: str, kind: str) -> Any:
        return import_reference(name) if ":" in name else registry.resolve(name, kind)

    return resolve


def build_flow(spec: FlowSpec, registry: Registry, redactor: Redactor,
               ctx: click.Context | None = None) -> DataFlow:
    """``DataFlow.parse`` with the registry's resolver; definition errors are usage errors."""
    from adf_core.engine.flow import DataFlow
    from adf_core.errors import FlowDefinitionError

    resolve = resolver(registry)
    try:
        return DataFlow.parse(spec.expression, resolver=resolve, options=spec.options,
                              settings=spec.settings, **spec.defaults)
    except FlowDefinitionError as exc:
        message = f"{exc}{spec.env_note(str(exc))}"
        raise click.UsageError(redactor.text(message), ctx) from None
    except TypeError as exc:  # a setting of the wrong type, e.g. retries = "x" in a file
        raise click.UsageError(redactor.text(f"invalid setting: {exc}"), ctx) from None


def plan_rows(flow: DataFlow, registry: Registry, redactor: Redactor) -> list[dict[str, Any]]:
    rows = []
    for c in flow.components:
        entry = next((e for e in registry.lookup(c.name) if e.kind == c.kind), None)
        rows.append({
            "stage": c.stage, "position": c.position, "alias": c.alias, "component": c.name,
            "kind": c.kind, "plugin": entry.provider if entry else None,
            "executor": "loop" if c.is_async else c.executor,
            "executor_note": c.executor_note, "after_run": c.after_run,
            "retries": c.retries, "retries_cover": c.retries_cover, "timeout": c.timeout,
            "on_error": c.on_error, "max_errors": c.max_errors,
            "options": redactor.mapping(dict(c.options)),
        })
    return rows


def _settings(row: dict[str, Any]) -> str:
    """``threads, retries: 2 until first item, timeout: 30s, on_error: skip, max_errors: 5``
    for the plan table (the bad-record policy only when it does not simply fail)."""
    executor = row["executor"]
    if row["executor_note"]:
        executor += " (stays in this process)"
    cover = row["retries_cover"]
    if cover.startswith("n/a"):
        retries = f"retries: {cover}"
    elif cover == "until first item" and row["retries"]:
        retries = f"retries: {row['retries']} until first item"
    else:
        retries = f"retries: {row['retries']}"
    timeout = "-" if row["timeout"] is None else f"{row['timeout']:g}s"
    policy = ""
    if row["on_error"] != "fail":
        policy = f", on_error: {row['on_error']}"
        if row["max_errors"] is not None:
            policy += f", max_errors: {row['max_errors']:g}"
    return f"{executor}, {retries}, timeout: {timeout}{policy}"


def show_plan(flow: DataFlow, spec: FlowSpec, registry: Registry, redactor: Redactor,
              as_json: bool, checks: list[dict[str, Any]] | None = None) -> None:
    rows = plan_rows(flow, registry, redactor)
    params = redactor.mapping(spec.params)
    state = _state_plan(flow, redactor)
    if as_json:
        echo_json({"flow": flow.expression, "params": params, "components": rows,
                   "dry_run": True, **({"state": state} if state else {}),
                   **({} if checks is None else {"checks": checks})})
        return
    click.echo(f"flow: {redactor.text(flow.expression)}")
    if params:
        click.echo("params: " + ", ".join(f"{k}={v}" for k, v in params.items()))
    if state:
        click.echo(f"state: pipeline {state['name']!r}, kept by {', '.join(state['aliases'])} "
                   f"in {state['store']}")
    body = [
        [r["position"], r["alias"], r["component"], r["kind"], r["plugin"] or "-",
         _settings(r), ", ".join(f"{k}={v}" for k, v in r["options"].items()) or "-"]
        for r in rows
    ]
    headers = ["POSITION", "ALIAS", "COMPONENT", "KIND", "PLUGIN", "SETTINGS", "OPTIONS"]
    click.echo(table(headers, body))
    for r in rows:
        if r["executor_note"]:
            click.echo(f"note: {r['alias']} runs on threads: {r['executor_note']}")
    click.echo("dry run: nothing was run")


def _state_plan(flow: DataFlow, redactor: Redactor) -> dict[str, Any] | None:
    """Where the flow's components keep their state (None: none keeps any)."""
    from adf_core.data.state_store import store_url

    aliases = flow.plan.state_aliases
    if not aliases:
        return None
    return {"name": flow.defaults.name, "aliases": list(aliases),
            "store": redactor.text(store_url(flow.defaults.state))}


def execute(flow: DataFlow, spec: FlowSpec, redactor: Redactor, registry: Registry, *,
            verbosity: int, log_format: str, trace_file: Path | None, as_json: bool) -> None:
    """Run the flow with logging, live view, trace file and signal handling; exit 1 when it
    fails, 128 + N when signal N stopped it."""
    import asyncio
    import uuid

    from adf_core.cli.live import LiveView, StdoutGuard, live_view_wanted
    from adf_core.cli.logs import configured
    from adf_core.cli.signals import Interrupts, exit_code, signal_name
    from adf_core.observe.tracefile import TraceCollector
    from adf_core.plugins import observing

    tty = sys.stderr.isatty()
    json_lines = log_format == "json" or (log_format == "auto" and not tty)
    collector = TraceCollector()
    live = LiveView(sys.stderr).start() if live_view_wanted(verbosity) else None
    sinks: list[Any] = [collector, *([live] if live else [])]
    stream: Any = live if live is not None else sys.stderr
    guard = StdoutGuard.install(live) if live is not None else None
    failure: BaseException | None = None
    result = None
    run_id = uuid.uuid4().hex[:12]
    interrupts = Interrupts(run_id)
    started = time.perf_counter()
    try:
        with configured(stream=stream, json_lines=json_lines, colors=tty, verbosity=verbosity,
                        redactor=redactor, sinks=sinks), observing(registry.pm):
            try:
                result = interrupts.run(lambda: flow(spec.params, run_id=run_id))
            except (Exception, asyncio.CancelledError) as exc:
                failure = exc
    except KeyboardInterrupt:
        click.echo("interrupted", err=True)
        sys.exit(130)
    finally:
        if guard is not None:
            guard.uninstall()
        if live is not None:
            live.stop()
        if trace_file is not None:
            try:
                collector.write(trace_file)
            except OSError as exc:  # the run is done: say so, do not turn it into a failure
                click.echo(f"warning: cannot write the trace file: {exc}", err=True)
    elapsed = time.perf_counter() - started
    signum = interrupts.received if failure is not None else None
    if failure is not None:
        report_failure(failure, redactor, verbosity=verbosity, as_json=as_json, flow=flow,
                       run_id=run_id, seconds=elapsed,
                       signal=signal_name(signum) if signum is not None else None)
        if signum is not None:
            click.echo(f"adf: run {run_id} stopped by {signal_name(signum)}: it was cancelled, "
                       "open commits were rolled back and temporary files removed "
                       f"(exit {exit_code(signum)})", err=True)
            sys.exit(exit_code(signum))
        sys.exit(1)
    assert result is not None
    summary = result_summary(flow, result, elapsed)
    if as_json:
        echo_json(redactor.value("result", summary))
    elif verbosity >= 0:
        if interrupts.drained is not None:
            click.echo(f"adf: run {run_id} drained on {signal_name(interrupts.drained)}: "
                       "what was read is committed and acknowledged", err=True)
        click.echo(f"run {summary['run_id']} succeeded in {summary['seconds']:.3f}s", err=True)
        click.echo(summary_table(summary["components"]), err=True)
        show_data_notes(summary, redactor)
    _warn_after_run(summary["after_run_errors"], redactor, as_json, verbosity)


def summary_table(components: list[dict[str, Any]]) -> str:
    rows = [[c["alias"], c["kind"], "after" if c["after_run"] else c["stage"], c["status"],
             f"{c['seconds']:.3f}", c["records_in"], c["records_out"], c["records_rejected"]]
            for c in components]
    return table(["ALIAS", "KIND", "STAGE", "STATUS", "SECONDS", "RECORDS IN", "RECORDS OUT",
                  "REJECTED"], rows)


def _warn_after_run(errors: list[dict[str, Any]], redactor: Redactor, as_json: bool,
                    verbosity: int) -> None:
    """After-run failures never change the exit code; say them once on stderr."""
    if as_json:
        return
    for error in errors:
        click.echo(f"warning: after-run component {error['component']!r} failed: "
                   f"{redactor.text(error['error'])}", err=True)


def component_rows(flow: DataFlow, report: Any, records: Any, timings: Any,
                   after_errors: list[Any]) -> list[dict[str, Any]]:
    """Per component: status, seconds and records, from the run report (and, for after-run
    components, from what they did after it)."""
    reported = report["components"] if report is not None else {}
    failed_after = {getattr(e, "component", None) for e in after_errors}
    rows = []
    for c in flow.components:
        counts = records.get(c.alias) if records is not None else None
        if c.after_run:
            status = "failed" if c.alias in failed_after else \
                "succeeded" if counts is not None else "skipped"
        else:
            status = reported.get(c.alias, {}).get("status", "skipped")
        rows.append({
            "alias": c.alias, "component": c.name, "kind": c.kind, "stage": c.stage,
            "after_run": c.after_run, "status": status,
            "seconds": round(float((timings or {}).get(c.alias, 0.0)), 6),
            "records_in": counts.records_in if counts else 0,
            "records_out": counts.records_out if counts else 0,
            "records_rejected": counts.records_rejected if counts else 0,
        })
    return rows


def _after_run_errors(errors: list[Any], redactor: Redactor | None = None
                      ) -> list[dict[str, Any]]:
    """``[{"component", "error"}]`` for the ``after_run_errors`` of ``--json``."""
    found = []
    for error in errors:
        cause = getattr(error, "cause", None) or error
        text = f"{type(cause).__name__}: {cause}"
        found.append({"component": getattr(error, "component", None),
                      "error": redactor.text(text) if redactor is not None else text})
    return found


def data_notes(flow: DataFlow, rows: list[dict[str, Any]], warnings: list[dict[str, Any]]
               ) -> dict[str, Any]:
    """What ``--json`` says about bad records and data warnings, after success or failure:
    ``records_rejected`` (the total), ``dead_letter`` (the file) and ``warnings``."""
    return {"records_rejected": sum(row["records_rejected"] for row in rows),
            "dead_letter": flow.defaults.dead_letter, "warnings": warnings}


def result_summary(flow: DataFlow, result: FlowResult, seconds: float) -> dict[str, Any]:
    rows = component_rows(flow, result.report, result.records, result.timings,
                          result.after_run_errors)
    return {
        "status": "succeeded", "run_id": result.run_id, "flow": flow.expression,
        "seconds": round(seconds, 6),
        "components": rows,
        "context_keys": sorted(str(k) for k in result),
        "after_run_errors": _after_run_errors(result.after_run_errors),
        **data_notes(flow, rows, result.warnings),
    }


def show_data_notes(summary: dict[str, Any], redactor: Redactor, failed: bool = False
                    ) -> None:
    """Below the summary table: data warnings and where the bad records went."""
    import os

    for warning in summary["warnings"]:
        who = f"{warning['component']}: " if warning.get("component") else ""
        click.echo(redactor.text(f"warning: {who}{warning['message']}"), err=True)
    where = summary["dead_letter"]
    if failed:
        if where and os.path.isfile(where) and os.path.getsize(where):
            click.echo(f"the bad records rejected before the failure are in {where}", err=True)
        return
    rejected = summary["records_rejected"]
    if rejected:
        kept = f"; dead letters in {where}" if where else ""
        click.echo(f"{rejected} bad record{'s' if rejected != 1 else ''} rejected{kept}",
                   err=True)


def report_failure(exc: BaseException, redactor: Redactor, *, verbosity: int, as_json: bool,
                   flow: DataFlow, run_id: str, seconds: float, signal: str | None = None
                   ) -> None:
    """A short error on stderr (alias, stage, cause); the traceback only with ``-v``."""
    import asyncio
    import traceback

    from adf_core.errors import ComponentError, FlowError

    cancelled = isinstance(exc, asyncio.CancelledError)
    errors = exc.errors if isinstance(exc, ComponentError) else [] if cancelled else [exc]
    if verbosity > 0 and not cancelled:
        text = "".join(traceback.format_exception(exc))
        click.echo(redactor.text(text), err=True, nl=False)
    for error in errors:
        prefix = "error" if isinstance(error, FlowError) else f"error ({type(error).__name__})"
        click.echo(f"{prefix}: {redactor.text(str(error))}", err=True)
    report = getattr(exc, "report", None)
    after_errors = list(getattr(exc, "after_run_errors", None) or [])
    rows = component_rows(flow, report, getattr(exc, "records", None),
                          getattr(exc, "timings", None), after_errors)
    notes = data_notes(flow, rows, list(getattr(exc, "warnings", None) or []))
    show_data_notes(notes, redactor, failed=True)
    if as_json:
        echo_json({
            "status": "failed", "run_id": getattr(exc, "run_id", None) or run_id,
            "flow": redactor.text(flow.expression), "seconds": round(seconds, 6),
            "error": redactor.text(report["error"]) if report and report["error"] else None,
            "signal": signal,
            "errors": [
                {"component": getattr(e, "component", None), "stage": getattr(e, "stage", None),
                 "attempts": getattr(e, "attempts", None), "error": redactor.text(str(e))}
                for e in errors
            ],
            "components": rows,
            "after_run_errors": _after_run_errors(after_errors, redactor),
            **redactor.mapping(notes),
        })
    else:
        if verbosity >= 0:
            click.echo(f"run {run_id} failed in {seconds:.3f}s", err=True)
            click.echo(summary_table(rows), err=True)
        _warn_after_run(_after_run_errors(after_errors, redactor), redactor, False, verbosity)
