"""The durable async-invocation queue: retries, event age, destinations, dead-letter queues,
and nothing lost when the process dies (emulator.md "Asynchronous invocation").

The queue is driven by an invoke function given to it; here a scripted one stands in for
the execution environments, whose own tests are in this folder too."""

from __future__ import annotations

import asyncio
import base64
import json
import sqlite3
from pathlib import Path

import pytest

from lamina.local.async_invocations import (
    AsyncInvocations,
    EventInvokeConfig,
    LocalQueues,
    RetryTiming,
    StateNotFound,
    parse_destination,
)
from lamina.local.functions import FunctionNotFound, InvocationRequest, InvocationResult, Throttled

FAST = RetryTiming(scale=0.001, poll_interval_seconds=0.01)
ARN = "arn:aws:lambda:us-east-1:123456789012:function:"
SUCCESS_QUEUE = "arn:aws:sqs:us-east-1:123456789012:successes"
FAILURE_QUEUE = "arn:aws:sqs:us-east-1:123456789012:failures"
DEAD_LETTERS = "arn:aws:sqs:us-east-1:123456789012:dead-letters"


class ScriptedFunctions:
    """Invocations answered from a script per function: "ok", "error" or "throttle"."""

    def __init__(self, script: dict[str, list[str]]) -> None:
        self.script = script
        self.calls: list[tuple[str, bytes]] = []

    async def invoke(self, name: str, qualifier: str | None, request: InvocationRequest) -> InvocationResult:
        outcomes = self.script.setdefault(name, ["ok"])
        outcome = outcomes.pop(0) if len(outcomes) > 1 else outcomes[0]
        if outcome == "throttle":
            raise Throttled("ConcurrentInvocationLimitExceeded", "Rate Exceeded.")
        self.calls.append((name, request.payload))
        if outcome == "error":
            error = {"errorMessage": "boom", "errorType": "ValueError", "requestId": "r", "stackTrace": []}
            return InvocationResult("r", json.dumps(error).encode(), "$LATEST", function_error="Unhandled")
        return InvocationResult("r", b'{"ok":true}', "$LATEST")


async def wait_until(condition, timeout: float = 10.0) -> None:
    deadline = asyncio.get_running_loop().time() + timeout
    while not condition():
        if asyncio.get_running_loop().time() > deadline:
            raise TimeoutError("condition not met")
        await asyncio.sleep(0.01)


def run(coroutine):
    return asyncio.run(coroutine)


def messages(queue: AsyncInvocations, name: str) -> list[dict]:
    return [json.loads(m["body"]) for m in queue.receive_messages(name, 100)]


def test_success_goes_to_the_success_destination_with_lambdas_record(tmp_path: Path):
    async def scenario():
        functions = ScriptedFunctions({"orders": ["ok"]})
        queue = AsyncInvocations(tmp_path / "q.db", functions.invoke, timing=FAST)
        queue.put_config("orders", None, EventInvokeConfig(on_success=SUCCESS_QUEUE))
        await queue.start()
        request_id = queue.enqueue("orders", None, b'{"id": 7}')
        await wait_until(lambda: queue.pending_count() == 0)
        [record] = messages(queue, "successes")
        await queue.stop()
        return request_id, record

    request_id, record = run(scenario())
    assert record["version"] == "1.0" and record["timestamp"].endswith("Z")
    assert record["requestContext"] == {
        "requestId": request_id,
        "functionArn": ARN + "orders:$LATEST",
        "condition": "Success",
        "approximateInvokeCount": 1,
    }
    assert record["requestPayload"] == {"id": 7}
    assert record["responseContext"] == {"statusCode": 200, "executedVersion": "$LATEST"}
    assert record["responsePayload"] == {"ok": True}


def test_function_failing_twice_then_succeeding_is_delivered_three_times_and_lands_once(tmp_path: Path):
    async def scenario():
        functions = ScriptedFunctions({"orders": ["error", "error", "ok"]})
        queue = AsyncInvocations(tmp_path / "q.db", functions.invoke, timing=FAST)
        queue.put_config("orders", None, EventInvokeConfig(on_success=SUCCESS_QUEUE, on_failure=FAILURE_QUEUE))
        await queue.start()
        queue.enqueue("orders", None, b"{}")
        await wait_until(lambda: queue.pending_count() == 0)
        result = functions.calls, messages(queue, "successes"), messages(queue, "failures")
        await queue.stop()
        return result

    calls, successes, failures = run(scenario())
    assert len(calls) == 3
    assert [r["requestContext"]["approximateInvokeCount"] for r in successes] == [3]
    assert failures == []


def test_retries_exhausted_go_to_the_failure_destination_and_the_dead_letter_queue(tmp_path: Path):
    async def scenario():
        functions = ScriptedFunctions({"orders": ["error"]})
        queue = AsyncInvocations(tmp_path / "q.db", functions.invoke, timing=FAST)
        config = EventInvokeConfig(on_failure=FAILURE_QUEUE, dead_letter_target=DEAD_LETTERS)
        queue.put_config("orders", None, config)
        await queue.start()
        queue.enqueue("orders", None, b'{"id": 1}')
        await wait_until(lambda: queue.pending_count() == 0)
        result = len(functions.calls), messages(queue, "failures"), queue.receive_messages("dead-letters")
        await queue.stop()
        return result

    calls, failures, dead_letters = run(scenario())
    assert calls == 3  # the first attempt and MaximumRetryAttempts (2) retries
    [record] = failures
    assert record["requestContext"]["condition"] == "RetriesExhausted"
    assert record["requestContext"]["approximateInvokeCount"] == 3
    assert record["responseContext"]["functionError"] == "Unhandled"
    assert record["responsePayload"]["errorType"] == "ValueError"
    assert [json.loads(m["body"]) for m in dead_letters] == [{"id": 1}]  # the event only


def test_maximum_retry_attempts_zero_invokes_once(tmp_path: Path):
    async def scenario():
        functions = ScriptedFunctions({"orders": ["error"]})
        queue = AsyncInvocations(tmp_path / "q.db", functions.invoke, timing=FAST)
        queue.put_config("orders", None, EventInvokeConfig(maximum_retry_attempts=0, on_failure=FAILURE_QUEUE))
        await queue.start()
        queue.enqueue("orders", None, b"{}")
        await wait_until(lambda: queue.pending_count() == 0)
        await queue.stop()
        return len(functions.calls)

    assert run(scenario()) == 1


def test_throttles_back_off_without_counting_as_invocations(tmp_path: Path):
    async def scenario():
        functions = ScriptedFunctions({"orders": ["throttle", "throttle", "ok"]})
        queue = AsyncInvocations(tmp_path / "q.db", functions.invoke, timing=FAST)
        queue.put_config("orders", None, EventInvokeConfig(on_success=SUCCESS_QUEUE))
        await queue.start()
        queue.enqueue("orders", None, b"{}")
        await wait_until(lambda: queue.pending_count() == 0)
        result = messages(queue, "successes")
        await queue.stop()
        return result

    [record] = run(scenario())
    assert record["requestContext"]["approximateInvokeCount"] == 1


def test_events_older_than_the_maximum_age_are_given_up(tmp_path: Path):
    async def scenario():
        functions = ScriptedFunctions({"orders": ["throttle"]})
        timing = RetryTiming(scale=0.01, poll_interval_seconds=0.01)  # 60 s of event age = 0.6 s
        queue = AsyncInvocations(tmp_path / "q.db", functions.invoke, timing=timing)
        queue.put_config("orders", None, EventInvokeConfig(maximum_event_age_seconds=60, on_failure=FAILURE_QUEUE))
        await queue.start()
        queue.enqueue("orders", None, b"{}")
        await wait_until(lambda: queue.pending_count() == 0)
        result = messages(queue, "failures"), functions.calls
        await queue.stop()
        return result

    [record], calls = run(scenario())
    assert record["requestContext"]["condition"] == "EventAgeExceeded"
    assert record["requestContext"]["approximateInvokeCount"] == 0 and calls == []


def test_reserved_concurrency_zero_sends_events_straight_to_the_failure_targets(tmp_path: Path):
    async def scenario():
        functions = ScriptedFunctions({"orders": ["ok"]})
        queue = AsyncInvocations(tmp_path / "q.db", functions.invoke, reserved_concurrency=lambda name: 0, timing=FAST)
        queue.put_config("orders", None, EventInvokeConfig(dead_letter_target=DEAD_LETTERS))
        await queue.start()
        queue.enqueue("orders", None, b'{"n": 1}')
        await wait_until(lambda: queue.pending_count() == 0)
        result = functions.calls, queue.receive_messages("dead-letters")
        await queue.stop()
        return result

    calls, dead_letters = run(scenario())
    assert calls == [] and [m["body"] for m in dead_letters] == ['{"n": 1}']


def test_function_destination_is_invoked_with_the_record(tmp_path: Path):
    async def scenario():
        functions = ScriptedFunctions({"orders": ["ok"], "audit": ["ok"]})
        queue = AsyncInvocations(tmp_path / "q.db", functions.invoke, timing=FAST)
        queue.put_config("orders", None, EventInvokeConfig(on_success=ARN + "audit"))
        await queue.start()
        queue.enqueue("orders", None, b"{}")
        await wait_until(lambda: any(name == "audit" for name, _ in functions.calls))
        await queue.stop()
        return functions.calls

    calls = run(scenario())
    audit_payload = json.loads(next(payload for name, payload in calls if name == "audit"))
    assert audit_payload["requestContext"]["condition"] == "Success"


def test_queued_events_survive_the_process_and_are_delivered_after_a_restart(tmp_path: Path):
    database = tmp_path / "q.db"

    async def accept_then_die():
        queue = AsyncInvocations(database, ScriptedFunctions({}).invoke, timing=FAST)
        ids = [queue.enqueue("orders", None, json.dumps({"n": n}).encode()) for n in range(5)]
        # No start(), no stop(): like a server killed right after answering 202.
        return ids

    run(accept_then_die())
    assert sqlite3.connect(database).execute("SELECT COUNT(*) FROM events").fetchone()[0] == 5

    async def restart():
        functions = ScriptedFunctions({"orders": ["ok"]})
        queue = AsyncInvocations(database, functions.invoke, timing=FAST)
        await queue.start()
        await wait_until(lambda: queue.pending_count() == 0)
        await queue.stop()
        return sorted(json.loads(payload)["n"] for _, payload in functions.calls)

    assert run(restart()) == [0, 1, 2, 3, 4]


def test_payloads_over_the_async_limit_are_refused(tmp_path: Path):
    async def scenario():
        queue = AsyncInvocations(tmp_path / "q.db", ScriptedFunctions({}).invoke, timing=FAST)
        with pytest.raises(ValueError, match="smaller than 1048576 bytes"):
            queue.enqueue("orders", None, b"x" * (1_048_576 + 1))
        await queue.stop()

    run(scenario())


@pytest.mark.parametrize(
    ("arn", "kind", "name"),
    [
        (ARN + "audit", "function", "audit"),
        ("arn:aws:sqs:us-east-1:123456789012:jobs", "queue", "jobs"),
        ("arn:aws:sns:us-east-1:123456789012:alerts", "queue", "alerts"),
        ("arn:aws:events:us-east-1:123456789012:event-bus/default", "queue", "default"),
    ],
)
def test_destination_arns(arn, kind, name):
    destination = parse_destination(arn)
    assert (destination.kind, destination.name) == (kind, name)


@pytest.mark.parametrize("config", [EventInvokeConfig(maximum_retry_attempts=3), EventInvokeConfig(maximum_event_age_seconds=59),
                                    EventInvokeConfig(on_success="arn:aws:s3:::bucket")])
def test_invalid_event_invoke_configs_are_refused(tmp_path: Path, config):
    queue = AsyncInvocations(tmp_path / "q.db", ScriptedFunctions({}).invoke, timing=FAST)
    with pytest.raises(ValueError):
        queue.put_config("orders", None, config)


def test_retries_are_the_same_invocation_to_the_function(tmp_path: Path):
    async def scenario():
        seen: list[str | None] = []

        async def invoke(name, qualifier, request):
            seen.append(request.request_id)
            error = len(seen) < 3
            return InvocationResult(request.request_id or "", b"{}", "$LATEST", function_error="Unhandled" if error else None)

        queue = AsyncInvocations(tmp_path / "q.db", invoke, timing=FAST)
        await queue.start()
        request_id = queue.enqueue("orders", None, b"{}")
        await wait_until(lambda: queue.pending_count() == 0)
        await queue.stop()
        return request_id, seen

    request_id, seen = run(scenario())
    assert seen == [request_id] * 3


def test_an_event_for_a_function_not_there_waits_then_ages_out_to_the_failure_target(tmp_path: Path):
    async def scenario():
        async def invoke(name, qualifier, request):
            raise FunctionNotFound(name)

        timing = RetryTiming(scale=0.01, poll_interval_seconds=0.01)
        queue = AsyncInvocations(tmp_path / "q.db", invoke, timing=timing)
        queue.put_config("gone", None, EventInvokeConfig(maximum_event_age_seconds=60, on_failure=FAILURE_QUEUE))
        await queue.start()
        queue.enqueue("gone", None, b'{"kept": true}')
        await wait_until(lambda: queue.pending_count() == 0)
        result = messages(queue, "failures")
        await queue.stop()
        return result

    [record] = run(scenario())
    assert (record["requestContext"]["condition"], record["requestPayload"]) == ("EventAgeExceeded", {"kept": True})


def test_a_record_too_deep_for_json_carries_the_payload_as_base64(tmp_path: Path):
    deep = b"[" * 100_000 + b"]" * 100_000

    async def scenario():
        async def invoke(name, qualifier, request):
            return InvocationResult("r", deep, "$LATEST")

        queue = AsyncInvocations(tmp_path / "q.db", invoke, timing=FAST)
        queue.put_config("orders", None, EventInvokeConfig(on_success=SUCCESS_QUEUE))
        await queue.start()
        queue.enqueue("orders", None, b"{}")
        await wait_until(lambda: queue.pending_count() == 0)
        result = messages(queue, "successes")
        await queue.stop()
        return result

    [record] = run(scenario())
    assert base64.b64decode(record["responsePayload"]) == deep


def test_forget_drops_a_functions_events_and_configuration(tmp_path: Path):
    queue = AsyncInvocations(tmp_path / "q.db", ScriptedFunctions({}).invoke, timing=FAST)
    queue.put_config("orders", None, EventInvokeConfig(maximum_retry_attempts=0))
    queue.put_config("orders", "live", EventInvokeConfig(maximum_retry_attempts=1))
    queue.enqueue("orders", None, b"{}")
    queue.enqueue("orders", "live", b"{}")
    queue.enqueue("audit", None, b"{}")
    assert queue.forget("orders", "live") == 1
    assert [qualifier for qualifier, _ in queue.list_configs("orders")] == ["$LATEST"]
    assert queue.forget("orders") == 1
    assert queue.list_configs("orders") == [] and queue.pending_count() == 1
    run(queue.stop())


def test_local_queues_are_read_from_another_process_connection(tmp_path: Path):
    async def scenario():
        functions = ScriptedFunctions({"orders": ["ok"]})

        async def invoke(name, qualifier, request):
            if name != "orders":
                raise FunctionNotFound(name)
            return await functions.invoke(name, qualifier, request)

        queue = AsyncInvocations(tmp_path / "q.db", invoke, timing=FAST)
        queue.put_config("orders", None, EventInvokeConfig(on_success=SUCCESS_QUEUE))
        await queue.start()
        queue.enqueue("orders", None, b"{}")
        queue.enqueue("later", None, b"{}")  # no such function: stays pending
        await wait_until(lambda: queue.pending_count() == 1)
        await queue.stop()

    run(scenario())
    reader = LocalQueues(tmp_path / "q.db")
    assert reader.queues() == {"successes": 1} and reader.pending_events() == {"later": 1}
    [message] = reader.receive("successes")
    assert json.loads(message["body"])["requestContext"]["condition"] == "Success"
    assert reader.receive("successes") == [] and reader.queues() == {}
    reader.close()
    with pytest.raises(StateNotFound):
        LocalQueues(tmp_path / "missing.db")
