"""Response streaming in the runtime (runtime.md section 1, "Response streaming"): generator
and explicit-stream handlers send chunks as they produce them, with Lambda's headers, the
HTTP integration prelude, and error trailers."""

import base64
import json

from runtime_process import reply_json

from lamina.testing.runtime_api import ScriptedInvocation

STREAMING_HEADERS = {
    "Lambda-Runtime-Function-Response-Mode": "streaming",
    "Transfer-Encoding": "chunked",
    "Trailer": "Lambda-Runtime-Function-Error-Type, Lambda-Runtime-Function-Error-Body",
}


def streamed(runtime, event: dict, **options):
    invocation = ScriptedInvocation(event=json.dumps(event).encode(), **options)
    return invocation, runtime.invoke(invocation)


def test_generator_streams_each_item_as_a_chunk_with_lambda_headers(start_runtime):
    invocation, reply = streamed(start_runtime("streaming_app.generator"), {})
    assert reply.path.endswith(f"{invocation.request_id}/response")
    for name, value in STREAMING_HEADERS.items():
        assert reply.header(name) == value
    assert reply.header("Content-Type") == "application/octet-stream"
    assert reply.chunked and reply.body == b"first second third"
    assert reply.trailers == []
    assert reply.header("Content-Length") is None


def test_first_chunk_reaches_lambda_before_the_handler_finishes(api, start_runtime, tmp_path):
    runtime = start_runtime("streaming_app.waits_between_chunks")
    go_file = tmp_path / "go"
    invocation = api.push(json.dumps({"go_file": str(go_file)}).encode())
    # The handler waits for this file after its first chunk: if the runtime buffered the
    # stream, the chunk would never arrive and this would time out.
    assert api.wait_for_chunks(invocation, 1) == [b"before the wait|"]
    go_file.touch()
    assert api.wait_for_reply(invocation).body == b"before the wait|after the wait"


def test_error_after_the_first_chunk_ends_the_stream_with_error_trailers(start_runtime):
    runtime = start_runtime("streaming_app.fails_mid_stream")
    invocation, reply = streamed(runtime, {})
    assert reply.body == b"partial output"
    assert reply.trailer("Lambda-Runtime-Function-Error-Type") == "RuntimeError"
    error = json.loads(base64.b64decode(reply.trailer("Lambda-Runtime-Function-Error-Body")))
    assert error["errorType"] == "RuntimeError" and error["errorMessage"] == "broke after the first chunk"
    assert error["requestId"] == invocation.request_id
    assert "in fails_mid_stream" in error["stackTrace"][-1]
    assert "[ERROR] RuntimeError: broke after the first chunk" in runtime.wait_for_output("[ERROR] RuntimeError")


def test_error_before_the_first_chunk_is_an_ordinary_invocation_error(api, start_runtime):
    runtime = start_runtime("streaming_app.fails_before_first_chunk")
    invocation, reply = streamed(runtime, {})
    assert reply.path.endswith(f"{invocation.request_id}/error")
    assert reply_json(reply)["errorType"] == "ValueError"
    assert [r.path.rsplit("/", 1)[1] for r in api.requests if r.request_id == invocation.request_id] == ["error"]


def test_yielding_something_other_than_bytes_or_str_fails_the_stream(start_runtime):
    _, reply = streamed(start_runtime("streaming_app.yields_a_dict"), {})
    assert reply.body == b"text first|"
    assert reply.trailer("Lambda-Runtime-Function-Error-Type") == "TypeError"


def test_http_response_first_sends_the_integration_prelude(start_runtime):
    _, reply = streamed(start_runtime("streaming_app.http_response"), {})
    assert reply.header("Content-Type") == "application/vnd.awslambda.http-integration-response"
    prelude, separator, body = reply.body.partition(b"\x00" * 8)
    assert json.loads(prelude) == {"statusCode": 201, "headers": {"content-type": "text/plain"}, "cookies": ["session=abc"]}
    assert body == b"created"


def test_async_generator_streams_on_the_runtime_event_loop(start_runtime):
    _, reply = streamed(start_runtime("streaming_app.async_generator"), {})
    assert reply.body == b"async parts"


def test_explicit_stream_api_sets_content_type_writes_and_ends(start_runtime):
    _, reply = streamed(start_runtime("streaming_app.explicit"), {})
    assert reply.header("Content-Type") == "text/csv"
    assert reply.body == b"a,b\n1,2\n"


def test_explicit_stream_api_http_response_and_implicit_end(start_runtime):
    _, reply = streamed(start_runtime("streaming_app.explicit_http"), {})
    prelude, _, body = reply.body.partition(b"\x00" * 8)
    assert json.loads(prelude)["headers"] == {"content-type": "text/html"}
    assert body == b"<p>hi</p>"


def test_explicit_stream_api_with_an_async_handler(start_runtime):
    _, reply = streamed(start_runtime("streaming_app.explicit_async"), {})
    assert reply.body == b"async explicit"


def test_invocation_id_is_echoed_on_the_stream(start_runtime):
    _, reply = streamed(start_runtime("streaming_app.generator"), {}, invocation_id="inv-9")
    assert reply.header("Lambda-Runtime-Invocation-Id") == "inv-9"


def test_streams_and_plain_responses_share_the_keep_alive_connection(api, start_runtime):
    runtime = start_runtime("streaming_app.generator")
    bodies = [streamed(runtime, {"parts": [f"p{i}", "|end"]})[1].body for i in range(5)]
    assert bodies == [f"p{i}|end".encode() for i in range(5)]
    assert api.connection_count == 1


def test_empty_generator_sends_an_empty_stream(start_runtime):
    _, reply = streamed(start_runtime("streaming_app.generator"), {"parts": []})
    assert reply.chunked and reply.body == b""
