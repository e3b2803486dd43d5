"""Lines decoded one at a time, for a reader that reads past its bad lines (a component
under ``on_error = "skip"`` or ``"dead_letter"``; see
:func:`adf_core.data.formats.read_records`).

The fast path decodes the whole stream at once, so one undecodable byte fails it. Here each
line is decoded on its own: a line that does not decode goes to ``on_bad`` (as its raw bytes)
and is read as an empty line, so the lines after it keep their numbers and are read as
usual. Encodings that do not write ``\\n`` as one byte (UTF-16, UTF-32) cannot be split into
lines as bytes: :func:`byte_lines_work` tells.
"""

from __future__ import annotations

import codecs
from collections.abc import Callable, Iterator
from typing import IO, Any


def byte_lines_work(encoding: str) -> bool:
    """Whether lines of this encoding can be split as bytes on ``\\n``."""
    try:
        return "\n".encode(encoding) == b"\n" and "a".encode(encoding) == b"a"
    except LookupError:
        return False


def decoded_lines(binary: IO[bytes], encoding: str, first_encoding: str,
                  undecodable: Callable[[bytes, int, UnicodeDecodeError], Any]
                  ) -> Iterator[str]:
    """The lines of ``binary``, each decoded alone (the first in ``first_encoding``, which
    strips a byte-order mark); one that does not decode is handed to ``undecodable(raw,
    line, error)`` and yields ``""``."""
    codecs.lookup(encoding)  # an unknown encoding is an error before anything is read
    for number, raw in enumerate(binary, start=1):
        try:
            yield raw.decode(first_encoding if number == 1 else encoding)
        except UnicodeDecodeError as exc:
            undecodable(raw.rstrip(b"\r\n"), number, exc)
            yield ""
