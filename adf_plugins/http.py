"""The `http` source on httpx: a JSON API response as records, with timeouts and retries."""

import random
from collections.abc import AsyncIterator, Callable
from typing import Any
from urllib.parse import urljoin

from adf_core import component
from adf_core.hookspecs import hookimpl
from adf_core.rejects import reject
from adf_plugins import checks
from adf_plugins._common import safe_url

Record = dict[str, Any]
RETRY_STATUSES = frozenset({429, 500, 502, 503, 504})
MAX_RETRY_AFTER = 60.0


def _retry_after(response: Any, fallback: float) -> float:
    value = response.headers.get("retry-after")
    if value is None:
        return fallback
    try:
        return min(max(float(value), 0.0), MAX_RETRY_AFTER)
    except ValueError:
        return fallback


async def request_with_retries(
    method: str,
    url: str,
    *,
    max_retries: int,
    backoff: float,
    request_timeout: float,
    client: Any = None,
    **kwargs: Any,
) -> Any:
    """Send one request; retry 429, 5xx and transport errors with exponential backoff + jitter.

    A `Retry-After` header (seconds) overrides the computed delay (capped at 60 s). After the
    last attempt the error names the status and the URL (without its password). Without a
    ``client`` (an ``httpx.AsyncClient``), one is opened for this request.
    """
    import httpx

    if client is None:
        async with httpx.AsyncClient(timeout=request_timeout, follow_redirects=True) as own:
            return await _send(own, method, url, max_retries, backoff, kwargs)
    return await _send(client, method, url, max_retries, backoff, kwargs)


async def _send(
    client: Any, method: str, url: str, max_retries: int, backoff: float, kwargs: dict[str, Any]
) -> Any:
    import httpx

    attempt = 0
    while True:
        delay = backoff * (2**attempt) * (1 + random.random() / 2)
        try:
            response = await client.request(method, url, **kwargs)
        except httpx.TransportError as exc:
            if attempt >= max_retries:
                raise ConnectionError(
                    f"{method} {safe_url(url)} failed after {attempt + 1} attempt(s): "
                    f"{type(exc).__name__}: {exc}"
                ) from exc
        else:
            if response.status_code not in RETRY_STATUSES or attempt >= max_retries:
                if response.is_error:
                    raise RuntimeError(
                        f"{method} {safe_url(url)} answered {response.status_code} "
                        f"{response.reason_phrase} after {attempt + 1} attempt(s): "
                        f"{_scrubbed(response.text, kwargs.get('headers'))[:200]}"
                    )
                return response
            delay = _retry_after(response, delay)
        attempt += 1
        import asyncio  # here, not at import: `adf plugins` and `adf --help` stay fast

        await asyncio.sleep(delay)


def _scrubbed(text: str, headers: Any) -> str:
    """A server's answer without the credentials we sent it (a 401 page that echoes the
    request headers), hidden before the text is cut short, so no part of one survives."""
    from adf_core.observe.secrets import MASK, header_secrets, parse_headers

    secrets = [secret for name, value in (parse_headers(headers) or {}).items()
               for secret in header_secrets(str(name), value) if len(secret) >= 3]
    for secret in sorted(secrets, key=len, reverse=True):
        text = text.replace(secret, MASK)
    return text


def _pick(data: Any, path: str | None, url: str) -> Any:
    if not path:
        return data
    for part in path.split("."):
        if isinstance(data, dict) and part in data:
            data = data[part]
        elif isinstance(data, list) and part.isdigit() and int(part) < len(data):
            data = data[int(part)]
        else:
            raise KeyError(f"{safe_url(url)}: the response has no {path!r} (missing {part!r})")
    return data


@component(probe=checks.probe_http)
async def read_http(
    url: str,
    method: str = "GET",
    headers: dict[str, str] | None = None,
    params: dict[str, str] | None = None,
    body: dict[str, Any] | None = None,
    records_path: str | None = None,
    next_path: str | None = None,
    max_pages: int = 1000,
    request_timeout: float = 30.0,
    max_retries: int = 3,
    backoff: float = 0.5,
) -> AsyncIterator[list[Record]]:
    """Read records from a JSON API, page by page.

    A JSON list of objects gives one record per object; a JSON object gives one record, or
    with `records_path` (`data.items`) the list found there. Pages are followed through a
    `Link: <...>; rel="next"` header, or the URL found at `next_path` in the response
    (`links.next`), up to `max_pages`; each page is one batch of the stream. Requests time out
    after `request_timeout` seconds; 429 and 5xx answers and connection errors are retried
    `max_retries` times with exponential backoff and jitter (honouring `Retry-After`).

    Args:
        url: the API URL.
        method: HTTP method.
        headers: request headers (a JSON object or key=value pairs on the CLI).
        params: query string parameters (of the first request; next pages carry their own).
        body: JSON request body (for POST and friends).
        records_path: dotted path to the list of records inside the response object.
        next_path: dotted path to the next page's URL in the response (absolute or relative).
        max_pages: stop after this many pages.
        request_timeout: seconds before a request times out.
        max_retries: retries after the first attempt, on 429, 5xx and connection errors.
        backoff: first retry delay in seconds (doubled on each retry, plus jitter).
    """
    import httpx

    page_url: str | None = url
    pages = 0
    seen = 0
    async with httpx.AsyncClient(timeout=request_timeout, follow_redirects=True) as client:
        while page_url and pages < max(int(max_pages), 1):
            response = await request_with_retries(
                method.upper(),
                page_url,
                max_retries=max(int(max_retries), 0),
                backoff=backoff,
                request_timeout=request_timeout,
                client=client,
                headers=headers,
                params=params if pages == 0 else None,
                json=body,
            )
            pages += 1
            try:
                data = response.json()
            except ValueError:
                raise ValueError(
                    f"{safe_url(page_url)} did not answer JSON (content-type "
                    f"{response.headers.get('content-type')!r}): "
                    f"{_scrubbed(response.text, headers)[:120]!r}"
                ) from None
            records = _pick(data, records_path, page_url)
            records = records if isinstance(records, list) else [records]
            count = len(records)
            if not all(isinstance(record, dict) for record in records):
                records = _objects_only(records, page_url, pages, seen)
            seen += count  # every record of the page, rejected ones too: positions count them
            if records:
                yield records
            page_url = _next_page(response, data, next_path, page_url)


def _objects_only(records: list[Any], page_url: str, page: int, seen: int) -> list[Record]:
    """The records of a page that are objects; each other one is a bad record (the policy:
    fail, skip or dead-letter), numbered across pages."""
    kept = []
    for number, record in enumerate(records, start=1):
        if isinstance(record, dict):
            kept.append(record)
            continue
        error = ValueError(f"{safe_url(page_url)}: record {number} of page {page} is a "
                           f"{type(record).__name__}, not an object (set `records_path`?)")
        reject(record, error, position=seen + number, input=safe_url(page_url))
    return kept


def _next_page(response: Any, data: Any, next_path: str | None, current: str) -> str | None:
    if next_path:
        try:
            found = _pick(data, next_path, current)
        except KeyError:
            return None
        return urljoin(current, found) if isinstance(found, str) and found else None
    link = response.links.get("next", {}).get("url")
    return urljoin(current, link) if link else None


@hookimpl
def adf_sources() -> dict[str, Callable[..., Any]]:
    return {"http": read_http}
