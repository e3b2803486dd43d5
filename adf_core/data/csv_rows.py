"""CSV rows read strictly, so that malformed quoting is an error naming its place.

Python's default csv reader is lenient: a quote that is never closed swallows every later line
into one cell and the file reads as one record, with no error. This reader is strict
(``strict=True``) and turns :class:`csv.Error` into the caller's error, naming the source,
the record and the line where that record began.
"""

from __future__ import annotations

import csv
from collections.abc import Iterable, Iterator
from typing import Protocol


class Phrases(Protocol):
    """How the caller words an error (:class:`adf_core.data.formats.Phrases`)."""

    def at(self, source: str, record: int | None, line: int | None, problem: str
           ) -> Exception: ...


class StrictCsvRows:
    """The rows of csv ``lines``; ``line_num`` is the line of the last row's end, as with
    :func:`csv.reader`. The header is row 0; data rows are records 1, 2, ..."""

    def __init__(self, lines: Iterable[str], delimiter: str, source: str,
                 phrases: Phrases) -> None:
        self._reader = csv.reader(lines, delimiter=delimiter, strict=True)
        self._source = source
        self._phrases = phrases
        self._rows = 0  # rows read so far, the header included

    @property
    def line_num(self) -> int:
        return self._reader.line_num

    def __iter__(self) -> Iterator[list[str]]:
        return self

    def __next__(self) -> list[str]:
        began = self._reader.line_num + 1
        try:
            row = next(self._reader)
        except csv.Error as exc:
            raise self._error(exc, began) from None
        if row:
            self._rows += 1
        return row

    def _error(self, exc: csv.Error, line: int) -> Exception:
        message = str(exc)
        if "unexpected end of data" in message:
            problem = ("a quoted cell is never closed (its opening quote is on this line and "
                       "the file ends inside it): close the quote or escape it as \"\"")
        elif "field larger than field limit" in message:
            problem = (f"a cell is longer than {csv.field_size_limit():,} characters, the "
                       "csv limit (often a quote that is never closed)")
        else:
            problem = f"malformed csv: {message}"
        record = self._rows if self._rows else None  # the header is no record
        if record is not None:
            return self._phrases.at(self._source, record, line, problem)
        return self._phrases.at(self._source, None, line, f"in the header, {problem}")
