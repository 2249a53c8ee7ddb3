"""Function URLs in RESPONSE_STREAM mode (emulator.md "Function URLs": "stream prelude + 8 NUL
bytes + body, sent to the HTTP client chunk by chunk"), served by function_url_app over a
real LocalLambda and real lamina runtime processes, read by an aiohttp client.

The handler waits for a file after its first bytes; the client creates it only once it has
read them, so a buffered relay would fail the test."""

from __future__ import annotations

import contextlib
import json
import logging
from pathlib import Path
from typing import AsyncIterator

import aiohttp
from aiohttp import web

from lamina.local.function_urls import FunctionUrlConfig, function_url_app
from lamina.local.functions import FunctionConfig

from engine_helpers import FUNCTIONS, Runtime, alive, local_lambda, pid_in, wait_for


@contextlib.asynccontextmanager
async def streaming_url(tmp_path: Path, function: FunctionConfig, **settings: object) -> AsyncIterator[tuple[str, object]]:
    """A RESPONSE_STREAM function URL for ``function``: its base URL, and the service's logs."""
    async with local_lambda(tmp_path, **settings) as (service, logs):
        service.put_function(function)
        config = FunctionUrlConfig(function.name, invoke_mode="RESPONSE_STREAM")
        # aiohttp's defaults, as lamina serve runs it: a handler is not cancelled when its
        # client goes away (aiohttp's TestServer would cancel it).
        runner = web.AppRunner(function_url_app(config, service.invoke, invoke_streaming=service.invoke_stream))
        await runner.setup()
        site = web.TCPSite(runner, "127.0.0.1", 0)
        await site.start()
        port = runner.addresses[0][1]
        try:
            yield f"http://127.0.0.1:{port}", logs
        finally:
            await runner.cleanup()


def streams(handler: str, **options: object) -> FunctionConfig:
    options.setdefault("timeout_seconds", 30)
    return FunctionConfig(handler.replace(".", "-").replace("_", "-"), handler, FUNCTIONS, runtime="python3.12", **options)  # type: ignore[arg-type]


async def test_first_bytes_reach_the_client_before_the_handler_returns_with_the_prelude_s_status_headers_and_cookies(tmp_path):
    go = tmp_path / "go"
    async with streaming_url(tmp_path, streams("streams.gated_http")) as (url, _):
        async with aiohttp.ClientSession() as session:
            async with session.get(url + "/page", params={"go": str(go)}) as response:
                first = await response.content.readuntil(b"|")
                go.touch()  # the handler goes on only now
                rest = await response.content.read()
                status, headers = response.status, response.headers
    assert first.startswith(b"first pid=") and rest == b"rest"
    assert status == 201 and headers["Content-Type"] == "text/plain" and headers["x-streamed"] == "yes"
    assert headers.getall("Set-Cookie") == ["a=1; Path=/", "b=2"]
    assert headers.get("Transfer-Encoding") == "chunked"


async def test_a_function_failing_before_its_first_byte_is_a_502(tmp_path):
    async with streaming_url(tmp_path, streams("streams.fails_before_first_chunk")) as (url, _):
        async with aiohttp.ClientSession() as session:
            async with session.get(url + "/") as response:
                assert (response.status, await response.text()) == (502, "Internal Server Error")


async def test_a_failure_mid_stream_ends_the_body_after_what_was_sent(tmp_path):
    async with streaming_url(tmp_path, streams("streams.fails_mid_stream")) as (url, _):
        async with aiohttp.ClientSession() as session:
            async with session.get(url + "/") as response:
                assert (response.status, await response.read()) == (200, b"partial|")


async def test_a_buffered_function_behind_a_streaming_url_is_relayed_as_it_answered(tmp_path):
    function = Runtime("awslambdaric").function("app.echo", timeout_seconds=30)
    async with streaming_url(tmp_path, function) as (url, _):
        async with aiohttp.ClientSession() as session:
            async with session.post(url + "/echo", json={"a": 1}) as response:
                assert response.status == 200 and response.headers["Content-Type"] == "application/json"
                event = json.loads(await response.read())
    assert event["rawPath"] == "/echo" and json.loads(event["body"]) == {"a": 1}


async def test_a_client_gone_mid_stream_resets_the_environment_and_the_next_request_works(tmp_path, caplog):
    go = tmp_path / "go"
    async with streaming_url(tmp_path, streams("streams.gated_http"), concurrency=1) as (url, logs):
        async with aiohttp.ClientSession() as session:
            response = await session.get(url + "/", params={"go": str(go)})
            pid = pid_in(await response.content.readuntil(b"|"))
            response.close()  # the client goes away; the handler is still waiting
        await wait_for(lambda: not alive(pid))
        await wait_for(lambda: any("Client.Disconnected" in line for line in logs.texts()))
        go.touch()
        async with aiohttp.ClientSession() as session:
            async with session.get(url + "/", params={"go": str(go)}) as response:
                body = await response.read()
    assert body.endswith(b"|rest") and pid_in(body) != pid
    assert [record.getMessage() for record in caplog.records if record.levelno >= logging.ERROR] == []
