"""The Telemetry API (2022-07-01): extensions subscribe to platform events, function logs and
extension logs, and the environment really delivers them — buffered (maxItems, maxBytes,
timeoutMs), as a JSON array POSTed to an HTTP destination or as NDJSON over TCP.

``sandbox.localdomain`` (the host Lambda gives extensions for their listeners) is the loopback
interface here. Events emitted during an init before an extension subscribed (e.g.
``platform.initStart``) are delivered to it once it subscribes during that init, as Lambda does.
"""

from __future__ import annotations

import asyncio
import json
import logging
from dataclasses import dataclass
from typing import Any, Awaitable, Callable, Protocol
from urllib.parse import urlsplit

from aiohttp import ClientSession, ClientTimeout, web

from lamina.local.errors import api_error
from lamina.local.lifecycle import LifecycleError
from lamina.local.logs import iso_time

logger = logging.getLogger(__name__)

PATH = "/2022-07-01/telemetry"
SCHEMA_VERSIONS = ("2022-07-01", "2022-12-13", "2025-01-29")
TYPES = ("platform", "function", "extension")
MAX_ITEMS = (1_000, 10_000, 10_000)  # minimum, maximum, default
MAX_BYTES = (262_144, 1_048_576, 262_144)
TIMEOUT_MS = (25, 30_000, 1_000)
LOOPBACK_HOSTS = {"sandbox.localdomain", "sandbox", "localhost", "127.0.0.1"}
DROPPED_REASON = "Consumer seems to have fallen behind as it has not acknowledged receipt of logs."
_PENDING_BYTES_FACTOR = 4  # events beyond 4 x maxBytes waiting for a slow consumer are dropped
_SEND_ATTEMPTS = 3
MAX_INIT_BACKLOG = 10_000  # events of an init kept for extensions that subscribe during it


class SubscriptionError(ValueError):
    """A subscription request Lambda would refuse (400 ValidationError)."""


@dataclass(frozen=True)
class Subscription:
    schema_version: str
    types: tuple[str, ...]
    max_items: int
    max_bytes: int
    timeout_ms: int
    protocol: str  # HTTP or TCP
    port: int
    path: str = "/"  # HTTP only


@dataclass(frozen=True)
class SubscriptionRules:
    """What a subscription request may say: the Telemetry API's, or the Logs API's."""

    schema_versions: tuple[str, ...]
    schema_required: bool
    max_items: tuple[int, int, int]  # minimum, maximum, default
    max_bytes: tuple[int, int, int]
    timeout_ms: tuple[int, int, int]


TELEMETRY_RULES = SubscriptionRules(SCHEMA_VERSIONS, True, MAX_ITEMS, MAX_BYTES, TIMEOUT_MS)


def parse_subscription(body: bytes, rules: SubscriptionRules = TELEMETRY_RULES) -> Subscription:
    """Validates a ``PUT /2022-07-01/telemetry`` body; defaults the buffering."""
    try:
        request = json.loads(body or b"null")
    except ValueError as exc:
        raise SubscriptionError(f"Request body is not valid JSON: {exc}") from None
    if not isinstance(request, dict):
        raise SubscriptionError("Request body must be a JSON object")
    problems: list[str] = []
    schema_version = request.get("schemaVersion")
    if schema_version is None and not rules.schema_required:
        schema_version = rules.schema_versions[0]
    if schema_version not in rules.schema_versions:
        problems.append(f"schemaVersion must be one of {', '.join(rules.schema_versions)}")
    types = request.get("types")
    if not isinstance(types, list) or not types:
        problems.append("types should not be empty")
        types = []
    elif any(t not in TYPES for t in types):
        problems.append(f"types must be among {', '.join(TYPES)}")
    buffering = request.get("buffering") or {}
    if not isinstance(buffering, dict):
        problems.append("buffering must be an object")
        buffering = {}
    limits = {}
    for key, (low, high, default) in (
        ("maxItems", rules.max_items), ("maxBytes", rules.max_bytes), ("timeoutMs", rules.timeout_ms)
    ):
        value = buffering.get(key, default)
        if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
            problems.append(f"buffering.{key} must be an integer between {low} and {high}")
            value = default
        limits[key] = value
    destination = request.get("destination")
    protocol, port, path = "", 0, "/"
    if not isinstance(destination, dict):
        problems.append("destination is required")
    else:
        protocol = destination.get("protocol", "")
        if protocol == "HTTP":
            uri = destination.get("URI")
            parts = urlsplit(uri) if isinstance(uri, str) else None
            if parts is None or parts.scheme != "http" or not parts.hostname:
                problems.append("URI must be an http:// URI")
            elif parts.hostname not in LOOPBACK_HOSTS:
                problems.append("URI host must be sandbox.localdomain")
            else:
                try:
                    port = parts.port or 0
                except ValueError:
                    port = 0
                if not port:
                    problems.append("URI port is not provided")
                path = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
        elif protocol == "TCP":
            tcp_port = destination.get("port")
            if isinstance(tcp_port, bool) or not isinstance(tcp_port, int) or not 0 < tcp_port < 65536:
                problems.append("TCP destination port must be an integer between 1 and 65535")
            else:
                port = tcp_port
        else:
            problems.append("destination.protocol must be HTTP or TCP")
    if problems:
        raise SubscriptionError("; ".join(problems))
    return Subscription(
        str(schema_version), tuple(types), limits["maxItems"], limits["maxBytes"], limits["timeoutMs"], protocol, port,
        path,
    )


def telemetry_event(event_type: str, record: Any, now: float | None = None) -> dict[str, Any]:
    return {"time": iso_time(now), "type": event_type, "record": record}


def category(event_type: str) -> str:
    """``platform.report`` -> platform; ``function`` and ``extension`` are their own."""
    return "platform" if event_type.startswith("platform.") else event_type


# Emitted for the Logs API only (the Telemetry API has no such event).
LOGS_API_ONLY = frozenset({"platform.end"})
Translate = Callable[[dict[str, Any]], "dict[str, Any] | None"]


def as_telemetry_event(event: dict[str, Any]) -> dict[str, Any] | None:
    return None if event["type"] in LOGS_API_ONLY else event


class TelemetrySubscriber:
    """One extension's subscription: a buffer, and a task that delivers batches."""

    def __init__(
        self, extension_name: str, subscription: Subscription, session: ClientSession,
        translate: Translate = as_telemetry_event,
    ) -> None:
        self.extension_name = extension_name
        self.subscription = subscription
        self._translate = translate
        self._session = session
        self._buffer: list[bytes] = []  # encoded events
        self._buffered_bytes = 0
        self._dropped_records = 0
        self._dropped_bytes = 0
        self._wake = asyncio.Event()
        self._drained = asyncio.Event()
        self._drained.set()
        self._timer: asyncio.TimerHandle | None = None
        self._flush_now = False
        self._writer: asyncio.StreamWriter | None = None
        self._task = asyncio.get_running_loop().create_task(self._deliver())

    def add(self, event: dict[str, Any]) -> None:
        translated = self._translate(event)
        if translated is None or category(translated["type"]) not in self.subscription.types:
            return
        event = translated
        encoded = json.dumps(event, separators=(",", ":")).encode()
        if self._buffered_bytes + len(encoded) > _PENDING_BYTES_FACTOR * self.subscription.max_bytes:
            self._dropped_records += 1
            self._dropped_bytes += len(encoded)
            return
        self._buffer.append(encoded)
        self._buffered_bytes += len(encoded)
        self._drained.clear()
        if len(self._buffer) >= self.subscription.max_items or self._buffered_bytes >= self.subscription.max_bytes:
            self._wake.set()
        elif self._timer is None:
            self._timer = asyncio.get_running_loop().call_later(self.subscription.timeout_ms / 1000, self._wake.set)

    async def flush(self, timeout: float) -> None:
        """Delivers everything buffered now (before SHUTDOWN reaches the extension)."""
        if self._drained.is_set():
            return
        self._flush_now = True
        self._wake.set()
        try:
            await asyncio.wait_for(self._drained.wait(), timeout)
        except asyncio.TimeoutError:
            pass

    async def close(self) -> None:
        self._task.cancel()
        try:
            await self._task
        except (asyncio.CancelledError, Exception):
            pass
        if self._timer is not None:
            self._timer.cancel()
        if self._writer is not None:
            self._writer.close()

    def _take_batch(self) -> list[bytes]:
        batch: list[bytes] = []
        size = 0
        while self._buffer and len(batch) < self.subscription.max_items:
            if batch and size + len(self._buffer[0]) > self.subscription.max_bytes:
                break
            event = self._buffer.pop(0)
            batch.append(event)
            size += len(event)
        self._buffered_bytes -= size
        return batch

    async def _deliver(self) -> None:
        while True:
            await self._wake.wait()
            self._wake.clear()
            if self._timer is not None:
                self._timer.cancel()
                self._timer = None
            while self._buffer:
                batch = self._take_batch()
                if not await self._send(batch):
                    self._dropped_records += len(batch)
                    self._dropped_bytes += sum(len(e) for e in batch)
                elif self._dropped_records and "platform" in self.subscription.types:
                    dropped = telemetry_event("platform.logsDropped", {  # the same in both APIs
                        "reason": DROPPED_REASON, "droppedRecords": self._dropped_records,
                        "droppedBytes": self._dropped_bytes,
                    })
                    self._dropped_records = self._dropped_bytes = 0
                    encoded = json.dumps(dropped, separators=(",", ":")).encode()
                    self._buffer.append(encoded)
                    self._buffered_bytes += len(encoded)
                full = len(self._buffer) >= self.subscription.max_items or self._buffered_bytes >= self.subscription.max_bytes
                if not (self._flush_now or full):
                    break
            if self._buffer and self._timer is None:
                self._timer = asyncio.get_running_loop().call_later(self.subscription.timeout_ms / 1000, self._wake.set)
            if not self._buffer:
                self._flush_now = False
                self._drained.set()

    async def _send(self, batch: list[bytes]) -> bool:
        for attempt in range(_SEND_ATTEMPTS):
            try:
                if self.subscription.protocol == "HTTP":
                    url = f"http://127.0.0.1:{self.subscription.port}{self.subscription.path}"
                    body = b"[" + b",".join(batch) + b"]"
                    async with self._session.post(
                        url, data=body, headers={"Content-Type": "application/json"}, timeout=ClientTimeout(total=10)
                    ) as answer:
                        await answer.read()
                        answer.raise_for_status()
                    return True
                if self._writer is None or self._writer.is_closing():
                    _, self._writer = await asyncio.open_connection("127.0.0.1", self.subscription.port)
                self._writer.write(b"".join(event + b"\n" for event in batch))
                await self._writer.drain()
                return True
            except (OSError, asyncio.TimeoutError, Exception) as exc:  # noqa: BLE001 - the consumer's problem
                self._writer = None
                logger.debug("telemetry delivery to %s failed (%s), attempt %d", self.extension_name, exc, attempt + 1)
                await asyncio.sleep(0.05 * 2**attempt)
        return False


class TelemetryHub:
    """An environment's telemetry: what it emits goes to every subscriber."""

    def __init__(self) -> None:
        self._subscribers: dict[str, TelemetrySubscriber] = {}
        self._session: ClientSession | None = None
        self._backlog: list[dict[str, Any]] | None = None  # events of the init in progress

    def begin_init(self) -> None:
        self._backlog = []

    def end_init(self) -> None:
        self._backlog = None

    def emit(self, event_type: str, record: Any, now: float | None = None) -> None:
        if not self._subscribers and self._backlog is None:
            return  # nobody listens: no cost per log line
        event = telemetry_event(event_type, record, now)
        if self._backlog is not None and len(self._backlog) < MAX_INIT_BACKLOG:
            self._backlog.append(event)
        for subscriber in self._subscribers.values():
            subscriber.add(event)

    def subscribe(
        self, extension_name: str, subscription: Subscription, translate: Translate = as_telemetry_event,
        announcement: str = "platform.telemetrySubscription",
    ) -> None:
        """Subscribes (or re-subscribes: the last subscription of an extension to an API wins)."""
        if self._session is None:
            self._session = ClientSession()
        key = f"{announcement}:{extension_name}"
        previous = self._subscribers.pop(key, None)
        if previous is not None:
            asyncio.get_running_loop().create_task(previous.close())
        subscriber = TelemetrySubscriber(extension_name, subscription, self._session, translate)
        for event in self._backlog or ():
            subscriber.add(event)
        self._subscribers[key] = subscriber
        self.emit(announcement, {"name": extension_name, "state": "Subscribed", "types": list(subscription.types)})

    async def flush(self, extension_name: str | None = None, timeout: float = 1.0) -> None:
        subscribers = [
            s for s in self._subscribers.values() if extension_name is None or s.extension_name == extension_name
        ]
        await asyncio.gather(*(s.flush(timeout) for s in subscribers))

    def end_subscriptions(self) -> None:
        """Ends every subscription now (the extensions are gone; a new init subscribes anew);
        what they still had buffered is dropped."""
        subscribers, self._subscribers = list(self._subscribers.values()), {}
        for subscriber in subscribers:
            asyncio.get_running_loop().create_task(subscriber.close())

    async def aclose(self) -> None:
        subscribers, self._subscribers = list(self._subscribers.values()), {}
        await asyncio.gather(*(s.close() for s in subscribers))
        if self._session is not None:
            await self._session.close()
            self._session = None


class TelemetryBackend(Protocol):
    def extension_name(self, extension_id: str) -> str:
        """The registered extension's name; raises LifecycleError for an unknown id."""

    @property
    def telemetry(self) -> TelemetryHub: ...


def subscription_handler(
    backend: TelemetryBackend,
    rules: SubscriptionRules = TELEMETRY_RULES,
    translate: Translate = as_telemetry_event,
    announcement: str = "platform.telemetrySubscription",
) -> Callable[[web.Request], Awaitable[web.Response]]:
    """The PUT that subscribes an extension: the Telemetry API's, or with the Logs API's rules,
    event shapes and announcement, the Logs API's."""

    async def subscribe(request: web.Request) -> web.Response:
        extension_id = request.headers.get("Lambda-Extension-Identifier")
        if not extension_id:
            return _error(403, "Extension.MissingExtensionIdentifier", "Missing Lambda-Extension-Identifier header")
        try:
            name = backend.extension_name(extension_id)
        except LifecycleError as exc:
            return _error(exc.status, exc.error_type, exc.message)
        try:
            subscription = parse_subscription(await request.read(), rules)
        except SubscriptionError as exc:
            return _error(400, "ValidationError", str(exc))
        backend.telemetry.subscribe(name, subscription, translate, announcement)
        return web.Response(status=200, body=b'"OK"', content_type="application/json")

    return subscribe


def add_routes(app: web.Application, backend: TelemetryBackend) -> None:
    app.router.add_put(PATH, subscription_handler(backend))


def _error(status: int, error_type: str, message: str) -> web.Response:
    return web.Response(status=status, body=api_error(error_type, message), content_type="application/json")


