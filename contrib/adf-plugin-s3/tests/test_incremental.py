"""The s3 source's ``incremental = true``: only objects not loaded before, by key and ETag,
through named flows against the moto server (state saved only when a run succeeds)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from adf_plugin_s3 import s3_source

from adf_core import DataFlow, FlowDefinitionError, step
from adf_core.errors import ComponentError
from adf_core.records import iter_records


def run(bucket: Any, store: str, *, fail: bool = False, **options: Any) -> list[int]:
    got: list[int] = []

    def sink(upstream: dict[str, Any]) -> None:
        got.extend(r["n"] for r in iter_records(upstream["src"]))
        if fail:
            raise RuntimeError("the destination broke")

    source = step(s3_source, name="src",
                  options=bucket.options(prefix="in/", incremental=True, **options))
    DataFlow((source, sink), name="objects", state=store).run()
    return got


def test_only_new_or_replaced_objects_are_read(bucket: Any, tmp_path: Path) -> None:
    store = f"sqlite:///{tmp_path / 'state.db'}"
    bucket.put_jsonl("in/a.jsonl", [{"n": 1}, {"n": 2}])
    bucket.put_jsonl("in/b.jsonl", [{"n": 3}])
    assert run(bucket, store) == [1, 2, 3]
    assert run(bucket, store) == []
    bucket.put_jsonl("in/c.jsonl", [{"n": 4}])
    bucket.put_jsonl("in/a.jsonl", [{"n": 1}, {"n": 2}, {"n": 5}])  # replaced: a new ETag
    assert run(bucket, store) == [1, 2, 5, 4]
    bucket.put_jsonl("in/d.jsonl", [{"n": 6}])
    with pytest.raises(ComponentError):
        run(bucket, store, fail=True)
    assert run(bucket, store) == [6]  # the failed run saved nothing


def test_incremental_needs_a_named_flow(bucket: Any) -> None:
    with pytest.raises(FlowDefinitionError, match="'src' keeps state"):
        DataFlow((step(s3_source, name="src",
                       options=bucket.options(prefix="in/", incremental=True)), print))
