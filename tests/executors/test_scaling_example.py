"""The README's "Scaling out" example: the same pipeline file, run here and on a real Dask
cluster reached by address, prints the same scores."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

SCALING = Path(__file__).resolve().parent / "scaling"
README = Path(__file__).resolve().parents[2] / "README.md"


def expected() -> list[dict[str, Any]]:
    sys.path.insert(0, str(SCALING))
    try:
        import scoring
    finally:
        sys.path.remove(str(SCALING))
    orders = scoring.orders(20_000)
    upstream = {region: scoring.score(orders, region) for region in ("eu", "us", "apac")}
    return scoring.totals(upstream)


def adf_run(*args: str, **env: str) -> list[dict[str, Any]]:
    environ = {k: v for k, v in os.environ.items() if k != "ADF_EXECUTOR_ADDRESS"}
    environ.update(PYTHONPATH=str(SCALING), **env)
    done = subprocess.run(
        [sys.executable, "-m", "adf_core.cli", "run", "-f", "scoring.toml", "-q", *args],
        cwd=SCALING, env=environ, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    return [json.loads(line) for line in done.stdout.splitlines()]


def scored_on(address: str) -> bool:
    """Whether the scheduler at ``address`` has run ``score`` tasks."""
    import asyncio

    from distributed import Client

    async def ask() -> bool:
        async with Client(address, asynchronous=True) as client:
            return bool(await client.run_on_scheduler(_has_score_tasks))

    return asyncio.run(ask())


def _has_score_tasks(dask_scheduler: Any = None) -> bool:
    return "score" in dask_scheduler.task_prefixes


def test_the_pipeline_file_runs_on_a_cluster_by_address(scheduler: str) -> None:
    by_flag = adf_run("--executor-address", scheduler)
    by_environment = adf_run(ADF_EXECUTOR_ADDRESS=scheduler)

    assert by_flag == by_environment == expected()
    assert scored_on(scheduler)


def test_without_an_address_the_same_file_starts_a_local_cluster() -> None:
    pytest.importorskip("distributed", reason="dask[distributed] is not installed")

    assert adf_run() == expected()


def _block_after(text: str, marker: str) -> str:
    tail = text[text.index(marker):]
    match = re.search(r"```[a-z]*\n(.*?)```", tail, re.DOTALL)
    assert match, f"no code block after {marker!r}"
    return match[1]


@pytest.mark.parametrize("name", ["scoring.py", "scoring.toml"])
def test_the_readme_shows_the_tested_files(name: str) -> None:
    text = README.read_text()

    assert _block_after(text, f"<!-- example: executors/{name} -->") == (
        SCALING / name).read_text()
