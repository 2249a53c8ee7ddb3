"""Asynchronous invocation (``InvocationType=Event``): a durable queue in SQLite, retries,
event age, destinations and dead-letter queues, as ../shared/spec/emulator.md describes.

Every accepted event is committed to the database before the caller gets its 202, and is
only removed once its outcome has been recorded: a server killed with SIGKILL loses nothing
and redelivers what was in flight (at-least-once, as Lambda). An event is never dropped for
what it carries: one whose record cannot be written as is still reaches its destination
(payloads that are not JSON go as base64 text), one the worker fails on stays queued and is
retried with the throttle backoff until its maximum age, then goes to the failure targets.

The same database holds the local queues that stand in for SQS queues, SNS topics and
EventBridge buses as destinations; :class:`LocalQueues` reads them from another process
(``lamina queue receive``).
"""

from __future__ import annotations

import asyncio
import base64
import dataclasses
import datetime
import json
import logging
import sqlite3
import time
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Awaitable, Callable

from lamina.local.functions import ACCOUNT_ID, REGION, FunctionNotFound, InvocationRequest, InvocationResult, Throttled

logger = logging.getLogger("lamina.local.async")

# Lambda's own delays; RetryTiming.scale shrinks them for tests.
FUNCTION_ERROR_DELAYS_SECONDS = (60.0, 120.0)
THROTTLE_FIRST_DELAY_SECONDS = 1.0
THROTTLE_MAX_DELAY_SECONDS = 300.0
DEFAULT_MAXIMUM_RETRY_ATTEMPTS = 2
DEFAULT_MAXIMUM_EVENT_AGE_SECONDS = 21600
MAXIMUM_ASYNC_PAYLOAD_BYTES = 1_048_576

InvokeFunction = Callable[[str, "str | None", InvocationRequest], Awaitable[InvocationResult]]
DeadLetterTarget = Callable[[str, "str | None"], "str | None"]
DATABASE_NAME = "async.sqlite3"


@dataclass(frozen=True)
class RetryTiming:
    """Lambda's retry delays and event ages, multiplied by `scale` (1.0 as on Lambda; 0.01
    makes a one-minute retry delay 0.6 s and the shortest event age 0.6 s, for tests)."""

    scale: float = 1.0
    poll_interval_seconds: float = 0.05

    def after_function_error(self, failed_attempts: int) -> float:
        index = min(failed_attempts - 1, len(FUNCTION_ERROR_DELAYS_SECONDS) - 1)
        return FUNCTION_ERROR_DELAYS_SECONDS[index] * self.scale

    def after_throttle(self, throttles: int) -> float:
        return min(THROTTLE_FIRST_DELAY_SECONDS * 2.0 ** (throttles - 1), THROTTLE_MAX_DELAY_SECONDS) * self.scale


@dataclass(frozen=True)
class EventInvokeConfig:
    """PutFunctionEventInvokeConfig: retries, event age and destinations of one function
    version or alias. None leaves a setting at Lambda's default (and unreported, as Lambda
    reports only what was set)."""

    maximum_retry_attempts: int | None = None  # None: 2
    maximum_event_age_seconds: int | None = None  # None: 21,600 (6 h)
    on_success: str | None = None  # destination ARN: a function, or an SQS/SNS/EventBridge stand-in
    on_failure: str | None = None
    dead_letter_target: str | None = None  # DeadLetterConfig.TargetArn: gets the event only
    last_modified: float = 0.0  # epoch seconds

    @property
    def retry_attempts(self) -> int:
        return DEFAULT_MAXIMUM_RETRY_ATTEMPTS if self.maximum_retry_attempts is None else self.maximum_retry_attempts

    @property
    def event_age_seconds(self) -> int:
        return DEFAULT_MAXIMUM_EVENT_AGE_SECONDS if self.maximum_event_age_seconds is None else self.maximum_event_age_seconds

    def validate(self) -> None:
        if not 0 <= self.retry_attempts <= 2:
            raise ValueError(f"MaximumRetryAttempts {self.maximum_retry_attempts} is outside 0-2")
        if not 60 <= self.event_age_seconds <= 21600:
            raise ValueError(f"MaximumEventAgeInSeconds {self.maximum_event_age_seconds} is outside 60-21600")
        for target in (self.on_success, self.on_failure, self.dead_letter_target):
            if target is not None:
                parse_destination(target)


@dataclass(frozen=True)
class Destination:
    kind: str  # "function" or "queue"
    name: str  # the function name, or the local queue's name
    service: str = "sqs"  # the ARN's service: lambda, sqs, sns or events
    qualifier: str | None = None  # a function destination's version or alias, when its ARN has one


def parse_destination(arn: str) -> Destination:
    """A destination ARN. Functions are invoked (asynchronously) with the record; SQS queues,
    SNS topics and EventBridge buses are local queues that `lamina queue receive` reads."""
    parts = arn.split(":")
    if len(parts) < 6 or parts[0] != "arn":
        raise ValueError(f"{arn!r} is not an ARN")
    service = parts[2]
    if service == "lambda" and parts[5] == "function" and len(parts) > 6:
        return Destination("function", parts[6], service, parts[7] if len(parts) > 7 and parts[7] else None)
    if service in ("sqs", "sns"):
        return Destination("queue", parts[5], service)
    if service == "events":
        return Destination("queue", parts[5].removeprefix("event-bus/"), service)
    raise ValueError(f"{arn!r}: destinations are functions, SQS queues, SNS topics or EventBridge buses")


@dataclass
class _Event:
    id: int
    request_id: str
    function_name: str
    qualifier: str | None
    payload: bytes
    enqueued_at: float
    attempts: int
    throttles: int


_SCHEMA = """
CREATE TABLE IF NOT EXISTS events (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    request_id TEXT NOT NULL UNIQUE,
    function_name TEXT NOT NULL,
    qualifier TEXT,
    payload BLOB NOT NULL,
    enqueued_at REAL NOT NULL,
    due_at REAL NOT NULL,
    attempts INTEGER NOT NULL DEFAULT 0,   -- invocations made (approximateInvokeCount)
    throttles INTEGER NOT NULL DEFAULT 0   -- throttles and system errors in a row
);
CREATE INDEX IF NOT EXISTS events_by_due_time ON events (due_at);
CREATE TABLE IF NOT EXISTS event_invoke_configs (
    function_name TEXT NOT NULL,
    qualifier TEXT NOT NULL,
    config TEXT NOT NULL,
    PRIMARY KEY (function_name, qualifier)
);
CREATE TABLE IF NOT EXISTS queue_messages (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    queue TEXT NOT NULL,
    body TEXT NOT NULL,
    sent_at REAL NOT NULL
);
"""


class AsyncInvocations:
    """The durable event queue and the worker that invokes, retries and routes outcomes."""

    def __init__(
        self,
        database: Path,
        invoke: InvokeFunction,
        reserved_concurrency: Callable[[str], int | None] = lambda function_name: None,
        timing: RetryTiming = RetryTiming(),
        workers: int = 10,
        dead_letter_target: DeadLetterTarget = lambda function_name, qualifier: None,
    ) -> None:
        self._database = sqlite3.connect(database, isolation_level=None, check_same_thread=False)
        self._database.execute("PRAGMA journal_mode=WAL")
        self._database.execute("PRAGMA synchronous=FULL")  # a 202 means the event is on disk
        self._database.executescript(_SCHEMA)
        self._invoke = invoke
        self._reserved_concurrency = reserved_concurrency
        self._dead_letter_target = dead_letter_target  # the function's DeadLetterConfig
        self._timing = timing
        self._workers = asyncio.Semaphore(workers)
        self._in_flight: set[int] = set()
        self._wake = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self._running: set[asyncio.Task[None]] = set()

    # --- the API side ---------------------------------------------------------------------

    def enqueue(self, function_name: str, qualifier: str | None, payload: bytes) -> str:
        """Stores the event durably; returns its request id. Delivered at least once."""
        if len(payload) > MAXIMUM_ASYNC_PAYLOAD_BYTES:
            raise ValueError(f"Request must be smaller than {MAXIMUM_ASYNC_PAYLOAD_BYTES} bytes for the InvokeAsync operation")
        request_id = str(uuid.uuid4())
        now = time.time()
        self._database.execute(
            "INSERT INTO events (request_id, function_name, qualifier, payload, enqueued_at, due_at) VALUES (?, ?, ?, ?, ?, ?)",
            (request_id, function_name, qualifier, payload, now, now),
        )
        self._wake.set()
        return request_id

    def put_config(self, function_name: str, qualifier: str | None, config: EventInvokeConfig) -> None:
        config.validate()
        self._database.execute(
            "INSERT OR REPLACE INTO event_invoke_configs VALUES (?, ?, ?)",
            (function_name, qualifier or "$LATEST", json.dumps(config.__dict__)),
        )

    def delete_config(self, function_name: str, qualifier: str | None) -> bool:
        """Removes a version's or an alias's configuration; False when it had none."""
        cursor = self._database.execute(
            "DELETE FROM event_invoke_configs WHERE function_name = ? AND qualifier = ?", (function_name, qualifier or "$LATEST")
        )
        return cursor.rowcount > 0

    def clear_configs(self, function_name: str) -> None:
        """Removes the configurations of every version and alias of the function (its queued
        events stay)."""
        self._database.execute("DELETE FROM event_invoke_configs WHERE function_name = ?", (function_name,))

    def list_configs(self, function_name: str) -> list[tuple[str, EventInvokeConfig]]:
        """(qualifier, configuration) of every version and alias of the function that has one."""
        rows = self._database.execute(
            "SELECT qualifier, config FROM event_invoke_configs WHERE function_name = ? ORDER BY qualifier", (function_name,)
        ).fetchall()
        return [(row[0], EventInvokeConfig(**json.loads(row[1]))) for row in rows]

    def forget(self, function_name: str, qualifier: str | None = None) -> int:
        """A deleted function (or, with `qualifier`, a deleted version or alias): its queued
        events and its configuration go, as on Lambda. Returns the events dropped."""
        with _transaction(self._database):
            if qualifier is None:
                dropped = self._database.execute("DELETE FROM events WHERE function_name = ?", (function_name,)).rowcount
                self._database.execute("DELETE FROM event_invoke_configs WHERE function_name = ?", (function_name,))
            else:
                dropped = self._database.execute(
                    "DELETE FROM events WHERE function_name = ? AND IFNULL(qualifier, '$LATEST') = ?", (function_name, qualifier)
                ).rowcount
                self._database.execute(
                    "DELETE FROM event_invoke_configs WHERE function_name = ? AND qualifier = ?", (function_name, qualifier)
                )
        if dropped:
            logger.info("%d queued async event(s) of %s dropped with it", dropped, function_name + (f":{qualifier}" if qualifier else ""))
        return dropped

    def get_config(self, function_name: str, qualifier: str | None) -> EventInvokeConfig | None:
        row = self._database.execute(
            "SELECT config FROM event_invoke_configs WHERE function_name = ? AND qualifier = ?",
            (function_name, qualifier or "$LATEST"),
        ).fetchone()
        return EventInvokeConfig(**json.loads(row[0])) if row else None

    def receive_messages(self, queue: str, limit: int = 10) -> list[dict[str, Any]]:
        """Takes up to `limit` messages off a local destination queue, oldest first."""
        return _receive_messages(self._database, queue, limit)

    def pending_count(self) -> int:
        count: int = self._database.execute("SELECT COUNT(*) FROM events").fetchone()[0]
        return count

    # --- the worker -----------------------------------------------------------------------

    async def start(self) -> None:
        self._task = asyncio.create_task(self._deliver_forever(), name="lamina-async-invocations")

    async def stop(self) -> None:
        """Stops delivering. Invocations in flight are abandoned, not waited for: their
        events are still in the database and are delivered again at the next start."""
        tasks = [task for task in (self._task, *self._running) if task is not None]
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        self._database.close()

    async def _deliver_forever(self) -> None:
        while True:
            for event in self._due_events():
                await self._workers.acquire()
                self._in_flight.add(event.id)
                task = asyncio.create_task(self._deliver(event))
                self._running.add(task)
                task.add_done_callback(self._running.discard)
            self._wake.clear()
            try:
                await asyncio.wait_for(self._wake.wait(), self._timing.poll_interval_seconds)
            except asyncio.TimeoutError:
                pass

    def _due_events(self) -> list[_Event]:
        rows = self._database.execute(
            "SELECT id, request_id, function_name, qualifier, payload, enqueued_at, attempts, throttles "
            "FROM events WHERE due_at <= ? ORDER BY due_at LIMIT 100",
            (time.time(),),
        ).fetchall()
        return [_Event(*row) for row in rows if row[0] not in self._in_flight]

    async def _deliver(self, event: _Event) -> None:
        try:
            await self._attempt(event)
        except Exception:  # the event stays queued and is tried again: nothing is lost
            logger.exception("delivering async event %s failed; it stays queued", event.request_id)
            self._reschedule(event, self._timing.after_throttle(event.throttles + 1), throttled=True)
        finally:
            self._in_flight.discard(event.id)
            self._workers.release()

    async def _attempt(self, event: _Event) -> None:
        config = self.get_config(event.function_name, event.qualifier) or EventInvokeConfig()
        if config.dead_letter_target is None:
            config = dataclasses.replace(config, dead_letter_target=self._dead_letter_target(event.function_name, event.qualifier))
        if time.time() - event.enqueued_at > config.event_age_seconds * self._timing.scale:
            self._finish(event, config, "EventAgeExceeded", None)
            return
        if self._reserved_concurrency(event.function_name) == 0:
            # Reserved concurrency 0: Lambda sends the event straight to the failure targets.
            self._finish(event, config, "RetriesExhausted", None)
            return
        # A retry is the same invocation again: the function sees the same request id.
        request = InvocationRequest(payload=event.payload, request_id=event.request_id)
        try:
            result = await self._invoke(event.function_name, event.qualifier, request)
        except FunctionNotFound:
            # Deleting a function drops its events (forget()); an unknown one here is a function
            # not declared again yet after a restart. The event waits for it, then ages out.
            if event.throttles == 0:
                logger.warning("async event %s: function %s does not exist (yet); the event waits for it until it is "
                               "%d s old", event.request_id, _qualified(event.function_name, event.qualifier),
                               config.event_age_seconds * self._timing.scale)
            self._reschedule(event, self._timing.after_throttle(event.throttles + 1), throttled=True)
            return
        except Throttled:
            self._reschedule(event, self._timing.after_throttle(event.throttles + 1), throttled=True)
            return
        event.attempts += 1
        if result.function_error is None:
            self._finish(event, config, "Success", result)
        elif event.attempts > config.retry_attempts:
            self._finish(event, config, "RetriesExhausted", result)
        else:
            self._reschedule(event, self._timing.after_function_error(event.attempts), throttled=False)

    def _reschedule(self, event: _Event, delay: float, throttled: bool) -> None:
        self._database.execute(
            "UPDATE events SET due_at = ?, attempts = ?, throttles = ? WHERE id = ?",
            (time.time() + delay, event.attempts, event.throttles + 1 if throttled else 0, event.id),
        )

    def _delete(self, event: _Event) -> None:
        self._database.execute("DELETE FROM events WHERE id = ?", (event.id,))

    def _finish(self, event: _Event, config: EventInvokeConfig, condition: str, result: InvocationResult | None) -> None:
        """Routes the outcome to its destinations and removes the event, in one transaction."""
        record = record_text(event, condition, result)
        with _transaction(self._database):
            target = config.on_success if condition == "Success" else config.on_failure
            if target:
                self._send(target, _wrapped_for(target, record, event, condition))
            if condition != "Success" and config.dead_letter_target:
                self._send(config.dead_letter_target, event.payload.decode("utf-8", "replace"))
            self._delete(event)
        logger.info("async event %s: %s after %d invocation(s)", event.request_id, condition, event.attempts)

    def _send(self, target: str, body: str) -> None:
        destination = parse_destination(target)
        if destination.kind == "queue":
            self._database.execute(
                "INSERT INTO queue_messages (queue, body, sent_at) VALUES (?, ?, ?)", (destination.name, body, time.time())
            )
        else:
            now = time.time()
            self._database.execute(
                "INSERT INTO events (request_id, function_name, qualifier, payload, enqueued_at, due_at) VALUES (?, ?, ?, ?, ?, ?)",
                (str(uuid.uuid4()), destination.name, destination.qualifier, body.encode(), now, now),
            )
            self._wake.set()


def record_text(event: _Event, condition: str, result: InvocationResult | None) -> str:
    """The invocation record as JSON text. A payload that cannot be nested in it as JSON
    (too deep for the encoder, say) goes in as base64 text instead: the record is never lost
    for what the function received or answered."""
    try:
        return json.dumps(invocation_record(event, condition, result))
    except (ValueError, RecursionError, TypeError):
        record = invocation_record(event, condition, result, parse_payloads=False)
        return json.dumps(record)


def _wrapped_for(target: str, record: str, event: _Event, condition: str) -> str:
    """What the destination receives: SQS and SNS the record itself; an EventBridge bus an
    event whose detail is the record, as Lambda puts it there."""
    if parse_destination(target).service != "events":
        return record
    detail_type = "Lambda Function Invocation Result - " + ("Success" if condition == "Success" else "Failure")
    envelope = {
        "version": "0",
        "id": str(uuid.uuid4()),
        "detail-type": detail_type,
        "source": "lambda",
        "account": ACCOUNT_ID,
        "time": datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "region": REGION,
        "resources": [_function_arn(event.function_name, event.qualifier), target],
    }
    # The record is already JSON text: spliced in rather than parsed again.
    return json.dumps(envelope)[:-1] + ', "detail": ' + record + "}"


def invocation_record(event: _Event, condition: str, result: InvocationResult | None, parse_payloads: bool = True) -> dict[str, Any]:
    """The record destinations receive, as Lambda writes it."""
    record: dict[str, Any] = {
        "version": "1.0",
        "timestamp": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="milliseconds").replace("+00:00", "Z"),
        "requestContext": {
            "requestId": event.request_id,
            "functionArn": _function_arn(event.function_name, event.qualifier),
            "condition": condition,
            "approximateInvokeCount": event.attempts,
        },
        "requestPayload": _json_or_text(event.payload, parse_payloads),
    }
    if result is not None:
        response_context: dict[str, Any] = {"statusCode": 200, "executedVersion": result.executed_version}
        if result.function_error:
            response_context["functionError"] = result.function_error
        record["responseContext"] = response_context
        record["responsePayload"] = _json_or_text(result.payload, parse_payloads)
    return record


def _function_arn(name: str, qualifier: str | None) -> str:
    return f"arn:aws:lambda:{REGION}:{ACCOUNT_ID}:function:{name}:{qualifier or '$LATEST'}"


def _qualified(name: str, qualifier: str | None) -> str:
    return f"{name}:{qualifier}" if qualifier else name


def _json_or_text(payload: bytes, parse: bool = True) -> Any:
    if parse:
        try:
            return json.loads(payload)
        except (ValueError, RecursionError):
            pass
    return base64.b64encode(payload).decode()


class _transaction:
    """BEGIN IMMEDIATE ... COMMIT, or ROLLBACK on any exception (cancellation included)."""

    def __init__(self, database: sqlite3.Connection) -> None:
        self._database = database

    def __enter__(self) -> sqlite3.Connection:
        self._database.execute("BEGIN IMMEDIATE")
        return self._database

    def __exit__(self, exception_type: object, *rest: object) -> None:
        self._database.execute("ROLLBACK" if exception_type is not None else "COMMIT")


def _receive_messages(database: sqlite3.Connection, queue: str, limit: int) -> list[dict[str, Any]]:
    """Takes up to `limit` messages off a queue, oldest first, in one transaction: two
    readers never get the same message."""
    with _transaction(database):
        rows = database.execute(
            "SELECT id, body, sent_at FROM queue_messages WHERE queue = ? ORDER BY id LIMIT ?", (queue, limit)
        ).fetchall()
        if rows:
            database.execute(f"DELETE FROM queue_messages WHERE id IN ({','.join('?' * len(rows))})", [row[0] for row in rows])
    return [{"messageId": str(row[0]), "body": row[1], "sentTimestamp": row[2]} for row in rows]


class StateNotFound(FileNotFoundError):
    """No async-invocation database where one was looked for."""


class LocalQueues:
    """The destination queues (and the pending events) of a state directory, read from
    outside the server that fills them: ``lamina queue receive`` and ``lamina queue list``."""

    def __init__(self, database: Path) -> None:
        if not Path(database).is_file():
            raise StateNotFound(str(database))
        # An existing database only: reading must not create an empty one elsewhere.
        self._database = sqlite3.connect(f"file:{database}?mode=rw", uri=True, isolation_level=None, timeout=30)

    def receive(self, queue: str, limit: int = 10) -> list[dict[str, Any]]:
        return _receive_messages(self._database, queue, limit)

    def queues(self) -> dict[str, int]:
        """Each queue that holds messages, with how many."""
        rows = self._database.execute("SELECT queue, COUNT(*) FROM queue_messages GROUP BY queue ORDER BY queue").fetchall()
        return {queue: count for queue, count in rows}

    def pending_events(self) -> dict[str, int]:
        """Events not yet delivered, by function (``name`` or ``name:qualifier``)."""
        rows = self._database.execute(
            "SELECT function_name, qualifier, COUNT(*) FROM events GROUP BY function_name, qualifier ORDER BY function_name, qualifier"
        ).fetchall()
        return {_qualified(name, qualifier): count for name, qualifier, count in rows}

    def close(self) -> None:
        self._database.close()
