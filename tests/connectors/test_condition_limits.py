"""Filter conditions that are too deep or very long: a condition error, never a RecursionError,
and compilation that grows linearly with the condition (issue 10)."""

from __future__ import annotations

import gc
import subprocess
import sys
import time
from pathlib import Path

import pytest

from adf_plugins.conditions import MAX_DEPTH, ConditionError, compile_condition

DEEP = {
    "parentheses": "(" * 5000 + "a == 1" + ")" * 5000,
    "not": "not " * 5000 + "a == 1",
    "minus": "-" * 100_000 + "a == 1",
    "arithmetic": "1 + " * 3000 + "a == 1",
}


@pytest.mark.parametrize("condition", DEEP.values(), ids=DEEP.keys())
def test_a_deeply_nested_condition_is_a_condition_error(condition: str) -> None:
    with pytest.raises(ConditionError, match=f"nested more than {MAX_DEPTH} levels"):
        compile_condition(condition)


def test_a_condition_just_inside_the_limit_compiles_and_evaluates() -> None:
    inside = "not " * (MAX_DEPTH - 2) + "a == 1"  # the comparison and its field are two levels
    predicate = compile_condition(inside)
    assert predicate({"a": 1}) is True and predicate({"a": 2}) is False
    with pytest.raises(ConditionError):
        compile_condition("not " + inside)


def test_adf_run_reports_a_deep_condition_as_the_filter_problem(tmp_path: Path) -> None:
    (tmp_path / "in.jsonl").write_text('{"a": 1}\n')
    done = subprocess.run(
        [sys.executable, "-m", "adf_core.cli", "run", "-q", "file | filter | out=file",
         "-o", "file.path=in.jsonl", "-o", f"filter.where={DEEP['not']}",
         "-o", "out.path=out.jsonl"],
        cwd=tmp_path, capture_output=True, text=True, timeout=120)
    assert done.returncode == 2, done.stderr
    assert "filter" in done.stderr and f"nested more than {MAX_DEPTH} levels" in done.stderr
    assert "RecursionError" not in done.stderr and "Traceback" not in done.stderr
    assert not (tmp_path / "out.jsonl").exists()


def _compile_seconds(clauses: int) -> float:
    """The best of five compilations (CPU time, the collector paused: other processes and
    collections must not decide the ratio) of ``clauses`` comparisons joined by ``and`` and
    of one chained comparison as long."""
    conjunction = " and ".join(f"a < {n}" for n in range(2, clauses + 2))
    chain = " < ".join(str(n) for n in range(clauses))
    best = float("inf")
    gc.collect()
    gc.disable()
    try:
        for _ in range(5):
            started = time.process_time()
            compile_condition(conjunction)
            compile_condition(chain)
            best = min(best, time.process_time() - started)
    finally:
        gc.enable()
    return best


def test_compiling_grows_linearly_with_the_length_of_the_condition() -> None:
    small, large = _compile_seconds(1500), _compile_seconds(6000)
    # Four times the clauses: about four times the time when linear, sixteen when quadratic.
    assert large / small < 9, f"1500 clauses {small:.4f}s, 6000 clauses {large:.4f}s"
    predicate = compile_condition(" and ".join(f"a < {n}" for n in range(2, 3002)))
    assert predicate({"a": 1}) is True and predicate({"a": 2}) is False
