"""Start-up time of the ``adf`` command, with 20 small dummy plugins installed.

Prints the median wall time of ``adf --help``, ``adf plugins`` and ``adf run --dry-run`` of
a three-tier flow, next to ``python -c pass`` and ``python -c "import click"``. The dummy
plugins are real installed distributions (a ``.dist-info`` with an ``adf`` entry point and
a module each, as a wheel install leaves them) in a directory put on ``PYTHONPATH``.

Targets: ``adf --help`` <= 2.5x ``python -c "import click"``; ``adf plugins`` <= 300 ms.
``--check`` exits 1 when a target is missed.

    python benchmarks/startup.py [--runs 15] [--check]
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import sysconfig
import tempfile
import time
from pathlib import Path

PLUGINS = 20
MODULE = '''"""Dummy plugin {n}."""

from adf_core import hookimpl


def read(count: int = 3):
    """Make {{count}} records."""
    return [{{"n": i}} for i in range(count)]


def change(upstream: dict, field: str = "n"):
    """Pass records on."""
    return upstream


def write(upstream: dict, path: str = "-", token: str | None = None):
    """Drop records."""


@hookimpl
def adf_sources():
    return {{"d{n:02d}_source": read}}


@hookimpl
def adf_transforms():
    return {{"d{n:02d}_transform": change}}


@hookimpl
def adf_destinations():
    return {{"d{n:02d}_destination": write}}
'''


def install_dummy_plugins(target: Path, count: int = PLUGINS) -> None:
    """Write ``count`` installed distributions ``adf-bench-plugin-NN`` into ``target``."""
    for n in range(1, count + 1):
        name = f"adf_bench_plugin_{n:02d}"
        (target / f"{name}.py").write_text(MODULE.format(n=n))
        info = target / f"{name}-0.1.0.dist-info"
        info.mkdir()
        (info / "METADATA").write_text(
            f"Metadata-Version: 2.1\nName: adf-bench-plugin-{n:02d}\nVersion: 0.1.0\n"
        )
        (info / "entry_points.txt").write_text(f"[adf]\nbench{n:02d} = {name}\n")
        (info / "RECORD").write_text(f"{name}.py,,\n{info.name}/METADATA,,\n")
        (info / "INSTALLER").write_text("benchmarks/startup.py\n")


def adf_command() -> list[str]:
    script = shutil.which("adf", path=sysconfig.get_path("scripts"))
    return [script] if script else [sys.executable, "-m", "adf_core.cli"]


def median_ms(commands: dict[str, list[str]], env: dict[str, str], runs: int) -> dict[str, float]:
    """Median wall time of each command; rounds interleave the commands, so that a change
    in the machine's load touches them all alike."""
    times: dict[str, list[float]] = {label: [] for label in commands}
    for round_ in range(runs + 2):  # two rounds warm the caches
        for label, command in commands.items():
            start = time.perf_counter()
            subprocess.run(command, env=env, stdout=subprocess.DEVNULL, check=True)
            if round_ >= 2:
                times[label].append((time.perf_counter() - start) * 1000)
    return {label: statistics.median(values) for label, values in times.items()}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=15)
    parser.add_argument("--check", action="store_true", help="exit 1 when a target is missed")
    args = parser.parse_args()
    adf = adf_command()
    with tempfile.TemporaryDirectory() as tmp:
        site = Path(tmp)
        install_dummy_plugins(site)
        env = {k: v for k, v in os.environ.items() if not k.startswith("ADF_")}
        env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(site), env.get("PYTHONPATH")]))
        flow = ["run", "--source", "d01_source,d02_source", "--transform", "d03_transform",
                "--dest", "d04_destination,d05_destination", "-o", "d01_source.count=5",
                "--dry-run"]
        check = subprocess.run([*adf, "components"], env=env, capture_output=True, text=True)
        found = sum(line[:1] == "d" and line[1:3].isdigit() for line in check.stdout.splitlines())
        assert found == 3 * PLUGINS, f"expected {3 * PLUGINS} dummy components, found {found}"
        commands = {
            "python -c pass": [sys.executable, "-c", "pass"],
            'python -c "import click"': [sys.executable, "-c", "import click"],
            "adf --help": [*adf, "--help"],
            "adf plugins": [*adf, "plugins"],
            "adf run --dry-run (3 tiers)": [*adf, *flow],
        }
        results = median_ms(commands, env, args.runs)
    base, click_ms = results["python -c pass"], results['python -c "import click"']
    print(f"start-up, median of {args.runs} runs, {PLUGINS} dummy plugins installed")
    print(f"{'command':<30} {'ms':>8} {'x pass':>8} {'x click':>8}")
    for label, ms in results.items():
        print(f"{label:<30} {ms:8.1f} {ms / base:8.2f} {ms / click_ms:8.2f}")
    help_ratio = results["adf --help"] / click_ms
    plugins_ms = results["adf plugins"]
    ok_help, ok_plugins = help_ratio <= 2.5, plugins_ms <= 300
    print(f"target adf --help <= 2.5x import click: {help_ratio:.2f}x "
          f"{'ok' if ok_help else 'MISSED'}")
    print(f"target adf plugins <= 300 ms: {plugins_ms:.0f} ms {'ok' if ok_plugins else 'MISSED'}")
    return 0 if (ok_help and ok_plugins) or not args.check else 1


if __name__ == "__main__":
    sys.exit(main())
