"""An object's body copied to a seekable temporary file, for the readers that seek.

Parquet keeps its footer at the end, and the Arrow csv reader scans a document for quotes
and, after a parse error, reads it again with the dict reader (so that the error keeps its
record and line): neither can read an S3 body, which only streams. The copy stays in memory
up to ``SPOOL_BYTES``, then moves to a file in the system temporary directory (``TMPDIR``,
unlinked at once where the platform allows), so memory stays flat however large the object.
"""

from __future__ import annotations

import contextlib
import shutil
import tempfile
from collections.abc import Iterator
from typing import IO

#: Bytes of an object kept in memory before its copy moves to disk.
SPOOL_BYTES = 4 * 1024 * 1024
_COPY_CHUNK = 1024 * 1024


@contextlib.contextmanager
def spooled(body: IO[bytes]) -> Iterator[IO[bytes]]:
    """The rest of ``body`` in a temporary file, at its start; the file is removed on exit,
    whether the read ended, failed or was abandoned."""
    spool: IO[bytes] = tempfile.SpooledTemporaryFile(max_size=SPOOL_BYTES)  # noqa: SIM115
    try:
        shutil.copyfileobj(body, spool, _COPY_CHUNK)
        spool.seek(0)
        yield spool
    finally:
        spool.close()
