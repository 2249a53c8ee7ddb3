"""The Invoke API (emulator.md, "Invoke API"): boto3 against a real ``lamina serve``."""

from __future__ import annotations

import base64
import http.client
import json
import socket
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from urllib.parse import urlsplit

import pytest
from conftest import create_function, invoke_json

SYNC_LIMIT = 6_291_456
ASYNC_LIMIT = 1_048_576


@pytest.fixture(scope="module")
def echo(server) -> str:
    return create_function(server.client(), "app.echo")


def raw_request(url: str, method: str, path: str, body: bytes = b"", headers: dict[str, str] | None = None):
    """One request with http.client, for what boto3 cannot send (chunked bodies, bad headers)."""
    parts = urlsplit(url)
    connection = http.client.HTTPConnection(parts.hostname, parts.port, timeout=60)
    connection.request(method, path, body=body, headers=headers or {})
    response = connection.getresponse()
    answer = response.status, dict(response.getheaders()), response.read()
    connection.close()
    return answer


# -- RequestResponse ----------------------------------------------------------------------------


def test_request_response_returns_200_the_result_and_the_executed_version(client, echo):
    response, result = invoke_json(client, echo, {"greeting": "hi", "n": [1, 2]})
    assert response["StatusCode"] == 200
    assert result == {"greeting": "hi", "n": [1, 2]}
    assert response["ExecutedVersion"] == "$LATEST"
    assert "FunctionError" not in response
    headers = response["ResponseMetadata"]["HTTPHeaders"]
    assert headers["content-type"] == "application/json"
    assert response["ResponseMetadata"]["RequestId"]


def test_an_invocation_without_payload_gets_an_empty_object(client, echo):
    response = client.invoke(FunctionName=echo)
    assert json.loads(response["Payload"].read()) == {}


def test_function_name_may_be_a_name_with_qualifier_an_arn_or_a_partial_arn(client, echo):
    arn = f"arn:aws:lambda:us-east-1:123456789012:function:{echo}"
    for name, qualifier in [(f"{echo}:$LATEST", None), (arn, None), (f"{arn}:$LATEST", None),
                            (f"123456789012:function:{echo}", None), (echo, "$LATEST")]:
        options = {"Qualifier": qualifier} if qualifier else {}
        response, result = invoke_json(client, name, {"via": name}, **options)
        assert result == {"via": name}, name
        assert response["ExecutedVersion"] == "$LATEST"


def test_the_invoked_arn_carries_the_qualifier_the_caller_used(client):
    name = create_function(client, "app.context_fields", MemorySize=256)
    _, plain = invoke_json(client, name)
    _, qualified = invoke_json(client, f"{name}:$LATEST")
    assert plain["invoked_function_arn"] == f"arn:aws:lambda:us-east-1:123456789012:function:{name}"
    assert qualified["invoked_function_arn"] == f"arn:aws:lambda:us-east-1:123456789012:function:{name}:$LATEST"
    assert plain["memory_limit_in_mb"] == "256" and plain["function_name"] == name


def test_a_qualifier_that_contradicts_the_name_is_refused(client, echo):
    with pytest.raises(client.exceptions.InvalidParameterValueException, match="derived qualifier"):
        client.invoke(FunctionName=f"{echo}:$LATEST", Qualifier="7")


def test_unknown_function_is_resource_not_found(client):
    with pytest.raises(client.exceptions.ResourceNotFoundException) as raised:
        client.invoke(FunctionName="no-such-function", Payload=b"{}")
    error = raised.value.response
    assert error["ResponseMetadata"]["HTTPStatusCode"] == 404
    assert error["Error"]["Message"] == "Function not found: arn:aws:lambda:us-east-1:123456789012:function:no-such-function"


def test_unknown_qualifier_is_resource_not_found(client, echo):
    with pytest.raises(client.exceptions.ResourceNotFoundException, match=f"function:{echo}:7"):
        client.invoke(FunctionName=echo, Qualifier="7")


def test_function_error_is_200_with_unhandled_and_the_error_json(client):
    name = create_function(client, "app.fails")
    response, error = invoke_json(client, name)
    assert response["StatusCode"] == 200
    assert response["FunctionError"] == "Unhandled"
    assert error["errorType"] == "ValueError" and error["errorMessage"] == "boom"
    assert response["ExecutedVersion"] == "$LATEST"


def test_timeout_is_200_unhandled_sandbox_timedout(client):
    name = create_function(client, "app.sleeps", Timeout=1)
    response, error = invoke_json(client, name, {"seconds": 3})
    assert response["FunctionError"] == "Unhandled"
    assert error["errorType"] == "Sandbox.Timedout"
    assert error["errorMessage"].endswith("Error: Task timed out after 1.00 seconds")
    assert error["errorMessage"].startswith("RequestId: ")


def test_the_function_content_type_is_passed_through(client):
    name = create_function(client, "app.returns_bytes")
    response = client.invoke(FunctionName=name)
    assert response["Payload"].read() == b"\x00raw"
    assert response["ResponseMetadata"]["HTTPHeaders"]["content-type"] == "application/unknown"


def test_request_id_header_is_the_invocation_request_id(client):
    name = create_function(client, "app.sleeps")
    response, result = invoke_json(client, name, {"seconds": 0})
    assert response["ResponseMetadata"]["RequestId"] == result["request_id"]


# -- Tail logs ----------------------------------------------------------------------------------


def test_log_type_tail_returns_the_invocation_log_base64(client):
    name = create_function(client, "app.echo")
    response = client.invoke(FunctionName=name, Payload=b"{}", LogType="Tail")
    log = base64.b64decode(response["LogResult"]).decode()
    request_id = response["ResponseMetadata"]["RequestId"]
    assert f"START RequestId: {request_id} Version: $LATEST" in log
    assert f"END RequestId: {request_id}" in log
    assert f"REPORT RequestId: {request_id}\tDuration: " in log
    assert "LogResult" not in client.invoke(FunctionName=name, Payload=b"{}")


def test_tail_log_is_the_last_4_kb(client):
    name = create_function(client, "app.logs_a_lot")
    response = client.invoke(FunctionName=name, Payload=b'{"lines": 500}', LogType="Tail")
    log = base64.b64decode(response["LogResult"])
    assert len(log) <= 4096
    assert b"REPORT RequestId" in log and b"line 0499" in log and b"line 0000" not in log


# -- client context -----------------------------------------------------------------------------


def test_client_context_reaches_context_client_context(client):
    name = create_function(client, "app.client_context")
    context = {"custom": {"user": "ana", "n": 3}, "env": {"locale": "pt"}, "client": {"app_title": "tests"}}
    encoded = base64.b64encode(json.dumps(context).encode()).decode()
    _, result = invoke_json(client, name, ClientContext=encoded)
    assert result == {"custom": {"user": "ana", "n": 3}, "env": {"locale": "pt"}, "app_title": "tests"}
    _, without = invoke_json(client, name)
    assert without is None


def test_client_context_that_is_not_base64_json_is_refused(client, echo):
    for value in ["not base64!", base64.b64encode(b"not json").decode(), base64.b64encode(b"[1]").decode()]:
        with pytest.raises(client.exceptions.InvalidRequestContentException, match="Client context must be a valid Base64-encoded JSON object"):
            client.invoke(FunctionName=echo, ClientContext=value)


def test_client_context_over_3583_bytes_is_refused(client, echo):
    encoded = base64.b64encode(json.dumps({"custom": {"x": "y" * 2700}}).encode()).decode()
    assert len(encoded) > 3583
    with pytest.raises(client.exceptions.InvalidRequestContentException, match="3583"):
        client.invoke(FunctionName=echo, ClientContext=encoded)
    fitting = base64.b64encode(json.dumps({"custom": {"x": "y" * 2600}}).encode()).decode()
    assert len(fitting) <= 3583
    assert client.invoke(FunctionName=echo, ClientContext=fitting)["StatusCode"] == 200


# -- Event and DryRun ---------------------------------------------------------------------------


def test_event_returns_202_at_once_and_the_function_runs(client, tmp_path):
    name = create_function(client, "app.records_event")
    marker = tmp_path / "event.json"
    response = client.invoke(FunctionName=name, InvocationType="Event", Payload=json.dumps({"path": str(marker)}).encode())
    assert response["StatusCode"] == 202
    assert response["Payload"].read() == b""
    deadline = time.monotonic() + 20
    while not marker.exists() and time.monotonic() < deadline:
        time.sleep(0.05)
    recorded = json.loads(marker.read_text())
    assert recorded["event"] == {"path": str(marker)}
    assert recorded["request_id"] == response["ResponseMetadata"]["RequestId"]


def test_event_does_not_wait_for_the_function(client):
    name = create_function(client, "app.sleeps", Timeout=10)
    started = time.monotonic()
    response = client.invoke(FunctionName=name, InvocationType="Event", Payload=b'{"seconds": 3}')
    assert response["StatusCode"] == 202
    assert time.monotonic() - started < 2


def test_throttled_events_are_queued_and_all_run(client, tmp_path):
    name = create_function(client, "app.records_event")
    client.put_function_concurrency(FunctionName=name, ReservedConcurrentExecutions=1)
    markers = [tmp_path / f"event-{number}.json" for number in range(4)]
    for marker in markers:
        assert client.invoke(FunctionName=name, InvocationType="Event", Payload=json.dumps({"path": str(marker)}).encode())["StatusCode"] == 202
    deadline = time.monotonic() + 30
    while not all(marker.exists() for marker in markers) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert all(marker.exists() for marker in markers)


def test_event_for_an_unknown_function_is_resource_not_found(client, echo):
    with pytest.raises(client.exceptions.ResourceNotFoundException):
        client.invoke(FunctionName="no-such-function", InvocationType="Event", Payload=b"{}")
    with pytest.raises(client.exceptions.ResourceNotFoundException):
        client.invoke(FunctionName=echo, Qualifier="7", InvocationType="Event", Payload=b"{}")


def test_dry_run_returns_204_and_runs_nothing(server, client, tmp_path):
    name = create_function(client, "app.records_event")
    marker = tmp_path / "dry.json"
    response = client.invoke(FunctionName=name, InvocationType="DryRun", Payload=json.dumps({"path": str(marker)}).encode())
    assert response["StatusCode"] == 204
    time.sleep(0.5)
    assert not marker.exists()
    with pytest.raises(client.exceptions.ResourceNotFoundException):
        client.invoke(FunctionName="no-such-function", InvocationType="DryRun")
    with pytest.raises(client.exceptions.ResourceNotFoundException):
        client.invoke(FunctionName=name, Qualifier="7", InvocationType="DryRun")


# -- request errors -----------------------------------------------------------------------------


def test_body_that_is_not_json_is_invalid_request_content(client, echo):
    with pytest.raises(client.exceptions.InvalidRequestContentException) as raised:
        client.invoke(FunctionName=echo, Payload=b"value")
    assert raised.value.response["ResponseMetadata"]["HTTPStatusCode"] == 400
    assert raised.value.response["Error"]["Message"].startswith("Could not parse request body into json: ")
    for not_json in [b'{"a": 1', b"NaN", b"\xff\xfe", b'{"a": 1} trailing']:
        with pytest.raises(client.exceptions.InvalidRequestContentException):
            client.invoke(FunctionName=echo, Payload=not_json)


def test_error_answers_have_lambdas_wire_shape(server, echo):
    status, headers, body = raw_request(server.url, "POST", "/2015-03-31/functions/no-such-function/invocations", b"{}")
    assert status == 404
    assert headers["x-amzn-ErrorType"] == "ResourceNotFoundException"
    assert json.loads(body) == {
        "Type": "User", "Message": "Function not found: arn:aws:lambda:us-east-1:123456789012:function:no-such-function"
    }
    status, headers, body = raw_request(server.url, "POST", f"/2015-03-31/functions/{echo}/invocations", b"value")
    assert (status, headers["x-amzn-ErrorType"], json.loads(body)["Type"]) == (400, "InvalidRequestContentException", "User")
    assert "message" in json.loads(body)


def test_unknown_invocation_type_is_refused(server, echo):
    status, headers, _ = raw_request(
        server.url, "POST", f"/2015-03-31/functions/{echo}/invocations", b"{}", {"X-Amz-Invocation-Type": "Later"}
    )
    assert (status, headers["x-amzn-ErrorType"]) == (400, "ValidationException")


def test_payload_over_6_mb_is_request_entity_too_large(client, echo):
    payload = b'"' + b"x" * (SYNC_LIMIT - 1) + b'"'
    assert len(payload) == SYNC_LIMIT + 1
    with pytest.raises(client.exceptions.ClientError) as raised:
        client.invoke(FunctionName=echo, Payload=payload)
    error = raised.value.response
    assert error["ResponseMetadata"]["HTTPStatusCode"] == 413
    assert error["Error"]["Code"] == "RequestEntityTooLargeException"
    assert error["Error"]["Message"] == "Request must be smaller than 6291456 bytes for the InvokeFunction operation"


def test_payload_of_exactly_6_mb_is_accepted(client, echo):
    payload = b'"' + b"x" * (SYNC_LIMIT - 2) + b'"'
    response = client.invoke(FunctionName=echo, Payload=payload)
    assert response["StatusCode"] == 200 and "FunctionError" not in response
    assert response["Payload"].read() == payload


def test_event_payload_over_1_mb_is_request_entity_too_large(client, echo):
    payload = b'"' + b"x" * ASYNC_LIMIT + b'"'
    with pytest.raises(client.exceptions.ClientError) as raised:
        client.invoke(FunctionName=echo, InvocationType="Event", Payload=payload)
    assert raised.value.response["Error"]["Code"] == "RequestEntityTooLargeException"
    assert "smaller than 1048576 bytes" in raised.value.response["Error"]["Message"]


def test_oversized_chunked_body_is_refused_without_reading_it_whole(server, echo):
    """No Content-Length: the server stops keeping the body at the limit and answers 413."""
    parts = urlsplit(server.url)
    connection = http.client.HTTPConnection(parts.hostname, parts.port, timeout=60)
    chunk = b"x" * (1 << 20)

    def body():
        yield b'"'
        for _ in range(64):  # 64 MB, far over the limit
            yield chunk

    connection.request("POST", f"/2015-03-31/functions/{echo}/invocations", body=body(), encode_chunked=True)
    response = connection.getresponse()
    assert response.status == 413
    assert response.getheader("x-amzn-ErrorType") == "RequestEntityTooLargeException"
    connection.close()


def test_expect_100_continue_with_an_oversized_body_is_refused_before_it_is_sent(server, echo):
    parts = urlsplit(server.url)
    with socket.create_connection((parts.hostname, parts.port), timeout=10) as connection:
        connection.sendall(
            f"POST /2015-03-31/functions/{echo}/invocations HTTP/1.1\r\nHost: {parts.netloc}\r\n"
            f"Content-Length: {SYNC_LIMIT + 1}\r\nExpect: 100-continue\r\n\r\n".encode()
        )
        answer = connection.recv(65536).decode()
    assert answer.startswith("HTTP/1.1 413 ")
    assert "x-amzn-ErrorType: RequestEntityTooLargeException" in answer


def test_expect_100_continue_with_a_fitting_body_continues(server, echo):
    parts = urlsplit(server.url)
    body = b'{"continued": 12345678901234567890123456789012345678901234567890}'
    with socket.create_connection((parts.hostname, parts.port), timeout=10) as connection:
        connection.sendall(
            f"POST /2015-03-31/functions/{echo}/invocations HTTP/1.1\r\nHost: {parts.netloc}\r\n"
            f"Content-Length: {len(body)}\r\nExpect: 100-continue\r\nConnection: close\r\n\r\n".encode()
        )
        assert connection.recv(65536).startswith(b"HTTP/1.1 100 Continue\r\n\r\n")
        connection.sendall(body)
        answer = b""
        while chunk := connection.recv(65536):
            answer += chunk
    assert answer.startswith(b"HTTP/1.1 200 OK")
    assert answer.endswith(body.replace(b" ", b""))


def test_the_server_keeps_serving_after_a_413(client, echo):
    with pytest.raises(client.exceptions.ClientError):
        client.invoke(FunctionName=echo, Payload=b"[" + b"1," * SYNC_LIMIT + b"1]")
    assert invoke_json(client, echo, {"after": "413"})[1] == {"after": "413"}


# -- throttling ---------------------------------------------------------------------------------


def _invoke_in_parallel(client, name: str, count: int, seconds: float) -> list:
    """`count` synchronous invocations started together; each outcome, or the exception."""
    barrier = threading.Barrier(count)

    def call(_):
        barrier.wait()
        try:
            return client.invoke(FunctionName=name, Payload=json.dumps({"seconds": seconds}).encode())
        except Exception as error:  # noqa: BLE001 - the outcome is what the test checks
            return error

    with ThreadPoolExecutor(count) as pool:
        return list(pool.map(call, range(count)))


def test_reserved_concurrency_throttles_with_429(server):
    client = server.client(max_pool_connections=4)
    name = create_function(client, "app.sleeps", Timeout=10)
    client.put_function_concurrency(FunctionName=name, ReservedConcurrentExecutions=1)
    outcomes = _invoke_in_parallel(client, name, 2, 1.5)
    throttled = [outcome for outcome in outcomes if isinstance(outcome, client.exceptions.TooManyRequestsException)]
    answered = [outcome for outcome in outcomes if isinstance(outcome, dict)]
    assert len(throttled) == 1 and len(answered) == 1, outcomes
    error = throttled[0].response
    assert error["ResponseMetadata"]["HTTPStatusCode"] == 429
    assert error["Reason"] == "ReservedFunctionConcurrentInvocationLimitExceeded"
    assert error["Error"]["Message"] == "Rate Exceeded."
    assert answered[0]["StatusCode"] == 200


def test_reserved_concurrency_zero_throttles_every_invocation(client):
    name = create_function(client, "app.echo")
    client.put_function_concurrency(FunctionName=name, ReservedConcurrentExecutions=0)
    with pytest.raises(client.exceptions.TooManyRequestsException) as raised:
        client.invoke(FunctionName=name)
    assert raised.value.response["Reason"] == "ReservedFunctionConcurrentInvocationLimitExceeded"
    client.delete_function_concurrency(FunctionName=name)
    assert client.invoke(FunctionName=name)["StatusCode"] == 200


def test_service_concurrency_throttles_with_429(start_server):
    server = start_server("--concurrency", "1")
    client = server.client(max_pool_connections=4)
    name = create_function(client, "app.sleeps", Timeout=10)
    outcomes = _invoke_in_parallel(client, name, 2, 1.5)
    throttled = [outcome for outcome in outcomes if isinstance(outcome, client.exceptions.TooManyRequestsException)]
    assert len(throttled) == 1, outcomes
    assert throttled[0].response["Reason"] == "ConcurrentInvocationLimitExceeded"


def test_concurrent_invocations_run_in_parallel(server):
    client = server.client(max_pool_connections=8)
    name = create_function(client, "app.sleeps", Timeout=10)
    invoke_json(client, name, {"seconds": 0})  # one warm environment; the others start cold
    started = time.monotonic()
    outcomes = _invoke_in_parallel(client, name, 4, 1.0)
    elapsed = time.monotonic() - started
    assert all(isinstance(outcome, dict) and outcome["StatusCode"] == 200 for outcome in outcomes), outcomes
    assert elapsed < 3.5, f"4 invocations of 1 s took {elapsed:.1f} s"
    assert len({json.loads(outcome["Payload"].read())["request_id"] for outcome in outcomes}) == 4


def test_unknown_route_is_unknown_operation(server):
    status, headers, _ = raw_request(server.url, "GET", "/2099-01-01/nothing")
    assert (status, headers["x-amzn-ErrorType"]) == (404, "UnknownOperationException")


def test_names_that_do_not_match_lambdas_pattern_are_refused(server):
    status, headers, _ = raw_request(server.url, "POST", "/2015-03-31/functions/bad%20name/invocations", b"{}")
    assert (status, headers["x-amzn-ErrorType"]) == (400, "ValidationException")


