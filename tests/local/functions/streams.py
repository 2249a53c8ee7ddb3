"""Streaming handlers the local Lambda's response streaming tests run with lamina (python3.12).

A handler that waits does so for a file the test creates (a handshake, not a delay): the test
has then seen what came before it."""

import os
import time

import lamina


def _wait_for(path, seconds=60):
    deadline = time.monotonic() + seconds
    while not os.path.exists(path):
        if time.monotonic() > deadline:
            raise TimeoutError(f"{path} never appeared")
        time.sleep(0.01)


def gated(event, context):
    """First chunk, then (once the test created event["go"]) the rest."""
    yield f"first pid={os.getpid()}|"
    _wait_for(event["go"])
    yield "second|"
    yield "third"


def gated_http(event, context):
    """A function URL's response: status, headers and cookies, the first bytes, then (once the
    file in the query string's ``go`` exists) the rest."""
    yield lamina.HttpResponse(201, {"content-type": "text/plain", "x-streamed": "yes"}, ["a=1; Path=/", "b=2"])
    yield f"first pid={os.getpid()}|"
    _wait_for(event["queryStringParameters"]["go"])
    yield "rest"


@lamina.stream_response
def explicit(event, response_stream, context):
    response_stream.set_content_type("text/csv")
    response_stream.write("a,b\n")
    response_stream.end("1,2\n")


def fails_mid_stream(event, context):
    yield "partial|"
    raise RuntimeError("broke mid-stream")


def fails_before_first_chunk(event, context):
    raise ValueError("failed before streaming")
    yield "never"


def exits_mid_stream(event, context):
    """The runtime process exits once the test, having the first chunk, created event["go"]."""
    yield "partial|"
    _wait_for(event["go"])
    os._exit(3)


def streams_bytes(event, context):
    """``chunks`` chunks of ``size`` bytes each."""
    for _ in range(event["chunks"]):
        yield b"x" * event["size"]


def prints_and_streams(event, context):
    print("streaming now", flush=True)
    yield "done"


def waits_then_streams(event, context):
    """Starts its stream only once the test created event["go"]."""
    _wait_for(event["go"])
    yield f"late pid={os.getpid()}|"
