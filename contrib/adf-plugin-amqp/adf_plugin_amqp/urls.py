"""URLs in messages without their password (the run's redactor hides it in the logs too)."""

from __future__ import annotations


def safe_url(url: str) -> str:
    from adf_core.observe.secrets import redact_url

    return redact_url(str(url))
