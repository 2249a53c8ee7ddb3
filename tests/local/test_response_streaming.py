"""Response streaming in the local Lambda's engine (emulator.md, Runtime API: "Streaming
responses (chunked, with trailers) are relayed to the caller as they arrive — never buffered
whole"): LocalLambda.invoke_stream with real runtime processes — lamina's generator and
explicit-stream handlers, custom runtimes writing chunked bodies and trailers by hand, the
tutorial's bash runtime with curl, and awslambdaric, which cannot stream.

A handler that waits does so for a file the test creates once it has the first chunk: a
runtime or an engine that buffered would never deliver that chunk, and the test would fail
(no timing involved)."""

from __future__ import annotations

import asyncio
import json
import shutil

import pytest

from lamina.local.functions import FunctionConfig, InvocationRequest, StreamedInvocation, Throttled
from lamina.local.response_streams import ResponseStream

from engine_helpers import FUNCTIONS, alive, invoke, local_lambda, pid_in, scripted_function, wait_for


def streams(handler: str, **options: object) -> FunctionConfig:
    options.setdefault("name", handler.replace(".", "-").replace("_", "-"))
    options.setdefault("timeout_seconds", 30)
    return FunctionConfig(handler=handler, code_dir=FUNCTIONS, runtime="python3.12", **options)  # type: ignore[arg-type]


async def start_stream(service, function: FunctionConfig, event: object = None) -> StreamedInvocation:
    return await service.invoke_stream(function.name, None, InvocationRequest(json.dumps(event or {}).encode()))


async def read_all(streamed: StreamedInvocation) -> list[bytes]:
    return [chunk async for chunk in streamed.chunks]


# -- chunk by chunk ---------------------------------------------------------------------------


async def test_the_first_chunk_reaches_the_caller_before_the_handler_finishes(tmp_path):
    go = tmp_path / "go"
    async with local_lambda(tmp_path) as (service, logs):
        function = service.put_function(streams("streams.gated"))
        streamed = await start_stream(service, function, {"go": str(go)})
        assert streamed.content_type == "application/octet-stream"
        assert streamed.result is None and streamed.request_id and streamed.executed_version == "$LATEST"
        chunks = streamed.chunks.__aiter__()
        first = await chunks.__anext__()
        assert first.startswith(b"first pid=")
        go.touch()  # only now may the handler go on
        rest = [chunk async for chunk in chunks]
    assert b"".join(rest) == b"second|third"
    result = streamed.result
    assert result is not None and result.function_error is None and streamed.error is None
    assert result.status == "success" and result.payload == b""
    lines = result.log_tail.decode().splitlines()
    assert f"START RequestId: {streamed.request_id} Version: $LATEST" in lines
    assert lines[-1].startswith(f"REPORT RequestId: {streamed.request_id}\tDuration: ")
    assert any(line.startswith("REPORT") for line in logs.texts(function.name))


async def test_an_explicit_stream_sets_its_content_type(tmp_path):
    async with local_lambda(tmp_path) as (service, _):
        streamed = await start_stream(service, service.put_function(streams("streams.explicit")))
        body = b"".join(await read_all(streamed))
    assert (streamed.content_type, body, streamed.error) == ("text/csv", b"a,b\n1,2\n", None)


async def test_a_mid_stream_error_comes_from_the_trailers_after_the_chunks_sent_before_it(tmp_path):
    async with local_lambda(tmp_path) as (service, _):
        function = service.put_function(streams("streams.fails_mid_stream"))
        streamed = await start_stream(service, function)
        chunks = await read_all(streamed)
        again = await start_stream(service, function)  # the environment is fine: a function error
        await read_all(again)
    assert chunks == [b"partial|"]
    assert streamed.error is not None
    assert (streamed.error["errorType"], streamed.error["errorMessage"]) == ("RuntimeError", "broke mid-stream")
    assert streamed.error["requestId"] == streamed.request_id
    result = streamed.result
    assert result is not None and result.function_error == "Unhandled" and result.status == "error"
    assert json.loads(result.payload)["errorType"] == "RuntimeError"
    assert again.result is not None and again.result.init_duration_ms is None  # warm


async def test_an_error_before_the_first_byte_is_an_ordinary_error_without_chunks(tmp_path):
    async with local_lambda(tmp_path) as (service, _):
        streamed = await start_stream(service, service.put_function(streams("streams.fails_before_first_chunk")))
        assert streamed.result is not None  # known at once: nothing was streamed
        chunks = await read_all(streamed)
    assert chunks == [] and streamed.content_type == "application/json"
    assert streamed.error is not None and streamed.error["errorType"] == "ValueError"
    assert streamed.error["errorMessage"] == "failed before streaming"


async def test_a_runtime_that_exits_mid_stream_fails_the_invocation_and_the_next_one_works(tmp_path):
    async with local_lambda(tmp_path) as (service, _):
        function = service.put_function(streams("streams.exits_mid_stream"))
        go = tmp_path / "go"
        streamed = await start_stream(service, function, {"go": str(go)})
        chunks = [await streamed.chunks.__anext__()]
        go.touch()
        chunks += await read_all(streamed)
        echo = service.put_function(streams("streams.explicit", name="after-exit"))
        after = b"".join(await read_all(await start_stream(service, echo)))
    assert chunks == [b"partial|"]
    assert streamed.error == {
        "errorType": "Runtime.ExitError",
        "errorMessage": f"RequestId: {streamed.request_id} Error: Runtime exited with error: exit status 3",
    }
    assert streamed.result is not None and "Status: error\tError Type: Runtime.ExitError" in streamed.result.log_tail.decode()
    assert after == b"a,b\n1,2\n"


async def test_a_stream_still_running_at_the_timeout_is_timed_out(tmp_path):
    async with local_lambda(tmp_path) as (service, _):
        function = service.put_function(streams("streams.gated", timeout_seconds=1))
        streamed = await start_stream(service, function, {"go": str(tmp_path / "never")})
        chunks = await read_all(streamed)
    assert len(chunks) == 1 and chunks[0].startswith(b"first pid=")
    assert streamed.error is not None and streamed.error["errorType"] == "Sandbox.Timedout"
    assert streamed.result is not None and streamed.result.status == "timeout"
    assert "Status: timeout" in streamed.result.log_tail.decode()
    assert not alive(pid_in(chunks[0]))


# -- the caller goes away, the limit ----------------------------------------------------------


async def test_a_caller_that_abandons_the_stream_resets_the_environment_and_nothing_leaks(tmp_path):
    go = tmp_path / "go"
    async with local_lambda(tmp_path, concurrency=1) as (service, logs):
        function = service.put_function(streams("streams.gated"))
        warmup = await start_stream(service, function, {"go": str(go)})
        go.touch()
        await read_all(warmup)
        go.unlink()
        tasks_before = len(asyncio.all_tasks())
        streamed = await start_stream(service, function, {"go": str(go)})
        first = await streamed.chunks.__anext__()
        pid = pid_in(first)
        await streamed.aclose()  # the caller went away mid-stream
        await wait_for(lambda: not alive(pid))
        # The environment was reset, not lost: with concurrency 1, the next invocation runs
        # in it (a new runtime process, a suppressed init).
        go.touch()
        again = await start_stream(service, function, {"go": str(go)})
        after = await read_all(again)
        await wait_for(lambda: len(asyncio.all_tasks()) <= tasks_before)
    assert pid_in(after[0]) != pid
    assert again.result is not None and again.result.status == "success"
    report = next(line for line in logs.texts(function.name) if line.startswith(f"REPORT RequestId: {streamed.request_id}"))
    assert "Status: error\tError Type: Client.Disconnected" in report


async def test_a_caller_gone_before_the_stream_starts_cuts_it_when_it_starts(tmp_path):
    go = tmp_path / "go"
    async with local_lambda(tmp_path) as (service, logs):
        function = service.put_function(streams("streams.waits_then_streams"))
        waiting = asyncio.ensure_future(start_stream(service, function, {"go": str(go)}))
        await wait_for(lambda: any(line.startswith("START") for line in logs.texts(function.name)))
        waiting.cancel()  # e.g. an HTTP client that gave up while the function ran
        await asyncio.gather(waiting, return_exceptions=True)
        go.touch()  # the stream starts, and is cut at once: nobody reads it
        await wait_for(lambda: any("Client.Disconnected" in line for line in logs.texts(function.name)))
        go.touch()
        again = await start_stream(service, function, {"go": str(go)})
        chunks = await read_all(again)
    assert chunks[0].startswith(b"late pid=") and again.error is None


async def test_a_stream_over_the_limit_is_cut_with_an_error_the_caller_sees(tmp_path):
    limit = 100_000
    async with local_lambda(tmp_path, max_response_stream_bytes=limit) as (service, _):
        function = service.put_function(streams("streams.streams_bytes"))
        streamed = await start_stream(service, function, {"chunks": 10, "size": 30_000})
        received = sum(len(chunk) for chunk in await read_all(streamed))
        under = await start_stream(service, function, {"chunks": 3, "size": 30_000})
        under_received = sum(len(chunk) for chunk in await read_all(under))
    assert received <= limit
    assert streamed.error == {
        "errorType": "Function.ResponseSizeTooLarge",
        "errorMessage": f"Response payload size exceeded maximum allowed payload size ({limit} bytes).",
    }
    assert under_received == 90_000 and under.error is None


async def test_a_streaming_invocation_counts_against_concurrency_until_it_ends(tmp_path):
    go = tmp_path / "go"
    async with local_lambda(tmp_path) as (service, _):
        function = service.put_function(streams("streams.gated", reserved_concurrency=1))
        streamed = await start_stream(service, function, {"go": str(go)})
        await streamed.chunks.__anext__()
        with pytest.raises(Throttled):
            await start_stream(service, function, {"go": str(go)})
        go.touch()
        await read_all(streamed)
        again = await start_stream(service, function, {"go": str(go)})
        await read_all(again)
    assert again.error is None


# -- invoke() gathers a stream ---------------------------------------------------------------


async def test_invoke_gathers_a_stream_and_returns_trailer_errors_as_function_errors(tmp_path):
    go = tmp_path / "go"
    go.touch()
    async with local_lambda(tmp_path) as (service, _):
        gathered = await invoke(service, service.put_function(streams("streams.gated")), {"go": str(go)})
        failed = await invoke(service, service.put_function(streams("streams.fails_mid_stream")))
    assert gathered.payload.startswith(b"first pid=") and gathered.payload.endswith(b"|second|third")
    assert gathered.content_type == "application/octet-stream" and gathered.function_error is None
    assert failed.function_error == "Unhandled"
    assert json.loads(failed.payload)["errorMessage"] == "broke mid-stream"


async def test_invoke_refuses_a_stream_larger_than_a_buffered_response(tmp_path):
    async with local_lambda(tmp_path) as (service, _):
        function = service.put_function(streams("streams.streams_bytes"))
        result = await invoke(service, function, {"chunks": 7, "size": 1_000_000})
        again = await invoke(service, function, {"chunks": 1, "size": 10})
    assert result.function_error == "Unhandled"
    assert json.loads(result.payload)["errorType"] == "Function.ResponseSizeTooLarge"
    assert again.payload == b"x" * 10


# -- runtimes that do not stream, or stream by hand -------------------------------------------


async def test_a_buffered_response_comes_through_the_stream_as_one_chunk(tmp_path, runtime):
    async with local_lambda(tmp_path) as (service, _):
        function = service.put_function(runtime.function("app.echo"))
        streamed = await start_stream(service, function, {"hello": "stream"})
        chunks = await read_all(streamed)
        failing = await start_stream(service, service.put_function(runtime.function("app.raises")), {"message": "no"})
        failing_chunks = await read_all(failing)
    assert [json.loads(chunk) for chunk in chunks] == [{"hello": "stream"}]
    assert streamed.content_type == "application/json" and streamed.error is None
    assert failing_chunks == [] and failing.error is not None
    assert (failing.error["errorType"], failing.error["errorMessage"]) == ("ValueError", "no")


async def test_a_custom_runtime_s_error_trailers_end_the_stream_as_its_error(tmp_path):
    async with local_lambda(tmp_path) as (service, logs):
        streamed = await start_stream(service, service.put_function(scripted_function(tmp_path, "stream_error_trailers")))
        chunks = await read_all(streamed)
        clean = await start_stream(service, service.put_function(scripted_function(tmp_path, "stream_with_empty_trailers")))
        clean_chunks = await read_all(clean)
    assert chunks == [b"partial|", b"more|"] and streamed.content_type == "text/plain"
    assert streamed.error == {"errorMessage": "broke mid-stream", "errorType": "Custom.Broken"}
    assert b"".join(clean_chunks) == b"all|good" and clean.error is None
    assert 'ANSWER POST response 202 {"status":"OK"}' in logs.texts()


async def test_error_and_a_second_response_during_a_stream_are_refused(tmp_path):
    async with local_lambda(tmp_path) as (service, logs):
        streamed = await start_stream(service, service.put_function(scripted_function(tmp_path, "error_while_streaming")))
        chunks = await read_all(streamed)
    answers = [line for line in logs.texts() if line.startswith("ANSWER POST")]
    assert answers[0].startswith("ANSWER POST error 403 ") and "InvalidStateTransition" in answers[0]
    assert answers[1].startswith("ANSWER POST response 403 ")
    assert answers[2] == 'ANSWER POST response 202 {"status":"OK"}'
    assert b"".join(chunks) == b"partial|end" and streamed.error is None


@pytest.mark.skipif(shutil.which("curl") is None, reason="the bash runtime needs curl")
async def test_a_bash_runtime_streams_with_curl_chunk_by_chunk(tmp_path):
    go = tmp_path / "go"
    async with local_lambda(tmp_path) as (service, _):
        function = service.put_function(
            FunctionConfig("bash-streaming", "function.handler", FUNCTIONS / "bash_streaming", runtime="provided.al2023",
                           timeout_seconds=30)
        )
        streamed = await start_stream(service, function, {"go": str(go)})
        chunks = streamed.chunks.__aiter__()
        first = await chunks.__anext__()
        go.touch()
        rest = b"".join([chunk async for chunk in chunks])
    assert first == b"first line\n" and rest == b"second line\n"
    assert streamed.content_type == "text/plain" and streamed.error is None


# -- the channel between runtime and caller ---------------------------------------------------


async def test_the_response_stream_holds_a_bounded_amount_and_makes_the_writer_wait():
    stream = ResponseStream(limit_bytes=10)
    assert await stream.put(b"12345") and await stream.put(b"67890")
    writing = asyncio.ensure_future(stream.put(b"x"))  # 11 bytes buffered: the writer waits
    await asyncio.sleep(0)
    assert not writing.done()
    assert await stream.get() == b"12345"
    assert await writing is True
    stream.close()
    assert [await stream.get(), await stream.get(), await stream.get()] == [b"67890", b"x", None]
    assert await stream.put(b"late") is False and stream.started.cancelled()


async def test_a_detached_stream_drops_its_chunks_and_releases_a_waiting_writer():
    stream = ResponseStream(limit_bytes=1)
    writing = asyncio.ensure_future(stream.put(b"ab"))
    await asyncio.sleep(0)
    stream.detach()
    assert await writing is False and await stream.get() is None and stream.detached
