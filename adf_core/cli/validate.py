"""``adf run`` validation: every problem of a flow at once (exit 2), and ``--check``'s probes.

Every ``adf run`` validates first, so nothing runs while anything knowable is wrong;
``--dry-run`` stops after it and prints the plan; ``--check`` also opens each connection.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from adf_core.cli.common import echo_json

if TYPE_CHECKING:
    from adf_core.cli.spec import FlowSpec
    from adf_core.engine.expression import Resolver
    from adf_core.engine.flow import DataFlow
    from adf_core.observe.secrets import Redactor
    from adf_core.plugins.checks import Problem
    from adf_core.plugins.validation import ProbeOutcome

#: How long ``--check`` waits for one connection unless ``--timeout`` says otherwise.
PROBE_TIMEOUT = 10.0


def find_problems(spec: FlowSpec, resolve: Resolver, redactor: Redactor) -> list[Problem]:
    """Every problem of the flow ``spec`` describes, in definition order."""
    from adf_core.plugins.checks import Problem
    from adf_core.plugins.validation import validate_expression

    try:
        problems = validate_expression(
            spec.expression, resolver=resolve, options=spec.options, settings=spec.settings,
            params=spec.params, defaults=spec.defaults)
    except Exception as exc:  # a bug here must not keep a valid flow from running
        click.echo(redactor.text(f"warning: the flow could not be validated before the run "
                                 f"({type(exc).__name__}: {exc}); building it as is"), err=True)
        problems = []
    path = spec.defaults.get("dead_letter")
    policies = [("flow", spec.defaults.get("on_error"))]
    policies += [(alias, table.get("on_error")) for alias, table in spec.settings.items()]
    if path is None:
        for who, policy in policies:
            if policy == "dead_letter":
                where = ("the flow's on_error (--on-error or [settings])" if who == "flow"
                         else f"[settings.{who}] on_error")
                problems.append(Problem(
                    f"{where} is dead_letter, but there is no dead-letter file: give "
                    "--dead-letter PATH (or [settings] dead_letter = \"PATH\")"))
                break
    elif not isinstance(path, str | os.PathLike):
        problems.append(Problem(f"dead_letter must be a file path, got {path!r}"))
    else:
        problem = _unwritable(Path(path))
        if problem:
            problems.append(Problem(f"the dead-letter file {str(path)!r} {problem}"))
    return problems


def _unwritable(path: Path) -> str | None:
    if path.is_dir():
        return "is a directory"
    parent = path.parent
    while not parent.exists() and parent != parent.parent:
        parent = parent.parent
    if not parent.is_dir():
        return f"cannot be created: {str(parent)!r} is not a directory"
    if not os.access(parent, os.W_OK | os.X_OK):
        return f"cannot be written: no write permission in {str(parent)!r}"
    return None


def describe(problem: Problem, spec: FlowSpec) -> str:
    """One line: ``alias.option: what is wrong``, with how to set a missing option."""
    text = str(problem)
    if problem.component and problem.option:
        if problem.message.startswith("required,"):
            from adf_core.errors import cli_advice

            var = "ADF_" + "_".join(
                part.upper() for part in (problem.component, problem.option))
            text += (f"; set it with {cli_advice(problem.component, problem.option)}, "
                     f"[components.{problem.component}] {problem.option} in a pipeline file, "
                     f"or {var}")
        origin = spec.from_env.get((problem.component, problem.option))
        if origin:
            text += f" (set by the environment: {origin})"
    return text


def report_problems(problems: list[Problem], spec: FlowSpec, redactor: Redactor, *,
                    as_json: bool) -> None:
    """Print every problem, one line each, on stderr (``--json``: as JSON on stdout)."""
    lines = [redactor.text(describe(p, spec)) for p in problems]
    for line in lines:
        click.echo(f"error: {line}", err=True)
    count = len(problems)
    click.echo(f"{count} problem{'s' if count != 1 else ''}: nothing was run", err=True)
    if as_json:
        echo_json({
            "status": "invalid", "flow": redactor.text(spec.expression),
            "problems": [{"component": p.component, "option": p.option,
                          "message": redactor.text(p.message), "line": line}
                         for p, line in zip(problems, lines, strict=True)],
        })


def probe(flow: DataFlow, spec: FlowSpec) -> list[ProbeOutcome]:
    """Open every connection the flow's components declare a probe for."""
    import asyncio

    from adf_core.plugins.validation import probe_flow

    timeout = spec.defaults.get("timeout") or PROBE_TIMEOUT
    return asyncio.run(probe_flow(flow, spec.params, timeout=float(timeout)))


def show_probes(outcomes: list[ProbeOutcome], redactor: Redactor, *, as_json: bool) -> None:
    """A table of what was reached (not with ``--json``: it is in the plan), and every failed
    connection as an error on stderr."""
    from adf_core.cli.common import table

    failed = [o for o in outcomes if o.status == "failed"]
    if not as_json and not outcomes:
        click.echo("check: no component of this flow declares a connection to open")
    elif not as_json:
        rows = [[o.component, o.status, redactor.text(o.message)] for o in outcomes]
        click.echo(table(["CHECKED", "STATUS", "DETAIL"], rows))
    if failed:
        for o in failed:
            where = ".".join(part for part in (o.component, o.option) if part)
            click.echo(f"error: {where}: {redactor.text(o.message)}", err=True)
        click.echo(f"check: {len(failed)} connection{'s' if len(failed) != 1 else ''} failed",
                   err=True)
    elif outcomes and not as_json:
        click.echo("check: every connection opened; nothing was read or written")


def probe_rows(outcomes: list[ProbeOutcome], redactor: Redactor) -> list[dict[str, Any]]:
    return [{"component": o.component, "status": o.status, "option": o.option,
             "message": redactor.text(o.message)} for o in outcomes]
