"""Static checks and connection probes that a component declares, for ``adf run --dry-run``
and ``--check``.

A component declares them with ``adf_core.component(check=..., probe=...)``::

    def _bucket_name(options):
        bucket = options.get("bucket")
        if isinstance(bucket, str) and "/" in bucket:
            yield Problem("a bucket name has no '/': put the path in `key`", option="bucket")

    @component(check=[exactly_one("key", "prefix"), _bucket_name], probe=_head_bucket)
    def write_objects(bucket: str, key: str | None = None, prefix: str | None = None): ...

A **check** receives the option values known before the run (``options``, a read-only
mapping): bound options (converted by annotation), ``-p`` params the component reads by name,
and defaults. A parameter that an earlier stage may provide at run time is absent, so a check
looks only at what is there. It returns or yields :class:`Problem` objects (or strings) and
must not touch the network. A **probe** receives the same mapping, once every required
option is known, and opens the connection without moving data (connect, ``HEAD``): it
raises on failure (:class:`CheckFailed` names the option) and may return a short description
of what it reached. It may be a coroutine function; each probe has a time limit.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any

Options = Mapping[str, Any]
Check = Callable[[Options], "Iterable[Problem | str] | None"]
Probe = Callable[[Options], "str | Awaitable[str | None] | None"]


@dataclass(frozen=True)
class Problem:
    """One thing that keeps a flow from running, naming the component and the option."""

    message: str
    option: str | None = None
    component: str | None = None

    @property
    def where(self) -> str:
        return ".".join(part for part in (self.component, self.option) if part)

    def __str__(self) -> str:
        return f"{self.where}: {self.message}" if self.where else self.message


class CheckFailed(Exception):
    """A probe's failure, naming the option behind it (``url``, ``bucket``)."""

    def __init__(self, message: str, option: str | None = None) -> None:
        super().__init__(message)
        self.option = option


def _given(options: Options, name: str) -> bool:
    return options.get(name) not in (None, "")


def exactly_one(*names: str) -> Check:
    """A check: exactly one of the options ``names`` is set (``key`` or ``prefix``)."""
    return _one_of(names, required=True, label="exactly_one")


def at_most_one(*names: str) -> Check:
    """A check: at most one of the options ``names`` is set."""
    return _one_of(names, required=False, label="at_most_one")


def _one_of(names: tuple[str, ...], required: bool, label: str) -> Check:
    listed = " or ".join(f"`{n}`" for n in names)

    def check(options: Options) -> Iterable[Problem]:
        given = [n for n in names if n in options and _given(options, n)]
        if len(given) > 1:
            yield Problem(f"give only one of {listed}, not {' and '.join(given)}",
                          option=given[1])
        elif required and not given and all(n in options for n in names):
            yield Problem(f"give one of {listed}", option=names[0])

    check.__qualname__ = check.__name__ = f"{label}({', '.join(names)})"
    return check
