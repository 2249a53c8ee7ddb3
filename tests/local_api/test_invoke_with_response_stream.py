"""InvokeWithResponseStream (emulator.md, "Invoke API"): boto3's invoke_with_response_stream
against a real ``lamina serve``, reading the ``application/vnd.amazon.eventstream`` answer
event by event as lamina's runtime streams it.

A handler that waits does so for a file the test creates once it has read the first
PayloadChunk: were the stream buffered anywhere (runtime, engine, Invoke API), that chunk
would never come and the test would fail — no timing involved."""

from __future__ import annotations

import base64
import io
import json
import os
import time
import zipfile
from pathlib import Path

import pytest
from botocore.exceptions import ClientError
from conftest import FUNCTIONS, create_function, unique_name, zip_directory

LAMBDARIC_BOOTSTRAP = Path(__file__).resolve().parents[1] / "local" / "layers" / "awslambdaric" / "bootstrap"


def stream(client, name: str, event: object = None, **options):
    return client.invoke_with_response_stream(FunctionName=name, Payload=json.dumps(event or {}).encode(), **options)


def alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
        return "State:\tZ" not in Path(f"/proc/{pid}/status").read_text()
    except (ProcessLookupError, FileNotFoundError):
        return False


def eventually(condition, timeout: float = 15.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "condition not met"
        time.sleep(0.05)


@pytest.fixture(scope="module")
def gated(client) -> str:
    return create_function(client, "streaming.gated", Timeout=60)


def test_boto3_reads_the_stream_chunk_by_chunk_the_first_before_the_handler_finishes(client, gated, tmp_path):
    go = tmp_path / "go"
    response = stream(client, gated, {"go": str(go)})
    assert response["StatusCode"] == 200 and response["ExecutedVersion"] == "$LATEST"
    assert response["ResponseStreamContentType"] == "application/octet-stream"
    assert response["ResponseMetadata"]["RequestId"]
    events = iter(response["EventStream"])
    first = next(events)
    assert first["PayloadChunk"]["Payload"].startswith(b"first pid=")
    go.touch()  # only now may the handler go on
    rest = list(events)
    assert rest == [
        {"PayloadChunk": {"Payload": b"second|"}},
        {"PayloadChunk": {"Payload": b"third"}},
        {"InvokeComplete": {}},
    ]


def test_the_stream_s_content_type_is_the_http_content_type(client):
    response = stream(client, create_function(client, "streaming.csv"))
    assert response["ResponseStreamContentType"] == "text/csv"
    assert list(response["EventStream"]) == [
        {"PayloadChunk": {"Payload": b"a,b\n"}},
        {"PayloadChunk": {"Payload": b"1,2\n"}},
        {"InvokeComplete": {}},
    ]


def test_a_mid_stream_error_ends_with_invoke_complete_error_code_and_details(client):
    response = stream(client, create_function(client, "streaming.fails_mid_stream"))
    assert response["StatusCode"] == 200
    assert list(response["EventStream"]) == [
        {"PayloadChunk": {"Payload": b"partial|"}},
        {"InvokeComplete": {"ErrorCode": "RuntimeError", "ErrorDetails": "broke mid-stream"}},
    ]


def test_an_error_before_the_first_byte_is_only_invoke_complete(client):
    response = stream(client, create_function(client, "streaming.fails_before_first_chunk"))
    assert response["ResponseStreamContentType"] == "application/json"
    assert list(response["EventStream"]) == [
        {"InvokeComplete": {"ErrorCode": "ValueError", "ErrorDetails": "failed before streaming"}},
    ]


def test_log_type_tail_puts_the_log_in_invoke_complete(client):
    response = stream(client, create_function(client, "streaming.prints_and_streams"), LogType="Tail")
    *chunks, complete = list(response["EventStream"])
    log = base64.b64decode(complete["InvokeComplete"]["LogResult"]).decode()
    request_id = response["ResponseMetadata"]["RequestId"]
    assert chunks == [{"PayloadChunk": {"Payload": b"done"}}]
    assert f"streaming for {request_id}" in log
    assert f"START RequestId: {request_id} Version: $LATEST" in log
    assert log.splitlines()[-1].startswith(f"REPORT RequestId: {request_id}\tDuration: ")


def test_a_buffered_handler_answers_as_one_chunk_with_client_context_and_qualifier(client):
    name = create_function(client, "app.client_context")
    context = base64.b64encode(json.dumps({"custom": {"k": "v"}}).encode()).decode()
    response = stream(client, name, ClientContext=context, Qualifier="$LATEST")
    assert response["ResponseStreamContentType"] == "application/json"
    [chunk, complete] = list(response["EventStream"])
    assert json.loads(chunk["PayloadChunk"]["Payload"])["custom"] == {"k": "v"}
    assert complete == {"InvokeComplete": {}}


def test_awslambdaric_which_cannot_stream_answers_through_the_streaming_route(client):
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        info = zipfile.ZipInfo("bootstrap")
        info.external_attr = 0o100755 << 16
        archive.writestr(info, LAMBDARIC_BOOTSTRAP.read_bytes())
    layer = client.publish_layer_version(LayerName=unique_name("ric"), Content={"ZipFile": buffer.getvalue()})

    def with_awslambdaric(handler: str) -> str:
        name = unique_name("ric")
        client.create_function(
            FunctionName=name, Runtime="provided.al2023", Role="arn:aws:iam::123456789012:role/test", Handler=handler,
            Code={"ZipFile": zip_directory(FUNCTIONS)}, Layers=[layer["LayerVersionArn"]],
        )
        return name

    response = stream(client, with_awslambdaric("app.echo"), {"from": "awslambdaric"})
    assert list(response["EventStream"]) == [
        {"PayloadChunk": {"Payload": b'{"from": "awslambdaric"}'}},
        {"InvokeComplete": {}},
    ]
    failing = stream(client, with_awslambdaric("app.fails"))
    assert list(failing["EventStream"]) == [{"InvokeComplete": {"ErrorCode": "ValueError", "ErrorDetails": "boom"}}]


def test_a_client_that_disconnects_mid_stream_resets_the_environment(server, tmp_path):
    client = server.client()
    name = create_function(client, "streaming.gated", Timeout=60)
    go = tmp_path / "go"
    response = stream(client, name, {"go": str(go)})
    first = next(iter(response["EventStream"]))["PayloadChunk"]["Payload"]
    pid = int(first.split(b"pid=")[1].rstrip(b"|"))
    response["EventStream"].close()  # the client goes away; the handler is still waiting
    eventually(lambda: not alive(pid))
    server.wait_for_line(lambda line: f"{name} | REPORT" in line and "Error Type: Client.Disconnected" in line)
    go.touch()
    again = list(stream(client, name, {"go": str(go)})["EventStream"])
    assert again[-1] == {"InvokeComplete": {}}
    assert int(again[0]["PayloadChunk"]["Payload"].split(b"pid=")[1].rstrip(b"|")) != pid
    assert not any("Traceback" in line for line in server.errors), "\n".join(server.errors)


def test_a_stream_over_the_limit_is_cut_with_response_size_too_large(client):
    megabyte = 1 << 20
    response = stream(client, create_function(client, "streaming.chunks_of", Timeout=60), {"chunks": 21, "size": megabyte})
    events = list(response["EventStream"])
    received = sum(len(e["PayloadChunk"]["Payload"]) for e in events if "PayloadChunk" in e)
    assert received <= 20 * megabyte
    assert events[-1] == {"InvokeComplete": {
        "ErrorCode": "Function.ResponseSizeTooLarge",
        "ErrorDetails": f"Response payload size exceeded maximum allowed payload size ({20 * megabyte} bytes).",
    }}


# -- service errors, as Invoke's ------------------------------------------------------------


def test_dry_run_is_204_and_runs_nothing(client, gated):
    response = client.invoke_with_response_stream(FunctionName=gated, InvocationType="DryRun")
    assert response["StatusCode"] == 204


def test_unknown_function_is_resource_not_found(client):
    with pytest.raises(client.exceptions.ResourceNotFoundException):
        stream(client, "no-such-function")


def test_event_invocations_are_not_streamed(client, gated):
    with pytest.raises(ClientError) as refused:
        client.invoke_with_response_stream(FunctionName=gated, InvocationType="Event")
    assert refused.value.response["Error"]["Code"] == "ValidationException"


def test_reserved_concurrency_zero_is_too_many_requests(client):
    name = create_function(client, "streaming.csv")
    client.put_function_concurrency(FunctionName=name, ReservedConcurrentExecutions=0)
    with pytest.raises(client.exceptions.TooManyRequestsException):
        stream(client, name)


def test_payloads_over_six_megabytes_and_invalid_json_are_refused(client, gated):
    with pytest.raises(ClientError) as too_large:
        client.invoke_with_response_stream(FunctionName=gated, Payload=b"[" + b"1," * 3_200_000 + b"1]")
    assert too_large.value.response["Error"]["Code"] == "RequestEntityTooLargeException"
    assert too_large.value.response["ResponseMetadata"]["HTTPStatusCode"] == 413
    with pytest.raises(client.exceptions.InvalidRequestContentException):
        client.invoke_with_response_stream(FunctionName=gated, Payload=b"{not json")
