"""``FlowResult``: the final context of a run, read-only, with outputs, timings and records."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from adf_core.errors import ComponentError


@dataclass(frozen=True)
class RecordCounts:
    """How many records a component read (``records_in``), produced or wrote
    (``records_out``) and rejected as bad records (``records_rejected``)."""

    records_in: int
    records_out: int
    records_rejected: int = 0


class RecordTable(Mapping[str, RecordCounts]):
    """alias -> :class:`RecordCounts`, built on first access from the run's raw counts."""

    __slots__ = ("_raw", "_table")

    def __init__(self, raw: Mapping[str, tuple[int, int, int]]) -> None:
        self._raw = raw
        self._table: dict[str, RecordCounts] | None = None

    def _built(self) -> dict[str, RecordCounts]:
        if self._table is None:
            self._table = {alias: RecordCounts(*counts) for alias, counts in self._raw.items()}
        return self._table

    def __getitem__(self, alias: str) -> RecordCounts:
        return self._built()[alias]

    def __iter__(self) -> Iterator[str]:
        return iter(self._built())

    def __len__(self) -> int:
        return len(self._raw)

    def __repr__(self) -> str:
        return f"RecordTable({self._built()!r})"


class FlowResult(Mapping[str, Any]):
    """A read-only mapping of the final context.

    ``outputs``: alias -> raw return value of every component; ``timings``: alias -> seconds;
    ``records``: alias -> :class:`RecordCounts` (records in, out and rejected as bad
    records); ``counts``: alias -> items (batches) a streaming component produced;
    ``run_id``: the run's id; ``report``: the run report that after-run components received;
    ``after_run_errors``: the failures of after-run components (they never fail the run);
    ``warnings``: the data warnings of the run (``{"component", "message", ...}``);
    ``dead_letters``: the dead letters, when the flow has no ``dead_letter`` file.
    """

    __slots__ = ("_data", "after_run_errors", "counts", "dead_letters", "outputs", "records",
                 "report", "run_id", "timings", "warnings")

    def __init__(self, data: dict[str, Any], outputs: dict[str, Any],
                 timings: dict[str, float], counts: dict[str, int], run_id: str,
                 records: Mapping[str, tuple[int, int, int]] | None = None,
                 report: Mapping[str, Any] | None = None,
                 after_run_errors: list[ComponentError] | None = None, *,
                 warnings: list[dict[str, Any]] | None = None,
                 dead_letters: list[dict[str, Any]] | None = None) -> None:
        self._data = data
        self.outputs = outputs
        self.timings = timings
        self.counts = counts
        self.run_id = run_id
        self.records: Mapping[str, RecordCounts] = RecordTable(records or {})
        self.report = report
        self.after_run_errors: list[ComponentError] = list(after_run_errors or [])
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
