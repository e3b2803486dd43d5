"""Redaction: secrets never reach logs, trace files, ``--dry-run`` output or error messages.

A secret is the value of any option whose name contains ``password``, ``passwd``, ``secret``
or ``token`` or ends in ``_key``, and the password part of any URL. ``Redactor`` also
remembers the secret values it has seen, so that they are scrubbed from free text such as
an exception message that quotes them.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from typing import Any

MASK = "***"
_WORDS = ("password", "passwd", "secret", "token")
_URL_PASSWORD = re.compile(r"(\b[a-zA-Z][\w+.-]*://[^:/@\s]*:)([^\s/?#]*)(@)")
_QUERY_SECRET = re.compile(
    r"([?&;](?:[^=&;\s]*(?:password|passwd|secret|token)[^=&;\s]*|[^=&;\s]*_key)=)([^&;\s'\"]*)",
    re.IGNORECASE,
)


def is_secret_name(name: str) -> bool:
    """True for option names whose values must be hidden (``api_key``, ``db_password``)."""
    lowered = name.lower()
    return any(word in lowered for word in _WORDS) or lowered.endswith("_key")


def redact_text(text: str) -> str:
    """Hide URL passwords and secret query parameters in free text."""
    text = _URL_PASSWORD.sub(rf"\1{MASK}\3", text)
    return _QUERY_SECRET.sub(rf"\1{MASK}", text)


def url_passwords(text: str) -> list[str]:
    """The password parts of the URLs in ``text`` (to scrub them wherever they reappear)."""
    return [m[2] for m in _URL_PASSWORD.finditer(text) if m[2]] + [
        m[2] for m in _QUERY_SECRET.finditer(text) if m[2]
    ]


class Redactor:
    """Hides secrets by option name, by URL shape, and by value once a value is known.

    Also a structlog processor: ``Redactor()(logger, method, event_dict)``.
    """

    def __init__(self, values: Iterable[str] = ()) -> None:
        self._values: set[str] = set()
        for value in values:
            self.add(value)

    def add(self, value: Any) -> None:
        """Remember a secret value (short values would hide too much text: 3+ characters)."""
        text = str(value)
        if len(text) >= 3:
            self._values.add(text)

    def learn(self, options: Mapping[str, Mapping[str, Any]]) -> None:
        """Remember the secrets in ``{alias: {key: value}}`` option tables."""
        for values in options.values():
            for key, value in values.items():
                self._learn_value(key, value)

    def _learn_value(self, key: str, value: Any) -> None:
        if value is None or value == "":
            return
        if is_secret_name(key):
            self.add(value)
        if isinstance(value, str):
            for password in url_passwords(value):
                self.add(password)
        elif isinstance(value, Mapping):
            for k, v in value.items():
                self._learn_value(str(k), v)
        elif isinstance(value, list | tuple):
            for v in value:
                self._learn_value(key, v)

    def text(self, text: str) -> str:
        """Free text with every known or URL-shaped secret hidden."""
        text = redact_text(text)
        for value in sorted(self._values, key=len, reverse=True):
            text = text.replace(value, MASK)
        return text

    def value(self, key: str, value: Any) -> Any:
        """A value fit to show under the name ``key`` (containers are walked)."""
        if is_secret_name(key) and value not in (None, ""):
            return MASK
        if isinstance(value, str):
            return self.text(value)
        if isinstance(value, Mapping):
            return {k: self.value(str(k), v) for k, v in value.items()}
        if isinstance(value, list | tuple):
            return [self.value(key, v) for v in value]
        if isinstance(value, BaseException):
            return self.text(f"{type(value).__name__}: {value}")
        return value

    def mapping(self, values: Mapping[str, Any]) -> dict[str, Any]:
        return {key: self.value(key, value) for key, value in values.items()}

    def __call__(self, logger: Any, method: str, event_dict: dict[str, Any]) -> dict[str, Any]:
        return self.mapping(event_dict)
