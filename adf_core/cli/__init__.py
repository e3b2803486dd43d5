"""The ``adf`` command: run flows of plugin components and inspect the installed plugins.

Only click and the standard library are imported here; the engine, structlog and the
plugins load inside the commands that need them, so ``adf --help`` stays fast.
"""

from __future__ import annotations

import os
import sys
from typing import Any

import click

from adf_core import __version__
from adf_core.cli.graph import graph
from adf_core.cli.listing import components, describe, plugins
from adf_core.cli.new import new
from adf_core.cli.run import run
from adf_core.cli.state import state

CONTEXT_SETTINGS = {"help_option_names": ["-h", "--help"], "max_content_width": 100}


@click.group(context_settings=CONTEXT_SETTINGS)
@click.version_option(__version__, "--version", prog_name="adf", message="%(prog)s %(version)s")
@click.pass_context
def cli(ctx: click.Context) -> None:
    """Compose plugin components into data flows and run them.

    \b
    adf run --source db --transform merge --dest s3,notify
    adf run "source=db, target=db | compare | stdout" -o source.url=sqlite:///a.db
    adf run -f flow.toml --dry-run
    """
    from adf_core.errors import ADVICE

    # Errors shown by this command advise -o/-p rather than Python calls (and only here:
    # the Python API of the same process keeps its own advice once the command is done).
    token = ADVICE.set("cli")
    ctx.call_on_close(lambda: ADVICE.reset(token))


cli.add_command(run)
cli.add_command(plugins)
cli.add_command(components)
cli.add_command(describe)
cli.add_command(graph)
cli.add_command(new)
cli.add_command(state)


def main(args: list[str] | None = None, **extra: Any) -> Any:
    """The console script ``adf``."""
    # pyarrow's default allocator (jemalloc/mimalloc) keeps freed batches' pages: the
    # system one returns them, so a stream's peak RSS stays flat. Read when pyarrow is
    # imported (by a component, never by `adf --help`); a user's own setting wins.
    os.environ.setdefault("ARROW_DEFAULT_MEMORY_POOL", "system")
    try:
        return cli.main(args=args, prog_name="adf", **extra)
    except SystemExit as done:
        _exit_now_if_threads_were_abandoned(done.code)
        raise


def _exit_now_if_threads_were_abandoned(code: Any) -> None:
    """A sync component that outlived its grace period still runs in a pool thread, and the
    interpreter would wait for it at exit: the run is over and reported, so leave now."""
    executors = sys.modules.get("adf_core.engine.executors")
    if executors is None or not executors.abandoned_threads():
        return
    tempfiles = sys.modules.get("adf_core.data.tempfiles")
    if tempfiles is not None:
        tempfiles.remove_all()  # an abandoned writer's temporary file must not stay behind
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(code if isinstance(code, int) else 1)
