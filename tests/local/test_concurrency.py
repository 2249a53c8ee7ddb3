"""Concurrency: parallel invocations run in parallel environments, up to the function's
reserved concurrency and the service's concurrency; beyond, Throttled."""

from __future__ import annotations

import asyncio
import time

import pytest

from lamina.local.functions import FunctionNotFound, Throttled

from engine_helpers import Runtime, body, invoke, local_lambda


async def test_twenty_concurrent_invocations_run_in_parallel_environments(tmp_path, runtime: Runtime):
    async with local_lambda(tmp_path, concurrency=20) as (service, _):
        function = service.put_function(runtime.function("app.sleep", timeout_seconds=30))
        first = await asyncio.gather(*(invoke(service, function, {"seconds": 0.5}) for _ in range(20)))
        started = time.monotonic()
        second = await asyncio.gather(*(invoke(service, function, {"seconds": 0.5}) for _ in range(20)))
        elapsed = time.monotonic() - started
    assert all(r.status == "success" for r in first + second)
    assert len({body(r)["pid"] for r in first}) == 20  # one environment each
    assert {body(r)["pid"] for r in second} == {body(r)["pid"] for r in first}  # all reused warm
    assert elapsed < 20 * 0.5 / 2  # not serialised


async def test_reserved_concurrency_throttles_with_its_reason(tmp_path, runtime: Runtime):
    async with local_lambda(tmp_path) as (service, _):
        function = service.put_function(runtime.function("app.sleep", reserved_concurrency=1))
        outcomes = await asyncio.gather(
            invoke(service, function, {"seconds": 1}), invoke(service, function, {"seconds": 1}), return_exceptions=True
        )
    throttled = [o for o in outcomes if isinstance(o, Throttled)]
    assert len(throttled) == 1 and throttled[0].reason == "ReservedFunctionConcurrentInvocationLimitExceeded"
    assert sum(1 for o in outcomes if not isinstance(o, Exception)) == 1


async def test_reserved_concurrency_zero_throttles_every_invocation(tmp_path):
    runtime = Runtime("lamina")
    async with local_lambda(tmp_path) as (service, _):
        function = service.put_function(runtime.function("app.echo", reserved_concurrency=0))
        with pytest.raises(Throttled) as raised:
            await invoke(service, function)
    assert raised.value.reason == "ReservedFunctionConcurrentInvocationLimitExceeded"


async def test_service_concurrency_throttles_across_functions(tmp_path):
    runtime = Runtime("lamina")
    async with local_lambda(tmp_path, concurrency=2) as (service, _):
        first = service.put_function(runtime.function("app.sleep"))
        second = service.put_function(runtime.function("app.sleep"))
        outcomes = await asyncio.gather(
            invoke(service, first, {"seconds": 1}), invoke(service, second, {"seconds": 1}),
            invoke(service, first, {"seconds": 1}), return_exceptions=True,
        )
        assert [type(o).__name__ for o in outcomes].count("Throttled") == 1
        assert next(o for o in outcomes if isinstance(o, Throttled)).reason == "ConcurrentInvocationLimitExceeded"
        # Idle environments of one function make room for another's when the limit is reached.
        third = service.put_function(runtime.function("app.echo"))
        assert body(await invoke(service, third, {"ok": 1})) == {"ok": 1}


async def test_unknown_function_is_function_not_found(tmp_path):
    async with local_lambda(tmp_path) as (service, _):
        with pytest.raises(FunctionNotFound):
            await service.invoke("nope", None, __import__("lamina.local.functions", fromlist=["_"]).InvocationRequest(b"{}"))


async def test_updating_a_function_retires_its_environments(tmp_path):
    runtime = Runtime("lamina")
    async with local_lambda(tmp_path) as (service, logs):
        function = service.put_function(runtime.function("app.sleep", name="updated"))
        before = body(await invoke(service, function, {"seconds": 0}))["pid"]
        service.put_function(runtime.function("app.sleep", name="updated", memory_mb=256))
        after = body(await invoke(service, function, {"seconds": 0}))["pid"]
        # Reserved concurrency alone keeps the warm environment.
        service.put_function(runtime.function("app.sleep", name="updated", memory_mb=256, reserved_concurrency=5))
        kept = body(await invoke(service, function, {"seconds": 0}))["pid"]
    assert before != after == kept
    assert len(logs.matching("^INIT_START", "updated")) == 2


async def test_idle_environments_are_shut_down(tmp_path):
    runtime = Runtime("lamina")
    async with local_lambda(tmp_path, idle_timeout_seconds=0.3) as (service, logs):
        function = service.put_function(runtime.function("app.echo"))
        await invoke(service, function)
        await asyncio.sleep(1.0)
        result = await invoke(service, function)
    assert result.init_duration_ms is not None  # a new cold start
    assert len(logs.matching("^INIT_START", function.name)) == 2
