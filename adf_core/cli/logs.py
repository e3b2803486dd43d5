"""structlog for ``adf run``: engine events to stderr, a trace collector and a live view.

Console lines on a TTY, JSON lines otherwise (or with ``--log-format json``). ``-q`` hides
info events and ``-v`` shows debug events and tracebacks; the trace collector and the live
view see every event either way. Secrets are redacted before anything is rendered or kept.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from typing import Any, TextIO

LEVELS = {"debug": 10, "info": 20, "warning": 30, "warn": 30, "error": 40, "critical": 50}
Processor = Callable[[Any, str, dict[str, Any]], Any]


def _level_filter(threshold: int) -> Processor:
    import structlog

    def drop_below(logger: Any, method: str, event_dict: dict[str, Any]) -> dict[str, Any]:
        if LEVELS.get(str(event_dict.get("level", "info")), 20) < threshold:
            raise structlog.DropEvent
        return event_dict

    return drop_below


def _drop_exceptions(logger: Any, method: str, event_dict: dict[str, Any]) -> dict[str, Any]:
    for key in ("exc_info", "exception", "stack"):
        event_dict.pop(key, None)
    return event_dict


def _event_first(logger: Any, method: str, event_dict: dict[str, Any]) -> dict[str, Any]:
    head: dict[str, Any] = {
        k: event_dict.pop(k) for k in ("timestamp", "level", "event") if k in event_dict
    }
    return {**head, **event_dict}


@contextmanager
def configured(
    *,
    stream: TextIO,
    json_lines: bool,
    colors: bool,
    verbosity: int,
    redactor: Processor,
    sinks: Sequence[Processor] = (),
) -> Iterator[None]:
    """Configure structlog for one run, and restore the previous configuration after it."""
    import structlog

    was_configured = structlog.is_configured()
    previous = structlog.get_config()
    renderer: Processor
    if json_lines:
        renderer = structlog.processors.JSONRenderer(default=str)
    else:
        renderer = structlog.dev.ConsoleRenderer(
            colors=colors, exception_formatter=structlog.dev.plain_traceback
        )
    threshold = 10 if verbosity > 0 else 30 if verbosity < 0 else 20
    processors: list[Any] = [
        structlog.contextvars.merge_contextvars,
        structlog.processors.add_log_level,
        structlog.processors.TimeStamper(fmt="iso", utc=True),
        structlog.processors.format_exc_info if verbosity > 0 else _drop_exceptions,
        redactor,
        *sinks,
        _level_filter(threshold),
        *([_event_first] if json_lines else []),
        renderer,
    ]
    structlog.configure(
        processors=processors,
        wrapper_class=structlog.make_filtering_bound_logger(
            logging.DEBUG if verbosity > 0 else logging.INFO
        ),
        logger_factory=structlog.WriteLoggerFactory(file=stream),
        cache_logger_on_first_use=False,
    )
    try:
        yield
    finally:
        if was_configured:
            structlog.configure(**previous)
        else:
            structlog.reset_defaults()
