"""The `notify` destination: a JSON summary of the run, POSTed to a webhook or logged."""

import sys
import time
from collections.abc import Callable, Mapping
from types import MappingProxyType
from typing import Any

from adf_core import component
from adf_core.hookspecs import hookimpl
from adf_core.records import aiter_batches, is_dataset
from adf_plugins import checks
from adf_plugins._common import dumps, failed_components


def _text(summary: dict[str, Any]) -> str:
    counts: dict[str, int] = summary["counts"]
    parts = ", ".join(f"{name}: {n:,}" for name, n in counts.items())
    detail = f" ({parts})" if len(counts) > 1 else ""
    total = summary["records"]
    noun = "record" if total == 1 else "records"
    run = f"adf run {summary['run_id']}" if summary.get("run_id") else "adf"
    text = f"{run} {summary['status']}: {total:,} {noun}{detail}"
    if summary.get("error"):
        text += f"; {summary['error']}"
    return text


@component(after_run=True, probe=checks.probe_webhook)
async def notify(
    report: Mapping[str, Any] | None = None,
    url: str | None = None,
    upstream: Mapping[str, Any] | None = None,
    context: Mapping[str, Any] | None = None,
    input: list[str] | None = None,
    headers: dict[str, str] | None = None,
    request_timeout: float = 10.0,
    max_retries: int = 3,
    backoff: float = 0.5,
) -> Mapping[str, Any]:
    """POST a JSON summary of the run to a webhook, once the run is over; without `url`, log it.

    `notify` is an after-run component: wherever it is written (usually beside the
    destinations), it runs once the rest of the flow has ended and every commit has settled,
    whether the run succeeded or failed, so it never announces a run that then fails, and its
    own failure never undoes what was committed. The summary: `run_id`, `flow`, `status`
    (succeeded or failed), `counts` (records out of each member of the stage before it, or of
    each key named by `input`), `records` (their total), `started_at`, `duration_s`, `text`
    (a line that chat webhooks such as Slack, Mattermost and Teams show) and, for a failed run,
    `failed` (the aliases that failed) and `error` (one line). Without `url` the summary is
    logged as the structlog event `notify.summary` when structlog is configured (the CLI does),
    else printed as JSON on stderr. It is also returned (a read-only mapping, stored under the
    component's alias). Webhook calls time out and are retried on 429 and 5xx like the `http`
    source.

    Args:
        url: webhook URL to POST the summary to (JSON body).
        input: context keys to count instead of every member of the previous stage.
        headers: extra request headers (e.g. an Authorization header).
        request_timeout: seconds before the request times out.
        max_retries: retries on 429, 5xx and connection errors.
        backoff: first retry delay in seconds (doubled on each retry).
    """
    from adf_core import current_run

    run = current_run()
    counts = await _counts(report, upstream, context, input)
    if report is not None:
        status = str(report["status"])
        failed = [alias for alias, c in report["components"].items()
                  if c["status"] == "failed"]
        error = report.get("error")
        duration = report.get("seconds")
    else:  # called outside an after-run (directly, or by an older flow)
        failed = failed_components()
        status = "failed" if failed else "succeeded"
        error = None
        duration = round(time.time() - run.started_at, 3) if run else None
    summary: dict[str, Any] = {
        "run_id": report["run_id"] if report is not None else run.run_id if run else None,
        "flow": report["flow"] if report is not None else run.flow if run else None,
        "status": status,
        "counts": counts,
        "records": sum(counts.values()),
        "started_at": run.started_at if run else None,
        "duration_s": round(float(duration), 3) if duration is not None else None,
    }
    if status == "failed":
        summary["failed"] = failed
        if error:
            summary["error"] = error
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


async def _counts(report: Mapping[str, Any] | None, upstream: Mapping[str, Any] | None,
                  context: Mapping[str, Any] | None, input: list[str] | str | None
                  ) -> dict[str, int]:
    """Records per input: a component's ``records_out`` from the report (its stream is gone
    by the time the run is over), else the records of the dataset under that name (a key
    that a failed run never produced counts 0)."""
    known = report["components"] if report is not None else {}
    if input:
        names = [n.strip() for n in input.split(",")] if isinstance(input, str) else list(input)
        values = {name: (context or {}).get(name) for name in names}
    else:
        values = dict(upstream or {})
    counts: dict[str, int] = {}
    for name, data in values.items():
        if name in known:
            counts[name] = int(known[name]["records_out"])
        elif data is not None and (is_dataset(data) or isinstance(data, Mapping)):
            counts[name] = 0
            async for batch in aiter_batches(data):
                counts[name] += len(batch)
        elif input:
            counts[name] = 0
    return counts


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
