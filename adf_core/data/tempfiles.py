"""Temporary files that carry the run id, and the clean-up of those a dead run left behind.

A destination that writes atomically writes ``.NAME.adf-RUNID.tmp`` beside its target and
renames it over the target at commit. The writer holds an exclusive ``flock`` on the file for
as long as it exists: the lock is released by the kernel when the process ends, however it
ends (SIGKILL included). So a later run of the same destination knows that a temporary file
whose lock it can take belongs to a process that no longer exists, and removes it; a file
still locked is another run's work in progress and is left alone. (Without ``fcntl``, on
Windows, nothing is swept.)

Every temporary file of this process is also registered, so that ``adf`` can remove them when
a second signal makes it exit at once (:func:`remove_all`).
"""

from __future__ import annotations

import contextlib
import os
import re
import threading
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import IO

try:
    import fcntl
except ImportError:  # pragma: no cover - Windows
    fcntl = None  # type: ignore[assignment]

_LIVE: set[str] = set()
_LOCK = threading.Lock()
_UMASK = os.umask(0o022)  # read once: os.umask can only be read by setting it
os.umask(_UMASK)


def temporary_name(target: str | os.PathLike[str], run_id: str, attempt: int = 0) -> Path:
    """``.NAME.adf-RUNID.tmp`` beside ``target`` (``-2``, ``-3``... when one run writes the
    same target twice)."""
    path = Path(target)
    suffix = f"-{attempt + 1}" if attempt else ""
    return path.with_name(f".{path.name}.adf-{run_id}{suffix}.tmp")


def _pattern(target: Path) -> re.Pattern[str]:
    return re.compile(rf"^\.{re.escape(target.name)}\.adf-[0-9A-Za-z_-]+\.tmp$")


@contextlib.contextmanager
def temporary_file(target: str | os.PathLike[str], run_id: str | None = None
                   ) -> Iterator[tuple[Path, IO[bytes]]]:
    """Create and lock the temporary file for ``target``; yield ``(path, binary handle)``.

    The caller renames ``path`` over the target to commit; whatever is left at ``path`` when
    the block ends (a failure, a cancel) is removed. The lock lasts until the handle closes
    (closing it earlier is fine: the file is then no longer protected from sweeping, so
    rename it promptly).
    """
    run_id = run_id or uuid.uuid4().hex[:12]
    path, fd = _create(Path(target), run_id)
    name = str(path)
    with _LOCK:
        _LIVE.add(name)
    try:
        with open(fd, "wb") as handle:
            yield path, handle
    finally:
        with _LOCK:
            _LIVE.discard(name)
        with contextlib.suppress(FileNotFoundError):
            os.unlink(path)


def publish(temporary: str | os.PathLike[str], target: str | os.PathLike[str]) -> None:
    """Rename a finished temporary file over ``target`` (the commit), giving it the mode
    the target had, or a new file's mode under the process umask (it was created 0600)."""
    target = Path(target)
    try:
        mode = target.stat().st_mode & 0o7777
    except FileNotFoundError:
        mode = 0o666 & ~_UMASK
    os.chmod(temporary, mode)
    os.replace(temporary, target)


def _create(target: Path, run_id: str) -> tuple[Path, int]:
    for attempt in range(1000):
        path = temporary_name(target, run_id, attempt)
        try:
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_CLOEXEC", 0),
                         0o600)
        except FileExistsError:
            continue
        if fcntl is None:
            return path, fd
        fcntl.flock(fd, fcntl.LOCK_EX)  # a new file: nobody else holds it
        try:
            still_ours = os.stat(path).st_ino == os.fstat(fd).st_ino
        except FileNotFoundError:
            still_ours = False
        if still_ours:
            return path, fd
        os.close(fd)  # swept between create and lock by a run that took it for a dead one's
    raise FileExistsError(f"cannot create a temporary file beside {str(target)!r}")


def sweep(target: str | os.PathLike[str]) -> list[Path]:
    """Remove the temporary files of ``target`` left by processes that no longer exist;
    return what was removed."""
    if fcntl is None:
        return []
    path = Path(target)
    pattern = _pattern(path)
    try:
        names = [n for n in os.listdir(path.parent) if pattern.match(n)]
    except OSError:
        return []
    removed = []
    for name in names:
        candidate = path.parent / name
        if str(candidate) in _LIVE:
            continue
        try:
            fd = os.open(candidate, os.O_RDONLY | getattr(os, "O_CLOEXEC", 0))
        except OSError:
            continue
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            os.close(fd)  # a live writer holds it
            continue
        try:
            if os.stat(candidate).st_ino == os.fstat(fd).st_ino:
                os.unlink(candidate)
                removed.append(candidate)
        except OSError:
            pass
        finally:
            os.close(fd)
    return removed


def remove_all() -> list[str]:
    """Remove every temporary file this process still has (``adf`` exiting at once)."""
    with _LOCK:
        names = list(_LIVE)
        _LIVE.clear()
    for name in names:
        with contextlib.suppress(OSError):
            os.unlink(name)
    return names
