"""Streaming handlers (generators, async generators, the explicit stream API)."""

import asyncio
import os
import time

import lamina


def generator(event, context):
    for part in event.get("parts", ["first ", "second ", "third"]):
        yield part.encode() if event.get("as_bytes") else part


def waits_between_chunks(event, context):
    yield "before the wait|"
    deadline = time.monotonic() + 10
    while not os.path.exists(event["go_file"]) and time.monotonic() < deadline:
        time.sleep(0.01)
    yield "after the wait"


def fails_mid_stream(event, context):
    yield "partial output"
    raise RuntimeError("broke after the first chunk")


def fails_before_first_chunk(event, context):
    raise ValueError("nothing was sent")
    yield "unreachable"


def yields_a_dict(event, context):
    yield "text first|"
    yield {"not": "bytes"}


def http_response(event, context):
    yield lamina.HttpResponse(201, {"content-type": "text/plain"}, ["session=abc"])
    yield "created"


async def async_generator(event, context):
    for part in ("async ", "parts"):
        await asyncio.sleep(0)
        yield part


@lamina.stream_response
def explicit(event, response_stream, context):
    response_stream.set_content_type("text/csv")
    response_stream.write("a,b\n")
    response_stream.end("1,2\n")


@lamina.stream_response
def explicit_http(event, response_stream, context):
    response_stream.start_http_response(200, {"content-type": "text/html"})
    response_stream.write("<p>hi</p>")


@lamina.stream_response
async def explicit_async(event, response_stream, context):
    await asyncio.sleep(0)
    response_stream.write(b"async explicit")
