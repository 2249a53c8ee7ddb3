"""The Telemetry API on its own: subscription validation, and delivery with buffering to HTTP
and TCP destinations (loopback servers standing in for an extension's listener)."""

from __future__ import annotations

import asyncio
import json

import pytest
from aiohttp import web

from lamina.local.telemetry_api import (
    Subscription, SubscriptionError, TelemetryHub, category, parse_subscription,
)


def request(**fields) -> bytes:
    body = {
        "schemaVersion": "2022-12-13", "types": ["platform", "function"],
        "destination": {"protocol": "HTTP", "URI": "http://sandbox.localdomain:8080/logs"},
    }
    body.update(fields)
    return json.dumps({k: v for k, v in body.items() if v is not None}).encode()


def test_subscription_defaults_buffering():
    subscription = parse_subscription(request())
    assert subscription == Subscription("2022-12-13", ("platform", "function"), 10_000, 262_144, 1_000, "HTTP", 8080, "/logs")


def test_subscription_accepts_every_schema_version_and_tcp():
    for version in ("2022-07-01", "2022-12-13", "2025-01-29"):
        parsed = parse_subscription(request(schemaVersion=version, destination={"protocol": "TCP", "port": 4243}))
        assert parsed.protocol == "TCP" and parsed.port == 4243 and parsed.schema_version == version


@pytest.mark.parametrize(
    "fields, message",
    [
        ({"schemaVersion": "2020-08-15"}, "schemaVersion must be one of"),
        ({"types": []}, "types should not be empty"),
        ({"types": ["platform", "metrics"]}, "types must be among"),
        ({"buffering": {"maxItems": 999}}, "buffering.maxItems must be an integer between 1000 and 10000"),
        ({"buffering": {"maxBytes": 2_000_000}}, "buffering.maxBytes must be an integer between 262144 and 1048576"),
        ({"buffering": {"timeoutMs": 24}}, "buffering.timeoutMs must be an integer between 25 and 30000"),
        ({"destination": {"protocol": "HTTP", "URI": "http://sandbox.localdomain/"}}, "URI port is not provided"),
        ({"destination": {"protocol": "HTTP", "URI": "http://example.com:80/"}}, "URI host must be sandbox.localdomain"),
        ({"destination": {"protocol": "TCP", "port": 0}}, "TCP destination port"),
        ({"destination": {"protocol": "UDP"}}, "destination.protocol must be HTTP or TCP"),
        ({"destination": None}, "destination is required"),
    ],
)
def test_subscription_validation_errors(fields, message):
    with pytest.raises(SubscriptionError) as refused:
        parse_subscription(request(**fields))
    assert message in str(refused.value)


def test_subscription_reports_every_problem_at_once():
    with pytest.raises(SubscriptionError) as refused:
        parse_subscription(request(types=[], destination={"protocol": "HTTP", "URI": "http://sandbox.localdomain/"}))
    assert str(refused.value) == "types should not be empty; URI port is not provided"


def test_event_categories():
    assert category("platform.report") == "platform"
    assert category("function") == "function" and category("extension") == "extension"


class HttpListener:
    """An extension's HTTP telemetry listener; fails the first ``failures`` POSTs with 500."""

    def __init__(self, failures: int = 0) -> None:
        self.batches: list[list[dict]] = []
        self.failures = failures

    async def __aenter__(self) -> HttpListener:
        async def receive(request: web.Request) -> web.Response:
            if self.failures:
                self.failures -= 1
                return web.Response(status=500)
            self.batches.append(json.loads(await request.read()))
            return web.Response(status=200)

        app = web.Application(client_max_size=16 << 20)
        app.router.add_post("/telemetry", receive)
        self._runner = web.AppRunner(app)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        self.port = self._runner.addresses[0][1]
        return self

    async def __aexit__(self, *_: object) -> None:
        await self._runner.cleanup()

    @property
    def events(self) -> list[dict]:
        return [event for batch in self.batches for event in batch]


def http_subscription(port: int, **buffering) -> Subscription:
    options = dict(max_items=1_000, max_bytes=262_144, timeout_ms=25)
    options.update(buffering)
    return Subscription("2022-12-13", ("platform", "function"), protocol="HTTP", port=port, path="/telemetry", **options)


async def wait_until(condition, timeout=10.0):
    for _ in range(int(timeout / 0.02)):
        if condition():
            return
        await asyncio.sleep(0.02)
    raise AssertionError("condition not met")


async def test_http_destination_gets_json_arrays_within_max_items():
    async with HttpListener() as listener:
        hub = TelemetryHub()
        hub.subscribe("ext", http_subscription(listener.port))
        for number in range(2_500):
            hub.emit("function", f"line {number}")
        await wait_until(lambda: len(listener.events) >= 2_501)
        await hub.aclose()
    assert all(len(batch) <= 1_000 for batch in listener.batches)
    records = [e["record"] for e in listener.events if e["type"] == "function"]
    assert records == [f"line {n}" for n in range(2_500)]  # in order, none lost
    assert listener.events[0]["type"] == "platform.telemetrySubscription"


async def test_http_batches_stay_within_max_bytes():
    async with HttpListener() as listener:
        hub = TelemetryHub()
        hub.subscribe("ext", http_subscription(listener.port, max_bytes=262_144))
        for _ in range(40):
            hub.emit("function", "x" * 20_000)
        await wait_until(lambda: sum(1 for e in listener.events if e["type"] == "function") == 40)
        await hub.aclose()
    for batch in listener.batches:
        assert len(json.dumps(batch, separators=(",", ":"))) <= 262_144 + 1000


async def test_events_wait_for_the_buffering_timeout():
    async with HttpListener() as listener:
        hub = TelemetryHub()
        hub.subscribe("ext", http_subscription(listener.port, timeout_ms=400))
        hub.emit("function", "one")
        await asyncio.sleep(0.2)
        assert listener.events == []  # not before timeoutMs
        await wait_until(lambda: len(listener.events) == 2)
        await hub.aclose()


async def test_flush_delivers_at_once():
    async with HttpListener() as listener:
        hub = TelemetryHub()
        hub.subscribe("ext", http_subscription(listener.port, timeout_ms=30_000))
        hub.emit("platform.report", {"requestId": "r"})
        await hub.flush("ext", timeout=5)
        assert [e["type"] for e in listener.events] == ["platform.telemetrySubscription", "platform.report"]
        await hub.aclose()


async def test_undeliverable_events_are_reported_as_logs_dropped():
    async with HttpListener(failures=3) as listener:
        hub = TelemetryHub()
        hub.subscribe("ext", http_subscription(listener.port))
        hub.emit("function", "lost")
        await asyncio.sleep(0.6)
        hub.emit("function", "delivered")
        await wait_until(lambda: any(e["type"] == "platform.logsDropped" for e in listener.events))
        await hub.aclose()
    dropped = next(e for e in listener.events if e["type"] == "platform.logsDropped")["record"]
    assert dropped["droppedRecords"] == 2 and dropped["droppedBytes"] > 0  # the subscription event and "lost"
    assert dropped["reason"] == "Consumer seems to have fallen behind as it has not acknowledged receipt of logs."
    assert [e["record"] for e in listener.events if e["type"] == "function"] == ["delivered"]


async def test_tcp_destination_gets_ndjson():
    received: list[dict] = []

    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        while line := await reader.readline():
            received.append(json.loads(line))

    server = await asyncio.start_server(handle, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    hub = TelemetryHub()
    hub.subscribe("ext", Subscription("2022-12-13", ("platform",), 1_000, 262_144, 25, "TCP", port))
    hub.emit("platform.start", {"requestId": "r1"})
    hub.emit("function", "not subscribed")
    await wait_until(lambda: len(received) == 2)
    await hub.aclose()
    server.close()
    assert [e["type"] for e in received] == ["platform.telemetrySubscription", "platform.start"]


async def test_events_of_the_init_in_progress_reach_a_subscriber_that_comes_later():
    async with HttpListener() as listener:
        hub = TelemetryHub()
        hub.begin_init()
        hub.emit("platform.initStart", {"phase": "init"})
        hub.subscribe("ext", http_subscription(listener.port))
        hub.end_init()
        await wait_until(lambda: len(listener.events) == 2)
        await hub.aclose()
    assert [e["type"] for e in listener.events] == ["platform.initStart", "platform.telemetrySubscription"]


def test_logs_api_shapes():
    from lamina.local.logs_api import LOGS_RULES, as_logs_api_event

    report = {"time": "t", "type": "platform.report", "record": {"requestId": "r", "status": "success", "metrics": {"durationMs": 1}}}
    assert as_logs_api_event(report) == {"time": "t", "type": "platform.report", "record": {"requestId": "r", "metrics": {"durationMs": 1}}}
    assert as_logs_api_event({"time": "t", "type": "platform.initStart", "record": {}}) is None
    assert as_logs_api_event({"time": "t", "type": "function", "record": {"level": "INFO"}})["record"] == '{"level": "INFO"}'
    subscription = parse_subscription(json.dumps({
        "types": ["platform"], "destination": {"protocol": "HTTP", "URI": "http://sandbox:9000"}
    }).encode(), LOGS_RULES)
    assert subscription.schema_version == "2021-03-18" and subscription.max_items == 10_000 and subscription.port == 9000
