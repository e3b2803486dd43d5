"""Bad records of one run: each component's policy, its error budget, the counts, and the
dead-letter file.

A component reports a record it cannot read or write with ``adf_core.rejects.reject``; its
policy (``on_error``) decides: ``fail`` raises, ``skip`` counts the record, ``dead_letter``
counts it and keeps it for the dead-letter file. ``max_errors`` bounds skipped plus
dead-lettered records: a count is checked at every reject, a fraction (below 1) of the records
the component read once its input is complete (when it finishes, and before it commits).
Either way the run fails with :class:`~adf_core.errors.TooManyBadRecords`, so the commit
groups roll back and nothing is committed.

Dead letters are JSON lines (``component``, ``input``, ``position``, ``error``, ``record``,
secrets redacted by the run's redactor), spooled per component (memory first, disk past a few
MiB; a retried attempt starts its spool again) and written at the end of the run, in
definition order, to the run's temporary file (``.NAME.adf-RUNID.tmp``, see
:mod:`adf_core.data.tempfiles`) that is renamed over the target: the file always describes
the last run.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import tempfile
import threading
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import IO, Any

from adf_core.data.encoding import json_default
from adf_core.data.tempfiles import publish, sweep, temporary_file
from adf_core.errors import BadRecordError, FlowDefinitionError, FlowError, TooManyBadRecords
from adf_core.observe.secrets import MASK, Redactor, is_secret_name
from adf_core.text import did_you_mean

POLICIES = ("fail", "skip", "dead_letter")
#: one encoder for every dead letter (a dead letter is a plain tree: no circularity check)
_encode = json.JSONEncoder(default=json_default, ensure_ascii=False, check_circular=False).encode
_SPOOL_BYTES = 4 * 1024 * 1024
_SECRET_HINT = re.compile(r"password|passwd|secret|token|_key", re.IGNORECASE)
# "password": "hunter2" inside a raw JSON line that could not be parsed
_JSON_SECRET = re.compile(
    r'("[^"\\]*(?:password|passwd|secret|token|_key)[^"\\]*"\s*:\s*)("(?:[^"\\]|\\.)*"|[^,}\s]+)',
    re.IGNORECASE)


def check_policy(value: Any, where: str = "") -> str:
    """``value`` if it is a policy name; a FlowDefinitionError otherwise."""
    if value in POLICIES:
        return str(value)
    hint = did_you_mean(value, POLICIES) if isinstance(value, str) else ""
    raise FlowDefinitionError(
        f"{where}on_error must be one of {', '.join(POLICIES)}, got {value!r}{hint}")


def check_max_errors(value: Any, where: str = "") -> int | float | None:
    """A count (an integer >= 0), a fraction (0 < f < 1), or None (no bound)."""
    if value is None:
        return None
    if isinstance(value, str):
        text = value.strip()
        try:
            value = int(text)
        except ValueError:
            try:
                value = float(text)
            except ValueError:
                value = text
    if isinstance(value, int) and not isinstance(value, bool) and value >= 0:
        return value
    if isinstance(value, float) and 0 <= value < 1:
        return value if value > 0 else 0
    if isinstance(value, float) and value >= 1 and value.is_integer():
        return int(value)
    raise FlowDefinitionError(
        f"{where}max_errors must be a count (an integer >= 0) or a fraction of the records "
        f"read (0 < max_errors < 1), got {value!r}")


def position_of(position: Any) -> dict[str, Any]:
    """``17`` is ``{"record": 17}``; a mapping (``{"file": ..., "line": ...}``) is kept."""
    if position is None:
        return {}
    if isinstance(position, int) and not isinstance(position, bool):
        return {"record": position}
    if isinstance(position, Mapping):
        return dict(position)
    raise TypeError(f"position must be a record number or a mapping, got {position!r}")


def describe_error(error: BaseException | str) -> str:
    if isinstance(error, BaseException):
        return str(error) or type(error).__name__
    return str(error)


def where_text(input: str | None, position: Mapping[str, Any]) -> str:
    """``orders.jsonl line 4`` / ``input 'src' record 17``, for messages."""
    parts = []
    if "file" in position:
        parts.append(str(position["file"]))
    elif input:
        parts.append(f"input {input!r}")
    parts += [f"{k} {v}" for k, v in position.items() if k != "file"]
    return " ".join(parts)


def as_exception(error: BaseException | str, input: str | None, position: Mapping[str, Any],
                 component: str | None) -> BaseException:
    """What ``fail`` raises: the component's own exception, or a BadRecordError naming the
    place."""
    if isinstance(error, BaseException):
        return error
    where = where_text(input, position)
    return BadRecordError(f"{where}: {error}" if where else str(error), component=component,
                          input=input, position=position)


class Scrubber:
    """Hides secrets in dead letters: the run's redactor (secret options, declared secrets,
    URL passwords) for text, fields with secret names in records, and secret fields of a raw
    JSON line that could not be parsed."""

    def __init__(self, redactor: Redactor) -> None:
        self.redactor = redactor
        self._names: dict[str, bool] = {}

    def secret(self, name: str) -> bool:
        found = self._names.get(name)
        if found is None:
            found = self._names[name] = is_secret_name(name)
        return found

    def text(self, text: str) -> str:
        text = self.redactor.text(text)
        if '"' in text and _SECRET_HINT.search(text):
            text = _JSON_SECRET.sub(rf'\1"{MASK}"', text)
        return text

    def value(self, value: Any) -> Any:
        if isinstance(value, str):
            return self.text(value)
        if isinstance(value, bytes | bytearray):
            return self.text(bytes(value).decode("utf-8", "backslashreplace"))
        if isinstance(value, Mapping):
            return {str(k): (MASK if self.secret(str(k)) and v not in (None, "") else
                             self.value(v)) for k, v in value.items()}
        if isinstance(value, list | tuple):
            return [self.value(v) for v in value]
        return value


class ComponentRejects:
    """One component's policy, budget and bad records in one run."""

    __slots__ = ("alias", "count", "first", "kept", "limit", "lock", "owner", "policy", "spool")

    def __init__(self, owner: RunRejects, alias: str, policy: str, limit: int | float | None
                 ) -> None:
        self.owner = owner
        self.alias = alias
        self.policy = policy
        self.limit = limit
        self.count = 0
        self.first: str | None = None
        self.lock = threading.Lock()
        self.spool: IO[bytes] | None = None
        self.kept: list[dict[str, Any]] = []

    def reject(self, record: Any, error: BaseException | str, position: Any,
               input: str | None) -> None:
        """Apply the policy to one bad record (see ``adf_core.rejects.reject``)."""
        where = position_of(position)
        if self.policy == "fail":
            raise as_exception(error, input, where, self.alias)
        with self.lock:
            self.count += 1
            count = self.count
            if self.first is None:
                place = where_text(input, where)
                text = describe_error(error)
                named = not place or text.startswith(place) or place.startswith(
                    text.partition(":")[0])
                self.first = self.owner.scrub.text(text if named else f"{place}: {text}")
            if self.policy == "dead_letter":
                self.owner.keep(self, record, error, where, input)
        limit = self.limit
        if limit is not None and not isinstance(limit, float) and count > limit:
            raise TooManyBadRecords(self.alias, count, limit, first=self.first)

    def restart(self) -> None:
        """A new attempt reads everything again: forget the previous attempt's records."""
        with self.lock:
            self.count = 0
            self.first = None
            self.kept.clear()
            if self.spool is not None:
                self.spool.seek(0)
                self.spool.truncate()


class RunRejects:
    """The bad records of one run, per component, and the dead-letter file."""

    def __init__(self, policies: Mapping[str, tuple[str, int | float | None]],
                 path: str | os.PathLike[str] | None, run_id: str,
                 redactor: Callable[[], Redactor] | None = None) -> None:
        #: alias -> (on_error, max_errors), in definition order
        self.policies = policies
        #: alias -> its bad records, made on its first one (a clean run makes none)
        self.slots: dict[str, ComponentRejects] = {}
        self._made = threading.Lock()
        self.path = Path(path) if path is not None else None
        self.run_id = run_id
        self._redactor = redactor
        self._scrub: Scrubber | None = None
        self.written: Path | None = None
        self._file: contextlib.ExitStack | None = None
        self._tmp: tuple[Path, IO[bytes]] | None = None
        self._checkpointed = 0  # dead letters in the file at the last checkpoint
        #: ``alias -> records it read so far`` (its records in; a source: what it produced
        #: plus what it rejected), for fractional budgets; set by the run.
        self.records_read: Callable[[str, int | None], int] = lambda alias, produced: \
            (produced or 0) + self.count(alias)

    @property
    def scrub(self) -> Scrubber:
        """Built on the first bad record: a run without any pays nothing for it."""
        if self._scrub is None:
            self._scrub = Scrubber(self._redactor() if self._redactor is not None
                                   else Redactor())
        return self._scrub

    def slot(self, alias: str | None) -> ComponentRejects | None:
        """The bad records of ``alias`` (None: not a component of this run)."""
        if alias is None:
            return None
        found = self.slots.get(alias)
        if found is None and alias in self.policies:
            with self._made:
                found = self.slots.get(alias)
                if found is None:
                    policy, limit = self.policies[alias]
                    found = self.slots[alias] = ComponentRejects(self, alias, policy, limit)
        return found

    def policy(self, alias: str | None) -> str | None:
        spec = self.policies.get(alias) if alias is not None else None
        return spec[0] if spec is not None else None

    # counts --------------------------------------------------------------------------------
    def count(self, alias: str) -> int:
        slot = self.slots.get(alias)
        return slot.count if slot is not None else 0

    def counts(self) -> dict[str, int]:
        slots = self.slots
        return {alias: slots[alias].count if alias in slots else 0 for alias in self.policies}

    def total(self) -> int:
        return sum(slot.count for slot in self.slots.values())

    def restart(self, alias: str) -> None:
        slot = self.slots.get(alias)
        if slot is not None and slot.count:
            slot.restart()

    def check_budget(self, alias: str | None, produced: int | None = None) -> None:
        """Raise TooManyBadRecords when ``alias`` rejected more than its fraction of what it
        read. Call once its input is complete: when it finishes, and before it commits."""
        slot = self.slots.get(alias) if alias is not None else None
        if slot is None or not slot.count or not isinstance(slot.limit, float):
            return
        read = self.records_read(slot.alias, produced)
        if slot.count > slot.limit * read:
            raise TooManyBadRecords(slot.alias, slot.count, slot.limit, read=read,
                                    first=slot.first)

    # dead letters --------------------------------------------------------------------------
    def keep(self, slot: ComponentRejects, record: Any, error: BaseException | str,
             position: dict[str, Any], input: str | None) -> None:
        """Keep one dead letter (the caller holds ``slot.lock``)."""
        scrub = self.scrub
        entry = {"component": slot.alias, "input": input, "position": position,
                 "error": scrub.text(describe_error(error)), "record": scrub.value(record)}
        if self.path is None:
            slot.kept.append(entry)
            return
        if slot.spool is None:
            slot.spool = tempfile.SpooledTemporaryFile(max_size=_SPOOL_BYTES)  # noqa: SIM115
        slot.spool.write((_encode(entry) + "\n").encode("utf-8", "backslashreplace"))

    def dead_letters(self) -> list[dict[str, Any]]:
        """The dead letters kept in memory (a flow without a dead-letter path)."""
        return [entry for alias in self.policies if alias in self.slots
                for entry in self.slots[alias].kept]

    def open(self) -> None:
        """Create the temporary dead-letter file now (``.NAME.adf-RUNID.tmp``, locked, as the
        file destination's), so that a path that cannot be written fails the run before
        anything runs, not after the destinations committed. Those left by runs that died
        are swept first."""
        if self.path is None:
            return
        target = self.path
        stack = contextlib.ExitStack()
        try:
            target.parent.mkdir(parents=True, exist_ok=True)
            sweep(target)
            self._tmp = stack.enter_context(temporary_file(target, self.run_id))
        except OSError as exc:
            stack.close()
            raise FlowError(f"cannot write the dead-letter file {str(target)!r}: "
                            f"{exc.strerror or exc}") from None
        self._file = stack

    def checkpoint(self) -> None:
        """Write the dead letters so far to the dead-letter file now (a continuous run: a
        source acknowledges a dead-lettered message only once it is there, so a kill loses
        none); the file is written whole again at the end of the run."""
        if self._tmp is None or self.path is None:
            return
        total = self.total()
        if total == self._checkpointed:
            return
        with temporary_file(self.path, f"{self.run_id}-c{total}") as (tmp, out):
            for alias in self.policies:
                slot = self.slots.get(alias)
                if slot is None or slot.spool is None:
                    continue
                with slot.lock:
                    end = slot.spool.tell()
                    slot.spool.seek(0)
                    out.write(slot.spool.read(end))
                    slot.spool.seek(end)
            out.flush()
            os.fsync(out.fileno())
            publish(tmp, self.path)
        self._checkpointed = total

    def write(self) -> Path | None:
        """Write every dead letter, in definition order, and rename the file into place."""
        if self._tmp is None or self.path is None:
            return None
        tmp, out = self._tmp
        try:
            for alias in self.policies:
                slot = self.slots.get(alias)
                spool = slot.spool if slot is not None else None
                if spool is None:
                    continue
                spool.seek(0)
                while chunk := spool.read(1 << 20):
                    out.write(chunk)
            out.flush()
            os.fsync(out.fileno())
            publish(tmp, self.path)
        except OSError as exc:
            raise FlowError(
                f"cannot write the dead-letter file {str(self.path)!r}: {exc.strerror or exc}; "
                f"{self.total()} bad records were not saved") from None
        finally:
            self.close()
        self.written = self.path
        return self.path

    def close(self) -> None:
        """Drop the spools and the temporary file, if it is still there."""
        for slot in self.slots.values():
            if slot.spool is not None:
                slot.spool.close()
                slot.spool = None
        self._tmp = None
        if self._file is not None:
            self._file.close()
            self._file = None
