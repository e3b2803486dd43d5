"""(f) and (g) of overhead.py: what observing a run costs.

(f) the 1000-wide fan with no observer installed: no plugin manager loaded, against the
    installed plugins loaded with none implementing a lifecycle hook (what an ``adf``
    process without adf-plugin-otel has), and against a no-op observer on every hook.
(g) a streaming ETL flow, ``db | merge | file`` from SQLite (benchmarks/etl.py's SQLite case)
    with adf-plugin-otel exporting to an OTLP/HTTP receiver on 127.0.0.1, against the same
    flow unobserved: in one process (the SDK imported once, before the rounds) and as ``adf
    run`` processes (each one imports the SDK). Also: the time spent inside the hooks, and
    the SDK's import and set-up on its own.
"""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from _common import median, measure, table

from adf_core import DataFlow, hookimpl

HOOKS = ("adf_run_started", "adf_stage_started", "adf_component_started",
         "adf_component_retrying", "adf_component_finished", "adf_run_finished")


class NoOpObserver:
    """Implements every lifecycle hook and does nothing."""

    @hookimpl
    def adf_run_started(self, run: Any) -> None: ...

    @hookimpl
    def adf_stage_started(self, run: Any, stage: int) -> None: ...

    @hookimpl
    def adf_component_started(self, run: Any, alias: str) -> None: ...

    @hookimpl
    def adf_component_finished(self, run: Any, alias: str) -> None: ...

    @hookimpl
    def adf_run_finished(self, run: Any, report: Any) -> None: ...


class TimedPlugin:
    """Calls adf-plugin-otel's lifecycle hooks and adds up the time spent in them."""

    def __init__(self, module: Any) -> None:
        self.module = module
        self.seconds = 0.0

    def _timed(self, hook: str, *args: Any) -> None:
        started = time.perf_counter()
        try:
            getattr(self.module, hook)(*args)
        finally:
            self.seconds += time.perf_counter() - started

    @hookimpl
    def adf_run_started(self, run: Any) -> None:
        self._timed("adf_run_started", run)

    @hookimpl
    def adf_stage_started(self, run: Any, stage: int, aliases: tuple[str, ...]) -> None:
        self._timed("adf_stage_started", run, stage, aliases)

    @hookimpl
    def adf_component_started(self, run: Any, alias: str, attempt: int) -> None:
        self._timed("adf_component_started", run, alias, attempt)

    @hookimpl
    def adf_component_retrying(self, run: Any, alias: str, attempt: int, error: BaseException,
                               delay: float) -> None:
        self._timed("adf_component_retrying", run, alias, attempt, error, delay)

    @hookimpl
    def adf_component_finished(self, run: Any, alias: str, status: str, seconds: float,
                               records_in: int, records_out: int, attempt: int,
                               error: BaseException | None) -> None:
        self._timed("adf_component_finished", run, alias, status, seconds, records_in,
                    records_out, attempt, error)

    @hookimpl
    def adf_run_finished(self, run: Any, report: Any) -> None:
        self._timed("adf_run_finished", run, report)


async def fan_without_observers(fan_flow: DataFlow, rounds: int, n: int) -> None:
    from adf_core.plugins import PluginManager, load_plugins, observing

    # every installed plugin but adf-plugin-otel: what an adf process without it has
    installed = load_plugins(PluginManager(), environ={"ADF_DISABLE_PLUGINS": "otel"})
    observed = PluginManager()
    observed.register(NoOpObserver(), name="noop")
    lifecycle = [h for h in HOOKS if getattr(installed.hook, h).get_hookimpls()]

    async def under(pm: Any) -> Any:
        with observing(pm):
            return await fan_flow({})

    bare = PluginManager()  # no plugin at all: what a script without adf's plugins has
    times = await measure({
        "no plugin manager": lambda: under(bare),
        "installed plugins, no lifecycle hook": lambda: under(installed),
        "a no-op observer on every hook": lambda: under(observed),
    }, rounds)
    base = median(times["no plugin manager"])
    print(f"\n(f) The {n}-wide fan and observers (us/component, median of {rounds} rounds)\n")
    rows = [[name, f"{median(v) / n * 1e6:.2f}", f"{(median(v) / base - 1) * 100:+.1f}%"]
            for name, v in times.items()]
    print(table(["case", "us/component", "added"], rows))
    if lifecycle:
        print(f"note: installed plugins implement {', '.join(lifecycle)}: that row observes")
    else:
        print("no installed plugin implements a lifecycle hook: the engine gets no observer")


# ------------------------------------------------------------------ (g) ETL with OTel

def etl_flow(url: str, out: Path) -> DataFlow:
    from etl import BATCH, TABLE

    return DataFlow.parse("db | merge | file", options={
        "db": {"url": url, "query": f"SELECT * FROM {TABLE}", "batch_size": BATCH},
        "file": {"path": str(out), "fsync": False}})


def etl_cli(url: str, out: Path) -> list[str]:
    from etl import BATCH, TABLE

    return [sys.executable, "-m", "adf_core.cli", "run", "db | merge | file", "-q",
            "-o", f"db.url={url}", "-o", f"db.query=SELECT * FROM {TABLE}",
            "-o", f"db.batch_size={BATCH}", "-o", f"file.path={out}", "-o", "file.fsync=false"]


def sdk_setup_seconds(env: dict[str, str], repeat: int = 5) -> tuple[float, float]:
    """(median seconds of a bare interpreter importing adf_core, the same plus the SDK set up
    as the plugin does it at the first run)."""
    bare = "import adf_core"
    with_sdk = "import adf_core\nfrom adf_plugin_otel.exporting import telemetry\ntelemetry()"
    times: dict[str, list[float]] = {bare: [], with_sdk: []}
    for _ in range(repeat):
        for code in times:
            started = time.perf_counter()
            subprocess.run([sys.executable, "-c", code], env=env, check=True)
            times[code].append(time.perf_counter() - started)
    return median(times[bare]), median(times[with_sdk])


async def etl_with_otel(rounds: int, rows: int) -> None:
    try:
        import adf_plugin_otel
        from adf_plugin_otel.receiver import Receiver
    except ImportError:
        print("\n(g) skipped: adf-plugin-otel is not installed "
              "(pip install ./contrib/adf-plugin-otel)")
        return
    from etl import seed_sqlite

    from adf_core.plugins import PluginManager, observing

    work = Path(tempfile.mkdtemp(prefix="adf-bench-otel-"))
    url = seed_sqlite(work / "orders.db", rows)
    with Receiver() as receiver:
        env = {k: v for k, v in os.environ.items()
               if not k.startswith("OTEL_") and k not in ("ADF_DISABLE_PLUGINS",
                                                          "ADF_LOAD_PLUGINS")}
        env["OTEL_EXPORTER_OTLP_ENDPOINT"] = receiver.endpoint
        os.environ.update(OTEL_EXPORTER_OTLP_ENDPOINT=receiver.endpoint)  # read at set-up
        timed = TimedPlugin(adf_plugin_otel)
        observed, bare = PluginManager(), PluginManager()
        observed.register(timed, name="otel")
        flow = etl_flow(url, work / "out.jsonl")

        async def run(pm: Any) -> None:
            with observing(pm):
                await flow({})

        times = await measure({"unobserved": lambda: run(bare),
                               "otel": lambda: run(observed)}, rounds, warmup=1)
        hook_share = timed.seconds / sum(times["otel"][-rounds:]) / (1 + 1 / rounds)
        spans = len(receiver.spans())

        cli: dict[str, list[float]] = {"unobserved": [], "otel": []}
        envs = {"unobserved": dict(env, ADF_DISABLE_PLUGINS="otel"), "otel": env}
        command = etl_cli(url, work / "cli.jsonl")
        for round_ in range(max(3, rounds // 2) + 1):
            for name, case_env in envs.items():
                started = time.perf_counter()
                subprocess.run(command, env=case_env, check=True)
                if round_:
                    cli[name].append(time.perf_counter() - started)
        bare_import, sdk_import = sdk_setup_seconds(env)
    base, with_otel = median(times["unobserved"]), median(times["otel"])
    cli_base, cli_otel = median(cli["unobserved"]), median(cli["otel"])
    low, high = min(times["otel"]) / base - 1, max(times["otel"]) / base - 1
    print(f"\n(g) Streaming ETL, db | merge | file, {rows:,} rows from SQLite; OTel exporting "
          f"to a receiver on 127.0.0.1\n    (median s; {rounds} interleaved rounds in one "
          f"process, {len(cli['otel'])} pairs of adf run processes)\n")
    print(table(["case", "unobserved", "otel plugin", "added"], [
        ["in one process (SDK already imported)", f"{base:.3f}", f"{with_otel:.3f}",
         f"{(with_otel / base - 1) * 100:+.1f}%"],
        ["adf run process (imports the SDK)", f"{cli_base:.3f}", f"{cli_otel:.3f}",
         f"{(cli_otel / cli_base - 1) * 100:+.1f}%"],
    ]))
    print(f"time inside the hooks: {hook_share * 100:.2f}% of an observed run; the spread "
          f"of observed runs against the unobserved median: {low * 100:+.1f}%..{high * 100:+.1f}%"
          f"; {spans} spans received")
    print(f"SDK import and set-up on its own: {sdk_import - bare_import:.3f} s "
          f"(python -c 'import adf_core': {bare_import:.3f} s, plus the SDK: {sdk_import:.3f} s)")
    target = (with_otel / base - 1) * 100
    print(f"in one process <= 3% slower: {target:+.1f}%  {'OK' if target <= 3 else 'MISSED'}")
    os.environ.pop("OTEL_EXPORTER_OTLP_ENDPOINT", None)


def observing_cases(fan_flow: DataFlow, rounds: int, n: int, rows: int) -> None:
    asyncio.run(fan_without_observers(fan_flow, rounds, n))
    asyncio.run(etl_with_otel(max(5, rounds // 3), rows))
