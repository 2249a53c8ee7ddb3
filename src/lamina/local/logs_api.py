"""The Logs API (2020-08-15), the Telemetry API's predecessor that older extensions still
use: the same subscriptions, buffering and destinations (:mod:`lamina.local.telemetry_api`),
with its own event shapes (``platform.start``, ``platform.end``, ``platform.report`` with
``{"requestId", "metrics"}``, ``platform.logsSubscription``; log lines as strings)."""

from __future__ import annotations

import json
from typing import Any

from aiohttp import web

from lamina.local.telemetry_api import SubscriptionRules, TelemetryBackend, subscription_handler

PATH = "/2020-08-15/logs"
LOGS_RULES = SubscriptionRules(
    schema_versions=("2021-03-18", "2020-08-15"), schema_required=False,
    max_items=(1_000, 10_000, 10_000), max_bytes=(262_144, 1_048_576, 262_144), timeout_ms=(25, 30_000, 1_000),
)
_KEEP = {
    "platform.start": ("requestId", "version"),
    "platform.end": ("requestId",),
    "platform.report": ("requestId", "metrics"),
    "platform.runtimeDone": ("requestId", "status"),
    "platform.extension": ("name", "state", "events"),
    "platform.logsSubscription": ("name", "state", "types"),
    "platform.logsDropped": ("reason", "droppedRecords", "droppedBytes"),
}


def as_logs_api_event(event: dict[str, Any]) -> dict[str, Any] | None:
    """An emitted event as the Logs API shows it, or None when it has no such event."""
    event_type, record = event["type"], event["record"]
    if event_type in ("function", "extension"):
        text = record if isinstance(record, str) else json.dumps(record)
        return {"time": event["time"], "type": event_type, "record": text}
    fields = _KEEP.get(event_type)
    if fields is None:
        return None
    return {"time": event["time"], "type": event_type, "record": {k: record[k] for k in fields if k in record}}


def add_routes(app: web.Application, backend: TelemetryBackend) -> None:
    app.router.add_put(
        PATH, subscription_handler(backend, LOGS_RULES, as_logs_api_event, announcement="platform.logsSubscription")
    )
