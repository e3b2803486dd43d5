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
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from _common import median, table

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
    cases = {"no plugin manager": bare, "installed plugins, no lifecycle hook": installed,
             "a no-op observer on every hook": observed}
    wall, cpu = await wall_and_cpu({name: (lambda pm=pm: under(pm)) for name, pm in
                                    cases.items()}, rounds)
    base, base_cpu = median(wall["no plugin manager"]), median(cpu["no plugin manager"])
    print(f"\n(f) The {n}-wide fan and observers (us/component, median of {rounds} rounds; "
          "CPU time is steadier than wall time on a busy machine)\n")
    rows = [[name, f"{median(wall[name]) / n * 1e6:.2f}",
             f"{(median(wall[name]) / base - 1) * 100:+.1f}%",
             f"{median(cpu[name]) / n * 1e6:.2f}",
             f"{(median(cpu[name]) / base_cpu - 1) * 100:+.1f}%"] for name in cases]
    print(table(["case", "wall", "added", "CPU", "added CPU"], rows))
    if lifecycle:
        print(f"note: installed plugins implement {', '.join(lifecycle)}: that row observes")
    else:
        print("no installed plugin implements a lifecycle hook: the engine gets no observer")


async def wall_and_cpu(cases: dict[str, Any], rounds: int, warmup: int = 2
                       ) -> tuple[dict[str, list[float]], dict[str, list[float]]]:
    """Each case once per round, the order turned around every other round; wall-clock and
    process CPU seconds of each run."""
    for _ in range(warmup):
        for case in cases.values():
            await case()
    wall: dict[str, list[float]] = {name: [] for name in cases}
    cpu: dict[str, list[float]] = {name: [] for name in cases}
    for round_ in range(rounds):
        names = list(cases) if round_ % 2 == 0 else list(reversed(cases))
        for name in names:
            started, started_cpu = time.perf_counter(), time.process_time()
            await cases[name]()
            wall[name].append(time.perf_counter() - started)
            cpu[name].append(time.process_time() - started_cpu)
    return wall, cpu


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
        import adf_plugin_otel.exporting
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

        exporting = adf_plugin_otel.exporting.telemetry

        async def run_and_export() -> None:
            # The run, then the export it started on its thread: that work is the run's
            # (left running, it would be charged to whatever runs next).
            await run(observed)
            exporting().flush()

        await run_and_export()  # the SDK is imported and set up at the first observed run
        await run(bare)
        timed.seconds = 0.0
        wall, cpu = await wall_and_cpu({"unobserved": lambda: run(bare),
                                        "otel": run_and_export}, rounds, warmup=0)
        hook_share = timed.seconds / sum(wall["otel"])
        exporting().shutdown()  # export the rest while the receiver listens
        spans = len(receiver.spans())

        cli: dict[str, list[float]] = {"unobserved": [], "otel": []}
        cli_cpu: dict[str, list[float]] = {"unobserved": [], "otel": []}
        envs = {"unobserved": dict(env, ADF_DISABLE_PLUGINS="otel"), "otel": env}
        command = etl_cli(url, work / "cli.jsonl")
        for round_ in range(max(3, rounds // 2) + 1):
            order = list(envs) if round_ % 2 == 0 else list(reversed(envs))
            for name in order:
                before = resource.getrusage(resource.RUSAGE_CHILDREN)
                started = time.perf_counter()
                subprocess.run(command, env=envs[name], check=True)
                after = resource.getrusage(resource.RUSAGE_CHILDREN)
                if round_:  # the first pair warms the page cache
                    cli[name].append(time.perf_counter() - started)
                    cli_cpu[name].append(after.ru_utime + after.ru_stime
                                         - before.ru_utime - before.ru_stime)
        bare_import, sdk_import = sdk_setup_seconds(env)
    rows_out = []
    for label, w, c in (("in one process (SDK already imported)", wall, cpu),
                        ("adf run process (imports the SDK)", cli, cli_cpu)):
        base, observed_wall = median(w["unobserved"]), median(w["otel"])
        base_cpu, observed_cpu = median(c["unobserved"]), median(c["otel"])
        rows_out.append([label, f"{base:.3f}", f"{observed_wall:.3f}",
                         f"{(observed_wall / base - 1) * 100:+.1f}%",
                         f"{base_cpu:.3f}", f"{observed_cpu:.3f}",
                         f"{(observed_cpu / base_cpu - 1) * 100:+.1f}%"])
    pairs = [o / u - 1 for o, u in zip(wall["otel"], wall["unobserved"], strict=True)]
    print(f"\n(g) Streaming ETL, db | merge | file, {rows:,} rows from SQLite; OTel exporting "
          f"to a receiver on 127.0.0.1\n    (medians; {rounds} interleaved pairs in one "
          f"process, an observed run timed until its export is done; {len(cli['otel'])} "
          "pairs of adf run processes)\n")
    print(table(["case", "wall s", "wall s, otel", "added", "CPU s", "CPU s, otel",
                 "added CPU"], rows_out))
    print(f"time inside the hooks: {hook_share * 100:.2f}% of an observed run; observed/"
          f"unobserved per pair: {min(pairs) * 100:+.1f}%..{max(pairs) * 100:+.1f}% "
          f"(median {median(pairs) * 100:+.1f}%); {spans} spans received")
    print(f"SDK import and set-up on its own: {sdk_import - bare_import:.3f} s "
          f"(python -c 'import adf_core': {bare_import:.3f} s, plus the SDK: {sdk_import:.3f} s)")
    added = (median(cpu["otel"]) / median(cpu["unobserved"]) - 1) * 100
    print(f"in one process <= 3% more CPU time: {added:+.1f}%  "
          f"{'OK' if added <= 3 else 'MISSED'} (judged on CPU time: on a busy machine the "
          "wall-clock spread of a pair is wider than the effect)")
    os.environ.pop("OTEL_EXPORTER_OTLP_ENDPOINT", None)


def observing_cases(fan_flow: DataFlow, rounds: int, n: int, rows: int) -> None:
    asyncio.run(fan_without_observers(fan_flow, rounds, n))
    asyncio.run(etl_with_otel(max(5, rounds // 3), rows))
