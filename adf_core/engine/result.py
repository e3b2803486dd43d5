"""``FlowResult``: the final context of a run, read-only, with outputs and timings."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any


class FlowResult(Mapping[str, Any]):
    """A read-only mapping of the final context.

    ``outputs``: alias -> raw return value of every component; ``timings``: alias -> seconds;
    ``counts``: alias -> items a streaming component produced; ``run_id``: the run's id;
    ``rejected``: alias -> bad records it skipped or dead-lettered (``on_error``);
    ``warnings``: the data warnings of the run (``{"component", "message", ...}``);
    ``dead_letters``: the dead letters, when the flow has no ``dead_letter`` file.
    """

    __slots__ = ("_data", "counts", "dead_letters", "outputs", "rejected", "run_id", "timings",
                 "warnings")

    def __init__(self, data: dict[str, Any], outputs: dict[str, Any],
                 timings: dict[str, float], counts: dict[str, int], run_id: str, *,
                 rejected: Mapping[str, int] | None = None,
                 warnings: list[dict[str, Any]] | None = None,
                 dead_letters: list[dict[str, Any]] | None = None) -> None:
        self._data = data
        self.outputs = outputs
        self.timings = timings
        self.counts = counts
        self.run_id = run_id
        self.rejected: Mapping[str, int] = dict(rejected or {})
        self.warnings: list[dict[str, Any]] = warnings or []
        self.dead_letters: list[dict[str, Any]] = dead_letters or []

    def __getitem__(self, key: str) -> Any:
        return self._data[key]

    def __iter__(self) -> Iterator[str]:
        return iter(self._data)

    def __len__(self) -> int:
        return len(self._data)

    def __repr__(self) -> str:
        return f"FlowResult({self._data!r})"
