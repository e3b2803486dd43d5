"""The `notify` destination: a JSON summary of the run, POSTed to a webhook or logged."""

import sys
import time
from collections.abc import Callable, Mapping
from types import MappingProxyType
from typing import Any

from adf_core import component
from adf_core.hookspecs import hookimpl
from adf_core.records import aiter_batches, select_inputs
from adf_plugins import checks
from adf_plugins._common import dumps, failed_components


def _text(summary: dict[str, Any]) -> str:
    counts: dict[str, int] = summary["counts"]
    parts = ", ".join(f"{name}: {n:,}" for name, n in counts.items())
    detail = f" ({parts})" if len(counts) > 1 else ""
    total = summary["records"]
    noun = "record" if total == 1 else "records"
    run = f"adf run {summary['run_id']}" if summary.get("run_id") else "adf"
    return f"{run} {summary['status']}: {total:,} {noun}{detail}"


@component(probe=checks.probe_webhook)
async def notify(
    url: str | None = None,
    upstream: Mapping[str, Any] | None = None,
    context: Mapping[str, Any] | None = None,
    input: list[str] | None = None,
    headers: dict[str, str] | None = None,
    request_timeout: float = 10.0,
    max_retries: int = 3,
    backoff: float = 0.5,
) -> Mapping[str, Any]:
    """POST a JSON summary of the run to a webhook; without `url`, log it.

    The summary: `run_id`, `flow`, `status` (succeeded, or failed when a component of the run
    already failed), `counts` (records per input), `records` (their total), `started_at`,
    `duration_s` and a `text` line that chat webhooks (Slack, Mattermost, Teams) show.
    Without `url` the summary is logged as the structlog event `notify.summary` when structlog
    is configured (the CLI does), else printed as JSON on stderr. It is also returned (a
    read-only mapping, stored under the component's alias). Webhook calls time out and are
    retried on 429 and 5xx like the `http` source.

    Args:
        url: webhook URL to POST the summary to (JSON body).
        input: context keys to count instead of every member of the previous stage.
        headers: extra request headers (e.g. an Authorization header).
        request_timeout: seconds before the request times out.
        max_retries: retries on 429, 5xx and connection errors.
        backoff: first retry delay in seconds (doubled on each retry).
    """
    from adf_core import current_run

    counts: dict[str, int] = {}
    for name, data in select_inputs(upstream, context, input):
        counts[name] = 0
        async for batch in aiter_batches(data):
            counts[name] += len(batch)
    run = current_run()
    failed = failed_components()
    summary: dict[str, Any] = {
        "run_id": run.run_id if run else None,
        "flow": run.flow if run else None,
        "status": "failed" if failed else "succeeded",
        "counts": counts,
        "records": sum(counts.values()),
        "started_at": run.started_at if run else None,
        "duration_s": round(time.time() - run.started_at, 3) if run else None,
    }
    if failed:
        summary["failed"] = failed
    summary["text"] = _text(summary)
    if url:
        from adf_plugins.http import request_with_retries

        await request_with_retries(
            "POST",
            url,
            max_retries=max(int(max_retries), 0),
            backoff=backoff,
            request_timeout=request_timeout,
            content=dumps(summary).encode(),
            headers={"content-type": "application/json", **(headers or {})},
        )
    else:
        _log(summary)
    return MappingProxyType(summary)


def _log(summary: dict[str, Any]) -> None:
    try:
        import structlog
    except ImportError:  # pragma: no cover - structlog is a dependency
        structlog = None  # type: ignore[assignment]
    if structlog is not None and structlog.is_configured():
        structlog.get_logger("adf").info("notify.summary", **summary)
    else:
        print(dumps(summary), file=sys.stderr, flush=True)


@hookimpl
def adf_destinations() -> dict[str, Callable[..., Any]]:
    return {"notify": notify}
