"""``FlowResult``: the final context of a run, read-only, with outputs and timings."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any


class FlowResult(Mapping[str, Any]):
    """A read-only mapping of the final context.

    ``outputs``: alias -> raw return value of every component; ``timings``: alias -> seconds;
    ``counts``: alias -> items a streaming component produced; ``run_id``: the run's id.
    """

    __slots__ = ("_data", "counts", "outputs", "run_id", "timings")

    def __init__(self, data: dict[str, Any], outputs: dict[str, Any],
                 timings: dict[str, float], counts: dict[str, int], run_id: str) -> None:
        self._data = data
        self.outputs = outputs
        self.timings = timings
        self.counts = counts
        self.run_id = run_id

    def __getitem__(self, key: str) -> Any:
        return self._data[key]

    def __iter__(self) -> Iterator[str]:
        return iter(self._data)

    def __len__(self) -> int:
        return len(self._data)

    def __repr__(self) -> str:
        return f"FlowResult({self._data!r})"
