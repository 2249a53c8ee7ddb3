"""Streaming handlers (lamina's generator and explicit-stream handlers) for the
InvokeWithResponseStream tests. A handler that waits does so for the file named in the event,
which the test creates once it has read what came before."""

import os
import time

import lamina


def _wait_for(path, seconds=60):
    deadline = time.monotonic() + seconds
    while not os.path.exists(path) and time.monotonic() < deadline:
        time.sleep(0.01)


def gated(event, context):
    yield f"first pid={os.getpid()}|"
    _wait_for(event["go"])
    yield "second|"
    yield "third"


@lamina.stream_response
def csv(event, response_stream, context):
    response_stream.set_content_type("text/csv")
    response_stream.write("a,b\n")
    response_stream.end("1,2\n")


def fails_mid_stream(event, context):
    yield "partial|"
    raise RuntimeError("broke mid-stream")


def fails_before_first_chunk(event, context):
    raise ValueError("failed before streaming")
    yield "never"


def prints_and_streams(event, context):
    print("streaming for", context.aws_request_id, flush=True)
    yield "done"


def chunks_of(event, context):
    for _ in range(event["chunks"]):
        yield b"x" * event["size"]


def url_gated(event, context):
    """For a RESPONSE_STREAM function URL: the go file comes in the query string."""
    yield lamina.HttpResponse(200, {"content-type": "text/plain"}, ["stream=1"])
    yield "first|"
    _wait_for(event["queryStringParameters"]["go"])
    yield "second"
