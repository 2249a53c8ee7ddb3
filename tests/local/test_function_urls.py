"""Function URLs (emulator.md "Function URLs"): payload-2.0 events, response mapping, CORS,
AWS_IAM with SigV4 signed by botocore, the 6 MB limit, and RESPONSE_STREAM relaying.

The URL app is served on a real loopback port; the function behind it is a scripted invoke
function here (the execution environments have their own tests)."""

from __future__ import annotations

import asyncio
import base64
import json

import aiohttp
import pytest
from aiohttp.test_utils import TestServer
from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials as BotocoreCredentials

from lamina.local.function_urls import (
    Cors,
    Credentials,
    FunctionUrlConfig,
    StreamedInvocation,
    function_url_app,
    http_answer_from_result,
)
from lamina.local.functions import InvocationRequest, InvocationResult, Throttled

LOCAL_CREDENTIALS = Credentials("AKIALOCALTESTKEY0001", "local-secret")


class EchoEventFunction:
    """Answers with what `answer` computes from the event it received."""

    def __init__(self, answer=lambda event: {"statusCode": 200, "body": json.dumps(event)}) -> None:
        self.answer = answer
        self.events: list[dict] = []

    async def invoke(self, name: str, qualifier: str | None, request: InvocationRequest) -> InvocationResult:
        event = json.loads(request.payload)
        self.events.append(event)
        outcome = self.answer(event)
        if isinstance(outcome, Exception):
            raise outcome
        if outcome == "error":
            return InvocationResult("r", b'{"errorType":"ValueError","errorMessage":"boom"}', "$LATEST", function_error="Unhandled")
        return InvocationResult("r", json.dumps(outcome).encode(), "$LATEST")


def serve(config: FunctionUrlConfig, function: EchoEventFunction, **options):
    async def scenario(client_steps):
        server = TestServer(function_url_app(config, function.invoke, **options), host="127.0.0.1")
        await server.start_server()
        try:
            async with aiohttp.ClientSession() as session:
                return await client_steps(session, str(server.make_url("")).rstrip("/"))
        finally:
            await server.close()

    return scenario


def test_request_becomes_a_payload_v2_event():
    function = EchoEventFunction()

    async def steps(session, url):
        async with session.post(
            url + "/orders/7?expand=items&expand=lines&limit=5",
            data=b'{"qty": 2}',
            headers={"Content-Type": "application/json", "Cookie": "session=abc; theme=dark", "X-Custom": "1"},
        ) as response:
            return response.status

    assert asyncio.run(serve(FunctionUrlConfig("orders"), function)(steps)) == 200
    [event] = function.events
    assert event["version"] == "2.0" and event["routeKey"] == "$default"
    assert event["rawPath"] == "/orders/7"
    assert event["rawQueryString"] == "expand=items&expand=lines&limit=5"
    assert event["queryStringParameters"] == {"expand": "items,lines", "limit": "5"}
    assert event["cookies"] == ["session=abc", "theme=dark"]
    assert event["headers"]["x-custom"] == "1" and "cookie" not in event["headers"]
    assert event["body"] == '{"qty": 2}' and event["isBase64Encoded"] is False
    context = event["requestContext"]
    assert context["http"]["method"] == "POST" and context["http"]["path"] == "/orders/7"
    assert context["http"]["protocol"] == "HTTP/1.1" and context["http"]["sourceIp"] == "127.0.0.1"
    assert context["stage"] == "$default" and context["routeKey"] == "$default"
    assert context["timeEpoch"] > 0 and context["time"].endswith(" +0000")
    assert context["domainPrefix"] == context["apiId"]


def test_binary_body_is_base64_encoded():
    function = EchoEventFunction()

    async def steps(session, url):
        async with session.put(url + "/upload", data=b"\x00\xffbinary", headers={"Content-Type": "application/octet-stream"}):
            pass

    asyncio.run(serve(FunctionUrlConfig("f"), function)(steps))
    assert function.events[0]["isBase64Encoded"] is True
    assert base64.b64decode(function.events[0]["body"]) == b"\x00\xffbinary"


def test_response_with_status_code_headers_and_cookies():
    answer = {"statusCode": 201, "headers": {"Content-Type": "text/plain", "X-Id": "9"}, "cookies": ["a=1", "b=2"], "body": "made"}
    function = EchoEventFunction(lambda event: answer)

    async def steps(session, url):
        async with session.get(url + "/") as response:
            return response.status, response.headers.getall("Set-Cookie"), response.headers["X-Id"], await response.text()

    status, cookies, header, text = asyncio.run(serve(FunctionUrlConfig("f"), function)(steps))
    assert (status, cookies, header, text) == (201, ["a=1", "b=2"], "9", "made")


@pytest.mark.parametrize("answer", [{"message": "hi"}, [1, 2], "plain string", 42])
def test_any_other_json_is_a_200_json_body(answer):
    http = http_answer_from_result(json.dumps(answer).encode())
    assert http.status == 200 and ("Content-Type", "application/json") in http.headers
    assert json.loads(http.body) == answer


def test_base64_response_body_is_decoded():
    http = http_answer_from_result(json.dumps({"statusCode": 200, "body": base64.b64encode(b"\x00\x01").decode(), "isBase64Encoded": True}).encode())
    assert http.body == b"\x00\x01"


def test_function_error_is_a_502():
    async def steps(session, url):
        async with session.get(url + "/") as response:
            return response.status

    assert asyncio.run(serve(FunctionUrlConfig("f"), EchoEventFunction(lambda event: "error"))(steps)) == 502


def test_throttled_function_is_a_429():
    async def steps(session, url):
        async with session.get(url + "/") as response:
            return response.status

    throttled = EchoEventFunction(lambda event: Throttled("ReservedFunctionConcurrentInvocationLimitExceeded", "Rate Exceeded."))
    assert asyncio.run(serve(FunctionUrlConfig("f"), throttled)(steps)) == 429


def test_cors_preflight_and_response_headers():
    cors = Cors(allow_origins=("https://shop.example",), allow_methods=("GET", "POST"), allow_headers=("x-custom",),
                expose_headers=("x-id",), max_age=300, allow_credentials=True)

    async def steps(session, url):
        async with session.options(url + "/", headers={"Origin": "https://shop.example", "Access-Control-Request-Method": "POST"}) as preflight:
            allowed = dict(preflight.headers)
        async with session.options(url + "/", headers={"Origin": "https://evil.example", "Access-Control-Request-Method": "POST"}) as refused:
            refused_headers = dict(refused.headers)
        async with session.get(url + "/", headers={"Origin": "https://shop.example"}) as response:
            actual = dict(response.headers)
        return allowed, refused_headers, actual

    allowed, refused, actual = asyncio.run(serve(FunctionUrlConfig("f", cors=cors), EchoEventFunction())(steps))
    assert allowed["Access-Control-Allow-Origin"] == "https://shop.example"
    assert allowed["Access-Control-Allow-Methods"] == "GET,POST"
    assert allowed["Access-Control-Allow-Headers"] == "x-custom"
    assert allowed["Access-Control-Max-Age"] == "300"
    assert allowed["Access-Control-Allow-Credentials"] == "true"
    assert "Access-Control-Allow-Origin" not in refused
    assert actual["Access-Control-Allow-Origin"] == "https://shop.example"
    assert actual["Access-Control-Expose-Headers"] == "x-id"


def signed_headers(url: str, method: str, body: bytes, secret: str = LOCAL_CREDENTIALS.secret_access_key) -> dict:
    request = AWSRequest(method=method, url=url, data=body, headers={"Content-Type": "application/json"})
    SigV4Auth(BotocoreCredentials(LOCAL_CREDENTIALS.access_key_id, secret), "lambda", "us-east-1").add_auth(request)
    return dict(request.headers.items())


@pytest.mark.parametrize(
    ("how", "status"),
    [("signed", 200), ("unsigned", 403), ("wrong secret", 403), ("tampered body", 403)],
)
def test_aws_iam_requires_a_sigv4_signature_with_the_local_credentials(how, status):
    function = EchoEventFunction()

    async def steps(session, url):
        target = url + "/private/path?b=2&a=1"
        body = b'{"x": 1}'
        headers = {
            "signed": lambda: signed_headers(target, "POST", body),
            "unsigned": lambda: {"Content-Type": "application/json"},
            "wrong secret": lambda: signed_headers(target, "POST", body, secret="not-the-secret"),
            "tampered body": lambda: signed_headers(target, "POST", b'{"x": 2}'),
        }[how]()
        async with session.post(target, data=body, headers=headers) as response:
            return response.status

    config = FunctionUrlConfig("f", auth_type="AWS_IAM")
    assert asyncio.run(serve(config, function, credentials=LOCAL_CREDENTIALS)(steps)) == status
    if status == 200:
        assert function.events[0]["requestContext"]["authorizer"]["iam"]["accessKey"] == LOCAL_CREDENTIALS.access_key_id
    else:
        assert function.events == []


def test_request_over_six_megabytes_is_refused():
    function = EchoEventFunction()

    async def steps(session, url):
        async with session.post(url + "/", data=b"x" * (6 * 1024 * 1024 + 1)) as response:
            return response.status

    assert asyncio.run(serve(FunctionUrlConfig("f"), function)(steps)) == 413
    assert function.events == []


def test_response_stream_relays_the_prelude_and_each_chunk_as_it_arrives():
    first_chunk_seen = asyncio.Event()

    async def chunks():
        yield json.dumps({"statusCode": 207, "headers": {"Content-Type": "text/plain"}, "cookies": ["s=1"]}).encode() + b"\x00" * 8
        yield b"first|"
        # The client must have the first chunk before the function goes on: no buffering.
        await asyncio.wait_for(first_chunk_seen.wait(), 10)
        yield b"second"

    async def invoke_streaming(name, qualifier, request):
        return StreamedInvocation("application/vnd.awslambda.http-integration-response", chunks())

    async def steps(session, url):
        async with session.get(url + "/") as response:
            first = await response.content.readexactly(len(b"first|"))
            first_chunk_seen.set()
            rest = await response.content.read()
            return response.status, response.headers["Content-Type"], response.headers.getall("Set-Cookie"), first + rest

    config = FunctionUrlConfig("f", invoke_mode="RESPONSE_STREAM")
    status, content_type, cookies, body = asyncio.run(serve(config, EchoEventFunction(), invoke_streaming=invoke_streaming)(steps))
    assert (status, content_type, cookies, body) == (207, "text/plain", ["s=1"], b"first|second")


@pytest.mark.parametrize("field", [{"auth_type": "SOMETIMES"}, {"invoke_mode": "TURBO"}])
def test_invalid_url_configs_are_refused(field):
    with pytest.raises(ValueError):
        FunctionUrlConfig("f", **field).validate()
