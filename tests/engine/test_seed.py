"""The original description's example (seeds/000): the corrected script and the literal one."""

from __future__ import annotations

import ast
import asyncio
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from adf_core import DataFlow, MissingInputError

ROOT = Path(__file__).resolve().parents[2]
SCRIPT = ROOT / "examples" / "seed_example.py"


def test_the_seed_example_script_prints_the_merged_data():
    if not SCRIPT.exists():
        pytest.fail(f"{SCRIPT} is missing")
    env = {k: v for k, v in os.environ.items() if not k.startswith("ADF_")}
    done = subprocess.run([sys.executable, str(SCRIPT)], cwd=ROOT, env=env, capture_output=True,
                          text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    lines = dict(line.split(": ", 1) for line in done.stdout.splitlines() if ": " in line)
    assert ast.literal_eval(lines["data"]) == [(i, i) for i in range(1, 7)]
    assert lines["status"] == "0"
    took = float(done.stdout.split("took ")[1].split(" s")[0])
    assert took < 1.5 * 0.9  # three 0.5 s stages in series would take 1.5 s; sources overlap
    assert done.stderr == ""  # the library logs nothing unless the application configures it


# The seed's components exactly as written in the original description, typos included.


async def sourceA(endpointA):
    await asyncio.sleep(0.500)
    return {"sourceA": [1, 2, 3, 4, 5, 6]}


def sourceB(endpointB):
    time.sleep(0.500)
    return {"sourceA": [1, 2, 3, 4, 5, 6]}


async def data_merge(sourceA: tuple, sourceB: tuple):
    return {"data": zip(sourceA, sourceB, strict=False)}


async def destination(data):
    await asyncio.sleep(0.500)
    return {"status": 0}


def seed_definition():
    data_flow_source = sourceA, sourceB
    data_flow_transform = (data_merge,)
    data_flow_destination = (destination,)
    return (data_flow_source,) + data_flow_transform + (data_flow_destination,)  # noqa: RUF005


def test_the_seed_literal_params_name_the_missing_endpoint_and_the_keys_that_were_there():
    dataflow = DataFlow(seed_definition())
    params = {"sourcaA": "A", "sourceB": "B"}
    began = time.perf_counter()
    with pytest.raises(MissingInputError) as caught:
        asyncio.run(dataflow(params))
    error = caught.value
    assert error.component == "sourceA" and error.parameter == "endpointA"
    assert error.available == ["sourcaA", "sourceB"]
    message = str(error)
    assert "'endpointA'" in message and "sourcaA, sourceB" in message
    assert time.perf_counter() - began < 0.5  # raised before any component slept


def test_the_seed_sources_write_one_key_with_equal_values_and_the_merge_misses_source_b():
    """With the endpoints given, the seed's second typo (sourceB returns 'sourceA') shows."""
    dataflow = DataFlow(seed_definition())
    with pytest.raises(MissingInputError) as caught:
        dataflow.run({"endpointA": "A", "endpointB": "B"})
    error = caught.value
    assert (error.component, error.parameter) == ("data_merge", "sourceB")
    assert error.available == ["endpointA", "endpointB", "sourceA"]
