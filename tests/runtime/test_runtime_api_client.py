"""The Runtime API client (lamina._core.RuntimeApiClient) against a scripted Runtime API on real
sockets, and the native bench driver serving the no-Python floor runtime built on it."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

import lamina._core
from lamina._core import Invocation, RuntimeApiClient, RuntimeApiError
from lamina.testing.runtime_api import ScriptedInvocation, ScriptedRuntimeApi

SECONDS = 10  # an error path that takes longer than this is a hang


@pytest.fixture
def api():
    with ScriptedRuntimeApi() as server:
        yield server


@pytest.fixture
def client(api) -> RuntimeApiClient:
    return RuntimeApiClient(api.address)


def within(seconds: float, call, *args, **kwargs):
    """``call(*args)`` on a helper thread, failing the test if it blocks longer than ``seconds``."""
    outcome: dict = {}

    def run() -> None:
        try:
            outcome["value"] = call(*args, **kwargs)
        except BaseException as error:  # noqa: BLE001 - handed back to the test
            outcome["error"] = error

    worker = threading.Thread(target=run, daemon=True)
    worker.start()
    worker.join(seconds)
    if worker.is_alive():
        pytest.fail(f"{getattr(call, '__name__', call)} still blocked after {seconds} s")
    if "error" in outcome:
        raise outcome["error"]
    return outcome["value"]


def next_fails(client: RuntimeApiClient) -> str:
    with pytest.raises(RuntimeApiError) as raised:
        within(SECONDS, client.next)
    return str(raised.value)


# --- next ----------------------------------------------------------------------------------


def test_next_returns_the_event_and_every_lambda_header(api, client):
    scripted = api.push(
        ScriptedInvocation(
            event=b'{"length": 6, "width": 7}',
            deadline_ms=1_900_000_000_123,
            client_context='{"custom": {"a": 1}}',
            cognito_identity='{"cognitoIdentityId": "id", "cognitoIdentityPoolId": "pool"}',
            tenant_id="tenant-7",
            invocation_id="invocation-42",
        )
    )
    invocation = client.next()
    assert invocation.request_id == scripted.request_id
    assert invocation.body == b'{"length": 6, "width": 7}'
    assert invocation.deadline_ms == 1_900_000_000_123
    assert invocation.invoked_function_arn == scripted.invoked_function_arn
    assert invocation.trace_id == scripted.trace_id
    assert invocation.client_context == '{"custom": {"a": 1}}'
    assert invocation.cognito_identity == '{"cognitoIdentityId": "id", "cognitoIdentityPoolId": "pool"}'
    assert invocation.tenant_id == "tenant-7"
    assert invocation.invocation_id == "invocation-42"
    assert invocation.content_type == "application/json"


def test_headers_lambda_did_not_send_are_none(api, client):
    api.push(ScriptedInvocation(invoked_function_arn=None, trace_id=None, content_type=None))
    invocation = client.next()
    assert (invocation.invoked_function_arn, invocation.trace_id, invocation.content_type) == (None, None, None)
    assert (invocation.client_context, invocation.cognito_identity, invocation.tenant_id, invocation.invocation_id) == (
        None, None, None, None)


def test_lambda_headers_are_read_whatever_their_case(api, client):
    api.push(ScriptedInvocation(raw_next=(
        b"HTTP/1.1 200 OK\r\nlambda-runtime-aws-request-id: lower\r\nLAMBDA-RUNTIME-DEADLINE-MS: 123\r\n"
        b"lambda-Runtime-trace-ID: Root=1\r\nlambda-runtime-invocation-id: inv\r\ncontent-TYPE: text/plain\r\n"
        b"content-length: 2\r\n\r\nhi")))
    invocation = within(SECONDS, client.next)
    assert (invocation.request_id, invocation.deadline_ms, invocation.trace_id) == ("lower", 123, "Root=1")
    assert (invocation.invocation_id, invocation.content_type, invocation.body) == ("inv", "text/plain", b"hi")


def test_a_deadline_that_is_not_a_number_is_none_not_a_crash(api, client):
    api.push(ScriptedInvocation(extra_headers=[("X", "y")], deadline_ms=None))
    assert isinstance(client.next().deadline_ms, int)
    api.push(ScriptedInvocation(raw_next=b"HTTP/1.1 200 OK\r\nLambda-Runtime-Aws-Request-Id: a\r\n"
                                         b"Lambda-Runtime-Deadline-Ms: soon\r\nContent-Length: 0\r\n\r\n"))
    assert within(SECONDS, client.next).deadline_ms is None


def test_a_chunked_event_is_reassembled(api, client):
    event = json.dumps({"records": list(range(2000))}).encode()
    api.push(ScriptedInvocation(event=event, chunked=True))
    assert client.next().body == event


@pytest.mark.parametrize("chunked", [False, True], ids=["content-length", "chunked"])
def test_a_six_megabyte_event_arrives_whole(api, client, chunked):
    event = b'{"data": "' + os.urandom(3 * 1024 * 1024).hex().encode() + b'"}'
    api.push(ScriptedInvocation(event=event, chunked=chunked))
    assert len(event) > 6 * 1024 * 1024
    assert within(SECONDS, client.next).body == event


def test_next_sends_the_user_agent_and_host(api, client):
    api.push(b"{}")
    client.next()
    request = api.wait_for_path("/invocation/next")
    assert request.header("User-Agent") == f"lamina/{lamina.__version__}"
    assert request.header("Host") == api.address


def test_500_on_next_raises_with_the_status_and_body(api, client):
    api.push(ScriptedInvocation(next_status=500, event=b'{"errorType":"Runtime.Fatal"}'))
    message = next_fails(client)
    assert "500" in message and '{"errorType":"Runtime.Fatal"}' in message
    assert "/2018-06-01/runtime/invocation/next" in message


def test_a_next_answer_without_a_request_id_raises(api, client):
    api.push(ScriptedInvocation(raw_next=b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\n{}"))
    assert "without a Lambda-Runtime-Aws-Request-Id header" in next_fails(client)


def test_runtime_api_error_is_a_runtime_error():
    assert issubclass(RuntimeApiError, RuntimeError)


# --- the connection -------------------------------------------------------------------------


def test_one_keep_alive_connection_carries_many_invocations(api, client):
    for number in range(50):
        api.push(b'{"n": %d}' % number)
        invocation = client.next()
        assert client.post_response(invocation, invocation.body, "application/json") == (202, b'{"status":"OK"}')
    assert api.connection_count == 1
    assert {request.connection_id for request in api.requests} == {1}
    assert len(api.requests) == 100


def test_the_connection_has_tcp_nodelay_set(api, client):
    api.push(b"{}")
    client.next()
    host, port = api.address.split(":")
    options = []
    for name in os.listdir("/proc/self/fd"):
        try:
            candidate = socket.socket(fileno=os.dup(int(name)))
        except OSError:
            continue
        with candidate:
            try:
                is_client_side = candidate.getpeername() == (host, int(port))
            except OSError:
                continue
            if is_client_side:
                options.append(candidate.getsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY))
    assert options and all(options)


def test_the_client_reconnects_when_the_server_closed_the_idle_connection(api, client):
    api.push(ScriptedInvocation(event=b"first", close_after_answer=True))
    first = client.next()
    assert client.post_response(first, b"1", "text/plain")[0] == 202
    api.push(b"second")
    assert within(SECONDS, client.next).body == b"second"
    assert api.connection_count == 2


def test_a_connection_closed_before_any_answer_byte_is_retried_once(api, client):
    api.push(ScriptedInvocation(raw_next=b""))  # the server closes without a word
    api.push(b"after the retry")
    assert within(SECONDS, client.next).body == b"after the retry"
    assert api.connection_count == 2


def test_a_connection_closed_before_answering_twice_in_a_row_raises(api, client):
    api.push(ScriptedInvocation(raw_next=b""))
    api.push(ScriptedInvocation(raw_next=b""))
    message = next_fails(client)
    assert "closed the connection before answering, again after reconnecting" in message


@pytest.mark.parametrize(
    "raw, says",
    [
        (b"HTTP/1.1 200 OK\r\nLambda-Runtime-Aws-Request-Id: x\r\nContent-Length: 100\r\n\r\n{\"trunc",
         "connection closed after 7 of 100 body bytes"),
        (b"HTTP/1.1 200 OK\r\nLambda-Runtime-Aws-Request-Id: x\r\nContent-Le", "connection closed in the middle of the message head"),
        (b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n10\r\nabc", "connection closed in a chunked body after 3 body bytes"),
        (b"SSH-2.0-OpenSSH_9.2\r\n\r\n", "malformed status line 'SSH-2.0-OpenSSH_9.2'"),
        (b"HTTP/1.1 200 OK\r\nBad Header\r\n\r\n", "malformed header line 'Bad Header' (no colon)"),
        (b"HTTP/1.1 200 OK\r\nContent-Length: 5\r\nContent-Length: 7\r\n\r\n", "conflicting Content-Length"),
        (b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nxyz\r\n", "invalid chunk size line 'xyz'"),
    ],
    ids=["truncated-body", "truncated-head", "closed-mid-chunk", "garbage-status-line", "garbage-header",
         "conflicting-length", "bad-chunk-size"],
)
def test_a_broken_answer_to_next_raises_a_clear_error_and_never_hangs(api, client, raw, says):
    api.push(ScriptedInvocation(raw_next=raw))
    message = next_fails(client)
    assert says in message
    assert "malformed answer to GET /2018-06-01/runtime/invocation/next" in message
    assert api.address in message


def test_after_a_broken_answer_the_next_call_starts_on_a_new_connection(api, client):
    api.push(ScriptedInvocation(raw_next=b"garbage\r\n\r\n"))
    next_fails(client)
    api.push(b"fine")
    assert within(SECONDS, client.next).body == b"fine"
    assert api.connection_count == 2


def test_nothing_listening_raises_a_clear_error():
    with socket.socket() as placeholder:
        placeholder.bind(("127.0.0.1", 0))
        port = placeholder.getsockname()[1]
    client = RuntimeApiClient(f"127.0.0.1:{port}")
    with pytest.raises(RuntimeApiError, match=f"cannot connect to the Runtime API at 127.0.0.1:{port}: Connection refused"):
        within(SECONDS, client.next)


@pytest.mark.parametrize(
    "address, says",
    [("127.0.0.1", "no ':port'"), ("127.0.0.1:", "port must be a number"), (":9001", "empty host"),
     ("127.0.0.1:99999", "port must be a number"), ("::1:9001", "IPv6 address must be in brackets"),
     ("[::1:9001", "'[' without ']'"), ("[::1]9001", "no ':port' after")],
)
def test_an_invalid_address_is_refused_when_the_client_is_made(address, says):
    with pytest.raises(RuntimeApiError, match=r"invalid Runtime API address") as raised:
        RuntimeApiClient(address)
    assert says in str(raised.value)


def test_a_host_name_is_resolved(api):
    client = RuntimeApiClient("localhost:" + api.address.split(":")[1])
    api.push(b"by name")
    assert within(SECONDS, client.next).body == b"by name"


def test_an_unknown_host_name_raises_a_clear_error():
    client = RuntimeApiClient("no-such-host.invalid:9001")
    with pytest.raises(RuntimeApiError, match="cannot resolve the Runtime API host 'no-such-host.invalid'"):
        within(SECONDS, client.next)


def test_a_bracketed_ipv6_address_connects():
    try:
        listener = socket.create_server(("::1", 0), family=socket.AF_INET6)
    except OSError:
        pytest.skip("no IPv6 loopback here")
    with listener:
        port = listener.getsockname()[1]

        def answer_once() -> None:
            connection, _ = listener.accept()
            with connection:
                connection.recv(65536)
                connection.sendall(b"HTTP/1.1 200 OK\r\nLambda-Runtime-Aws-Request-Id: v6\r\nContent-Length: 2\r\n\r\n{}")

        threading.Thread(target=answer_once, daemon=True).start()
        assert within(SECONDS, RuntimeApiClient(f"[::1]:{port}").next).request_id == "v6"


# --- posts ----------------------------------------------------------------------------------


def test_a_response_is_posted_with_its_content_type_and_echoes_the_invocation_id(api, client):
    api.push(ScriptedInvocation(invocation_id="inv-1"))
    invocation = client.next()
    assert client.post_response(invocation, b'{"area": 42}', "application/json") == (202, b'{"status":"OK"}')
    reply = api.wait_for_reply(invocation)
    assert reply.path == f"/2018-06-01/runtime/invocation/{invocation.request_id}/response"
    assert reply.body == b'{"area": 42}'
    assert reply.header("Content-Type") == "application/json"
    assert reply.header("Lambda-Runtime-Invocation-Id") == "inv-1"
    assert reply.header("User-Agent") == f"lamina/{lamina.__version__}"
    assert not reply.chunked


def test_without_an_invocation_id_none_is_echoed(api, client):
    api.push(b"{}")
    invocation = client.next()
    client.post_response(invocation, b"{}", "application/json")
    assert api.wait_for_reply(invocation).header("Lambda-Runtime-Invocation-Id") is None


def test_a_response_can_be_posted_by_request_id_and_from_any_buffer(api, client):
    invocation = api.push(b"{}")
    client.next()
    assert client.post_response(invocation.request_id, memoryview(bytearray(b"bytes")), "application/unknown")[0] == 202
    reply = api.wait_for_reply(invocation)
    assert (reply.body, reply.header("Content-Type")) == (b"bytes", "application/unknown")


def test_a_six_megabyte_response_is_posted_whole(api, client):
    api.push(b"{}")
    invocation = client.next()
    body = os.urandom(6 * 1024 * 1024)
    assert within(SECONDS, client.post_response, invocation, body, "application/octet-stream")[0] == 202
    assert api.wait_for_reply(invocation).body == body


def test_an_error_is_posted_with_its_type_xray_cause_and_invocation_id(api, client):
    api.push(ScriptedInvocation(invocation_id="inv-9"))
    invocation = client.next()
    error = b'{"errorMessage": "boom", "errorType": "ValueError", "requestId": "", "stackTrace": []}'
    cause = '{"working_directory": "/var/task", "exceptions": [], "paths": []}'
    assert client.post_error(invocation, error, "ValueError", cause) == (202, b'{"status":"OK"}')
    reply = api.wait_for_reply(invocation)
    assert reply.path.endswith(f"/invocation/{invocation.request_id}/error")
    assert reply.body == error
    assert reply.header("Content-Type") == "application/json"
    assert reply.header("Lambda-Runtime-Function-Error-Type") == "ValueError"
    assert reply.header("Lambda-Runtime-Function-XRay-Error-Cause") == cause
    assert reply.header("Lambda-Runtime-Invocation-Id") == "inv-9"


@pytest.mark.parametrize("cause", ["", "x" * (1024 * 1024)], ids=["empty", "one-mebibyte"])
def test_an_xray_cause_that_is_empty_or_1_mib_or_more_is_left_out(api, client, cause):
    invocation = api.push(b"{}")
    client.next()
    client.post_error(invocation.request_id, b"{}", "ValueError", cause)
    assert api.wait_for_reply(invocation).header("Lambda-Runtime-Function-XRay-Error-Cause") is None


def test_an_error_type_that_cannot_be_a_header_value_is_left_out_but_the_error_is_posted(api, client):
    invocation = api.push(b"{}")
    client.next()
    assert client.post_error(invocation.request_id, b'{"errorType": "Bad\\nType"}', "Bad\nType")[0] == 202
    reply = api.wait_for_reply(invocation)
    assert reply.header("Lambda-Runtime-Function-Error-Type") is None
    assert reply.body == b'{"errorType": "Bad\\nType"}'


@pytest.mark.parametrize(
    "status, body",
    [(410, b'{"errorMessage":"Invocation timed out","errorType":"InvocationGone"}'),
     (413, b'{"errorMessage":"Exceeded maximum allowed payload size (6291556 bytes).","errorType":"RequestEntityTooLarge"}'),
     (500, b'{"errorMessage":"Internal","errorType":"ServiceException"}'),
     (400, b'{"errorMessage":"Invalid request ID","errorType":"InvalidRequestID"}')],
)
def test_an_unhappy_answer_to_a_post_is_returned_not_raised(api, client, status, body):
    api.push(ScriptedInvocation(answer_status=status, answer_body=body))
    invocation = client.next()
    assert client.post_response(invocation, b"{}", "application/json") == (status, body)
    assert client.post_error(invocation, b"{}", "Boom") == (status, body)


def test_an_answer_sent_before_a_large_body_was_read_is_returned(tmp_path):
    # Lambda answers 413 to a body over its limit without reading all of it, then closes:
    # the client's send fails, but the answer is there to be read, and nothing is sent twice.
    too_large = b'{"errorMessage":"Exceeded maximum allowed payload size (6291556 bytes).","errorType":"RequestEntityTooLarge"}'
    listener = socket.create_server(("127.0.0.1", 0))
    requests_seen = []

    def answer_early() -> None:
        with listener:
            connection, _ = listener.accept()
            with connection:
                requests_seen.append(connection.recv(4096))
                connection.sendall(b"HTTP/1.1 413 Request Entity Too Large\r\nContent-Type: application/json\r\n"
                                   b"Content-Length: %d\r\nConnection: close\r\n\r\n%s" % (len(too_large), too_large))
                connection.shutdown(socket.SHUT_WR)
                time.sleep(0.2)  # then close with most of the body unread, which resets the connection

    threading.Thread(target=answer_early, daemon=True).start()
    client = RuntimeApiClient("127.0.0.1:%d" % listener.getsockname()[1])
    answer = within(SECONDS, client.post_response, "request-1", os.urandom(20 * 1024 * 1024), "application/json")
    assert answer == (413, too_large)
    assert len(requests_seen) == 1


def test_a_post_answered_with_garbage_raises_naming_the_request(api, client):
    api.push(ScriptedInvocation(raw_answer=b"HTTP/1.1 20"))
    invocation = client.next()
    with pytest.raises(RuntimeApiError) as raised:
        within(SECONDS, client.post_response, invocation, b"{}", "application/json")
    assert f"POST /2018-06-01/runtime/invocation/{invocation.request_id}/response" in str(raised.value)
    assert "connection closed in the middle of the message head" in str(raised.value)


def test_a_request_id_that_would_change_the_path_is_refused(client):
    with pytest.raises(RuntimeApiError, match="invalid request id"):
        client.post_response("../init/error", b"{}", "application/json")
    with pytest.raises(RuntimeApiError, match="invalid request id"):
        client.post_error("a b", b"{}", "Boom")


def test_an_init_error_is_posted_with_its_type(api, client):
    error = b'{"errorMessage": "Bad handler", "errorType": "Runtime.MalformedHandlerName", "requestId": "", "stackTrace": []}'
    assert client.post_init_error(error, "Runtime.MalformedHandlerName") == (202, b'{"status":"OK"}')
    request = api.wait_for_path("/runtime/init/error")
    assert request.body == error
    assert request.header("Lambda-Runtime-Function-Error-Type") == "Runtime.MalformedHandlerName"
    assert request.header("Content-Type") == "application/json"


def test_restore_next_and_a_restore_error_are_sent(api, client):
    assert client.restore_next() is None
    assert api.wait_for_path("/runtime/restore/next").method == "GET"
    assert client.post_restore_error(b'{"errorType": "Runtime.AfterRestoreError"}', "Runtime.AfterRestoreError")[0] == 202
    request = api.wait_for_path("/runtime/restore/error")
    assert request.header("Lambda-Runtime-Function-Error-Type") == "Runtime.AfterRestoreError"


def test_restore_next_answered_with_an_error_raises():
    with ScriptedRuntimeApi(restore_next_status=500) as api:
        with pytest.raises(RuntimeApiError, match="answered GET /2018-06-01/runtime/restore/next with 500"):
            within(SECONDS, RuntimeApiClient(api.address).restore_next)


# --- waiting in next: threads and signals ---------------------------------------------------


def test_other_threads_run_while_next_waits(api, client):
    ticks = 0
    stop = threading.Event()

    def tick() -> None:
        nonlocal ticks
        while not stop.is_set():
            ticks += 1
            time.sleep(0.001)

    ticker = threading.Thread(target=tick)
    ticker.start()
    threading.Timer(0.5, api.push, (b"{}",)).start()
    try:
        client.next()
    finally:
        stop.set()
        ticker.join()
    assert ticks > 50


def test_a_python_sigterm_handler_runs_while_next_waits(api, client):
    handled = []

    def on_sigterm(signum, frame) -> None:
        handled.append(signum)
        api.push(b"pushed by the handler")  # next can only return this if the handler ran during the wait

    previous = signal.signal(signal.SIGTERM, on_sigterm)
    watchdog = threading.Timer(SECONDS, api.push, (b"watchdog",))
    try:
        threading.Timer(0.3, os.kill, (os.getpid(), signal.SIGTERM)).start()
        watchdog.start()
        invocation = client.next()
    finally:
        watchdog.cancel()
        signal.signal(signal.SIGTERM, previous)
    assert handled == [signal.SIGTERM]
    assert invocation.body == b"pushed by the handler"


def test_a_signal_handler_that_raises_abandons_the_wait_and_the_client_goes_on(api, client):
    class ShuttingDown(Exception):
        pass

    def on_sigterm(signum, frame) -> None:
        raise ShuttingDown

    previous = signal.signal(signal.SIGTERM, on_sigterm)
    watchdog = threading.Timer(SECONDS, api.push, (b"watchdog",))
    try:
        threading.Timer(0.3, os.kill, (os.getpid(), signal.SIGTERM)).start()
        watchdog.start()
        with pytest.raises(ShuttingDown):
            client.next()
    finally:
        watchdog.cancel()
        signal.signal(signal.SIGTERM, previous)
    # The abandoned `next` is still waiting on the server and may take one of these.
    api.push(b"one")
    api.push(b"two")
    assert within(SECONDS, client.next).body in (b"one", b"two")
    assert api.connection_count == 2


# --- the native driver serving the floor runtime (this client, no Python) -------------------

BIN = Path(lamina._core.__file__).parent / "bin"
DRIVER = BIN / "runtime_api_driver"
FLOOR = BIN / "floor_runtime"


def drive(tmp_path: Path, *options: str, payload: bytes = b'{"length":6,"width":7}',
          runtime: list[str] | None = None) -> tuple[int, dict]:
    payload_file = tmp_path / "payload.json"
    payload_file.write_bytes(payload)
    command = [str(DRIVER), "--payload", str(payload_file), "--json", "--timeout", "20", *options,
               "--", *(runtime or [str(FLOOR)])]
    finished = subprocess.run(command, capture_output=True, timeout=120)
    return finished.returncode, json.loads(finished.stdout)


def test_the_driver_serves_the_floor_runtime_and_reports_json(tmp_path):
    (tmp_path / "expect.json").write_bytes(b'{"length":6,"width":7}')
    status, report = drive(tmp_path, "--count", "300", "--warmup", "20", "--expect", str(tmp_path / "expect.json"))
    assert status == 0, report
    assert report["mode"] == "throughput"
    assert report["runtime"] == [str(FLOOR)]
    assert (report["payload_bytes"], report["warmup"], report["count"], report["completed"]) == (22, 20, 300, 300)
    assert (report["errors"], report["mismatches"], report["error_posts"], report["protocol_errors"]) == (0, 0, 0, 0)
    assert report["first_error"] is None
    assert report["outcome"] == "ok"
    assert report["cold_start_us"] > 0
    assert report["invocations_per_second"] > 0
    latency = report["latency_us"]
    assert 0 < latency["p50"] <= latency["p90"] <= latency["p99"] <= latency["max"]
    assert report["peak_rss_kb"] > 0
    assert report["runtime_exit"] == {"status": "signaled", "code": None, "signal": signal.SIGTERM}


def test_the_driver_compares_json_ignoring_whitespace_outside_strings(tmp_path):
    (tmp_path / "spaced.json").write_bytes(b'{ "length" : 6,\n  "width": 7 }\n')
    status, report = drive(tmp_path, "--count", "20", "--expect", str(tmp_path / "spaced.json"))
    assert (status, report["errors"]) == (0, 0)
    status, report = drive(tmp_path, "--count", "20", "--expect", str(tmp_path / "spaced.json"), "--compare", "bytes")
    assert (status, report["mismatches"]) == (1, 20)


def test_the_driver_counts_responses_that_differ_and_names_the_first(tmp_path):
    (tmp_path / "expect.json").write_bytes(b'{"length":6,"width":8}')
    status, report = drive(tmp_path, "--count", "30", "--expect", str(tmp_path / "expect.json"))
    assert status == 1
    assert (report["completed"], report["mismatches"], report["errors"], report["outcome"]) == (30, 30, 30, "errors")
    assert "differ from --expect at byte 20" in report["first_error"]
    assert """expected '{"length":6,"width":8}', got '{"length":6,"width":7}'""" in report["first_error"]


def test_the_driver_counts_error_posts(tmp_path):
    runtime = [sys.executable, "-c", (
        "import os; from lamina._core import RuntimeApiClient\n"
        "client = RuntimeApiClient(os.environ['AWS_LAMBDA_RUNTIME_API'])\n"
        "while True:\n"
        "    invocation = client.next()\n"
        "    client.post_error(invocation, b'{\"errorMessage\": \"boom\"}', 'Handler.Boom')\n")]
    status, report = drive(tmp_path, "--count", "10", runtime=runtime)
    assert status == 1
    assert (report["error_posts"], report["errors"]) == (10, 10)
    assert "posted /error (Lambda-Runtime-Function-Error-Type: Handler.Boom)" in report["first_error"]


def test_the_driver_survives_a_runtime_that_exits_early_and_reports_it(tmp_path):
    status, report = drive(tmp_path, "--count", "10", runtime=[sys.executable, "-c", "import sys; sys.exit(3)"])
    assert status == 1
    assert report["outcome"] == "runtime_exited"
    assert report["runtime_exit"] == {"status": "exited", "code": 3, "signal": None}
    assert report["first_error"] == "the runtime exited with status 3 after 0 of 10 invocations"


def test_the_driver_reports_a_runtime_that_cannot_start(tmp_path):
    status, report = drive(tmp_path, "--count", "10", runtime=[str(tmp_path / "missing")])
    assert (status, report["outcome"]) == (1, "spawn_failed")
    assert "No such file or directory" in report["first_error"]


def test_the_driver_gives_the_runtime_the_lambda_environment_and_headers(tmp_path):
    check = (
        "import json, os, re, time\n"
        "from lamina._core import RuntimeApiClient\n"
        "client = RuntimeApiClient(os.environ['AWS_LAMBDA_RUNTIME_API'])\n"
        "seen = set()\n"
        "while True:\n"
        "    invocation = client.next()\n"
        "    facts = {key: os.environ.get(key) for key in ('AWS_LAMBDA_FUNCTION_NAME', 'AWS_LAMBDA_FUNCTION_MEMORY_SIZE',\n"
        "             'AWS_LAMBDA_FUNCTION_VERSION', 'AWS_LAMBDA_LOG_GROUP_NAME', 'LAMBDA_TASK_ROOT', 'EXTRA')}\n"
        "    facts['stream'] = bool(re.fullmatch(r'\\d{4}/\\d\\d/\\d\\d/\\[\\$LATEST\\][0-9a-f]{32}', os.environ['AWS_LAMBDA_LOG_STREAM_NAME']))\n"
        "    facts['unique_id'] = invocation.request_id not in seen and bool(re.fullmatch(r'[0-9a-f-]{36}', invocation.request_id))\n"
        "    seen.add(invocation.request_id)\n"
        "    facts['arn'] = invocation.invoked_function_arn\n"
        "    facts['trace'] = invocation.trace_id.startswith('Root=1-')\n"
        "    facts['deadline'] = 0 < invocation.deadline_ms - time.time() * 1000 <= 60_000\n"
        "    facts['content_type'] = invocation.content_type\n"
        "    client.post_response(invocation, json.dumps(facts).encode(), 'application/json')\n")
    expected = {"AWS_LAMBDA_FUNCTION_NAME": "checker", "AWS_LAMBDA_FUNCTION_MEMORY_SIZE": "256",
                "AWS_LAMBDA_FUNCTION_VERSION": "$LATEST", "AWS_LAMBDA_LOG_GROUP_NAME": "/aws/lambda/checker",
                "LAMBDA_TASK_ROOT": "/var/task", "EXTRA": "yes", "stream": True, "unique_id": True,
                "arn": "arn:aws:lambda:us-east-1:123456789012:function:checker", "trace": True, "deadline": True,
                "content_type": "application/vnd.test+json"}
    (tmp_path / "expect.json").write_text(json.dumps(expected))
    os.environ["LAMBDA_TASK_ROOT"] = "/var/task"
    try:
        status, report = drive(tmp_path, "--count", "5", "--expect", str(tmp_path / "expect.json"),
                               "--function-name", "checker", "--memory-mb", "256", "--function-timeout", "60",
                               "--env", "EXTRA=yes", "--content-type", "application/vnd.test+json",
                               runtime=[sys.executable, "-c", check])
    finally:
        del os.environ["LAMBDA_TASK_ROOT"]
    assert (status, report["errors"]) == (0, 0), report["first_error"]


def test_the_driver_measures_cold_starts_over_several_spawns(tmp_path):
    status, report = drive(tmp_path, "--cold-starts", "3")
    assert status == 0, report
    assert (report["mode"], report["runs"], report["completed_runs"], report["errors"]) == ("cold_starts", 3, 3, 0)
    cold = report["cold_start_us"]
    assert len(cold["all"]) == 3
    assert 0 < cold["min"] <= cold["median"] <= cold["max"]
    assert report["peak_rss_kb"]["max"] > 0


def test_the_driver_explains_itself():
    finished = subprocess.run([str(DRIVER), "--help"], capture_output=True, text=True, timeout=30)
    assert finished.returncode == 0
    for option in ("--payload", "--count", "--warmup", "--expect", "--content-type", "--json", "--cold-starts"):
        assert option in finished.stdout
    finished = subprocess.run([str(DRIVER), "--count", "5", "--", "x"], capture_output=True, text=True, timeout=30)
    assert finished.returncode == 2
    assert "--payload FILE is required" in finished.stderr
