"""Redaction: secrets never reach logs, trace files, ``--dry-run`` output or error messages.

A secret is the value of any option whose name contains ``password``, ``passwd``, ``secret``
or ``token`` or ends in ``_key``; the value of an option a component declares secret
(``component(secrets=["dsn"])``); the value of a secret-looking header (``Authorization``,
cookies, any name with ``auth``, ``token``, ``key``, ``secret``, ``pass``, ``session``) in
an option whose name contains ``header``; and the password part of any URL, up to its
``@`` as SQLAlchemy reads it (so ``/``, ``?`` and ``#`` in a password are covered).
``Redactor`` also remembers the secret values it has seen, so that they are scrubbed from
free text such as an exception message or a server's answer that quotes them.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Mapping
from typing import Any
from urllib.parse import unquote

MASK = "***"
_WORDS = ("password", "passwd", "secret", "token")
_HEADER_WORDS = ("auth", "cookie", "token", "key", "secret", "pass", "session", "signature",
                 "credential")
# user ":" password "@": the password runs to the first "@" (SQLAlchemy's rule), so it may
# hold "/", "?", "#" or ":"; in free text it stops at whitespace and quotes.
_URL_PASSWORD = re.compile(r"(\b[a-zA-Z][\w+.-]*://[^:/@\s'\"]*:)([^@\s'\"]*)(@)")
_WHOLE_URL_PASSWORD = re.compile(r"\s*[a-zA-Z][\w+.-]*://[^:/@]*:([^@]*)@")
_QUERY_SECRET = re.compile(
    r"([?&;](?:[^=&;\s]*(?:password|passwd|secret|token)[^=&;\s]*|[^=&;\s]*_key)=)([^&;\s'\"]*)",
    re.IGNORECASE,
)


def is_secret_name(name: str) -> bool:
    """True for option names whose values must be hidden (``api_key``, ``db_password``)."""
    lowered = name.lower()
    return any(word in lowered for word in _WORDS) or lowered.endswith("_key")


def is_secret_header(name: str) -> bool:
    """True for HTTP header names whose values are credentials (``Authorization``,
    ``Cookie``, ``X-Api-Key``, ``X-Auth-Token``)."""
    lowered = name.lower()
    return any(word in lowered for word in _HEADER_WORDS)


def is_header_option(name: str) -> bool:
    """Options that hold HTTP headers (``headers``, ``extra_headers``)."""
    return "header" in name.lower()


def redact_text(text: str) -> str:
    """Hide URL passwords and secret query parameters in free text."""
    text = _URL_PASSWORD.sub(rf"\1{MASK}\3", text)
    return _QUERY_SECRET.sub(rf"\1{MASK}", text)


def redact_url(url: str) -> str:
    """One URL (an option value) with its password and secret query parameters hidden;
    the password is read as SQLAlchemy reads it, up to the first ``@``."""
    whole = _WHOLE_URL_PASSWORD.match(url)
    if whole and whole[1]:
        url = f"{url[:whole.start(1)]}{MASK}{url[whole.end(1):]}"
    return redact_text(url)


def url_passwords(text: str) -> list[str]:
    """The password parts of the URLs in ``text`` (to scrub them wherever they reappear),
    as written and percent-decoded."""
    whole = _WHOLE_URL_PASSWORD.match(text)
    found = [whole[1]] if whole else []
    found += [m[2] for m in _URL_PASSWORD.finditer(text)]
    found += [m[2] for m in _QUERY_SECRET.finditer(text)]
    both = [form for password in found if password for form in (password, unquote(password))]
    return list(dict.fromkeys(both))


def header_secrets(name: str, value: Any) -> list[str]:
    """The secret parts of one header value: the whole value, the credentials after an
    ``Authorization`` scheme (``Bearer xyz`` -> ``xyz``) and each cookie's value."""
    if not is_secret_header(name) or value is None:
        return []
    text = str(value).strip()
    found = [text]
    scheme, _, credentials = text.partition(" ")
    if credentials.strip() and scheme.isalpha():
        found.append(credentials.strip())
    if "=" in text:
        found += [part.partition("=")[2].strip() for part in text.split(";") if "=" in part]
    return [part for part in found if part]


def parse_headers(value: Any) -> Mapping[str, Any] | None:
    """Headers given as a mapping, a JSON object, ``k=v,k2=v2`` or ``Name: value`` lines."""
    if isinstance(value, Mapping):
        return value
    if not isinstance(value, str):
        return None
    text = value.strip()
    if text.startswith("{"):
        try:
            parsed = json.loads(text)
        except ValueError:
            return None
        return parsed if isinstance(parsed, dict) else None
    separator = "\n" if ":" in text and "\n" in text else ","
    found: dict[str, str] = {}
    for part in text.split(separator):
        name, sep, item = part.partition(":" if separator == "\n" else "=")
        if sep:
            found[name.strip()] = item.strip()
    return found or None


class Redactor:
    """Hides secrets by option name, by URL shape, and by value once a value is known.

    Also a structlog processor: ``Redactor()(logger, method, event_dict)``.
    """

    def __init__(self, values: Iterable[str] = ()) -> None:
        self._values: set[str] = set()
        self._longest_first: list[str] | None = []
        for value in values:
            self.add(value)

    def add(self, value: Any) -> None:
        """Remember a secret value (short values would hide too much text: 3+ characters)."""
        text = str(value)
        if len(text) >= 3 and text not in self._values:
            self._values.add(text)
            self._longest_first = None

    def learn(self, options: Mapping[str, Mapping[str, Any]],
              declared: Mapping[str, Iterable[str]] | None = None) -> None:
        """Remember the secrets in ``{alias: {key: value}}`` option tables; ``declared``
        names, per alias, the options its component declares secret."""
        for alias, values in options.items():
            secret = frozenset((declared or {}).get(alias, ()))
            for key, value in values.items():
                if key in secret:
                    self.add_all(value)
                self._learn_value(key, value)

    def add_all(self, value: Any) -> None:
        """Remember a secret value, and every string inside it (a dict, a list)."""
        if value is None or value == "":
            return
        if isinstance(value, Mapping):
            for item in value.values():
                self.add_all(item)
        elif isinstance(value, list | tuple | set | frozenset):
            for item in value:
                self.add_all(item)
        else:
            self.add(value)
            if isinstance(value, str):
                for password in url_passwords(value):
                    self.add(password)

    def _learn_value(self, key: str, value: Any) -> None:
        if value is None or value == "":
            return
        if is_secret_name(key):
            self.add_all(value)
        if is_header_option(key):
            headers = parse_headers(value)
            if headers is None and isinstance(value, str) and any(
                    word in value.lower() for word in _HEADER_WORDS):
                self.add(value)  # unreadable, and may hold a credential: hide it whole
            for name, item in (headers or {}).items():
                for secret in header_secrets(str(name), item):
                    self.add(secret)
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
        if "://" in text or "=" in text:  # what a URL password or a secret parameter needs
            text = redact_text(text)
        ordered = self._longest_first
        if ordered is None:
            ordered = self._longest_first = sorted(self._values, key=len, reverse=True)
        for value in ordered:
            if value in text:
                text = text.replace(value, MASK)
        return text

    def value(self, key: str, value: Any) -> Any:
        """A value fit to show under the name ``key`` (containers are walked)."""
        if is_secret_name(key) and value not in (None, ""):
            return MASK
        if isinstance(value, str):
            return self.text(value)
        if isinstance(value, Mapping):
            headers = is_header_option(key)
            return {k: MASK if headers and is_secret_header(str(k)) and v not in (None, "")
                    else self.value(str(k), v) for k, v in value.items()}
        if isinstance(value, list | tuple):
            return [self.value(key, v) for v in value]
        if isinstance(value, BaseException):
            return self.text(f"{type(value).__name__}: {value}")
        return value

    def mapping(self, values: Mapping[str, Any]) -> dict[str, Any]:
        return {key: self.value(key, value) for key, value in values.items()}

    def __call__(self, logger: Any, method: str, event_dict: dict[str, Any]) -> dict[str, Any]:
        return self.mapping(event_dict)
