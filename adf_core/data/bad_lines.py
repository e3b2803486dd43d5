"""Reading csv and jsonl past their bad lines, for a reader whose caller handles them
(a component under ``on_error = "skip"`` or ``"dead_letter"``).

The fast path (:func:`adf_core.data.formats.read_records` without ``on_bad``) decodes the
whole stream at once, so one undecodable byte fails it. Here each line is decoded on its
own: a line that does not decode goes to ``on_bad`` (as its raw bytes) and is read as an
empty line, so the lines after it keep their numbers and are read as usual. Encodings that
do not write ``\\n`` as one byte (UTF-16, UTF-32) cannot be split into lines as bytes: they
are decoded whole, as on the fast path.
"""

from __future__ import annotations

import codecs
import io
from collections.abc import Iterator
from typing import IO, TYPE_CHECKING

if TYPE_CHECKING:
    from adf_core.data.formats import CsvOptions, OnBadLine, Phrases, Record


def byte_lines_work(encoding: str) -> bool:
    """Whether lines of this encoding can be split as bytes on ``\\n``."""
    try:
        return "\n".encode(encoding) == b"\n" and "a".encode(encoding) == b"a"
    except LookupError:
        return False


def decoded_lines(binary: IO[bytes], source: str, fmt: str, encoding: str,
                  phrases: Phrases, on_bad: OnBadLine) -> Iterator[str]:
    """The lines of ``binary``, each decoded alone; one that does not decode is handed to
    ``on_bad`` and yields ``""``."""
    from adf_core.data.formats import text_encoding

    codecs.lookup(encoding)  # an unknown encoding is an error before anything is read
    first = text_encoding(encoding)
    for number, raw in enumerate(binary, start=1):
        try:
            yield raw.decode(first if number == 1 else encoding)
        except UnicodeDecodeError as exc:
            on_bad(raw.rstrip(b"\r\n"), phrases.undecodable(source, fmt, number, encoding, exc),
                   {"line": number})
            yield ""


def read_tolerant(binary: IO[bytes], fmt: str, source: str, encoding: str,
                  csv_options: CsvOptions, phrases: Phrases, on_bad: OnBadLine
                  ) -> Iterator[Record]:
    """The records of a csv or jsonl stream, every bad line handed to ``on_bad``."""
    from adf_core.data.formats import _read_csv, _read_jsonl, text_encoding

    if byte_lines_work(encoding):
        lines: Iterator[str] = decoded_lines(binary, source, fmt, encoding, phrases, on_bad)
    else:
        lines = iter(io.TextIOWrapper(binary, encoding=text_encoding(encoding), newline=""))
    if fmt == "jsonl":
        yield from _read_jsonl(lines, source, phrases, on_bad)
    elif fmt == "csv":
        yield from _read_csv(lines, source, csv_options, phrases, on_bad)
    else:
        raise ValueError(f"{source}: {fmt} cannot be read line by line")
