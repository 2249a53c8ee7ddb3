"""Function URLs: an HTTP endpoint per function that turns a request into a payload-2.0
event and the function's answer into an HTTP response (emulator.md "Function URLs").

Locally each function URL is served on a loopback port of its own
(``http://127.0.0.1:PORT/``), so that paths reach the function unchanged and SigV4
signatures (which cover the Host header) verify as they would on AWS.
"""

from __future__ import annotations

import base64
import datetime
import hashlib
import hmac
import json
import secrets
import string
import time
import uuid
from dataclasses import dataclass, field
from typing import Any, Awaitable, Callable
from urllib.parse import parse_qsl, quote

from aiohttp import web

from lamina.local.functions import (
    ACCOUNT_ID,
    REGION,
    FunctionNotFound,
    InvocationRequest,
    InvocationResult,
    StreamedInvocation,
    Throttled,
)
from lamina.local.response_streams import chunks_while_connected

INVOKE_MODES = ("BUFFERED", "RESPONSE_STREAM")
AUTH_TYPES = ("NONE", "AWS_IAM")
MAXIMUM_REQUEST_BYTES = 6 * 1024 * 1024
HTTP_INTEGRATION_CONTENT_TYPE = "application/vnd.awslambda.http-integration-response"
PRELUDE_SEPARATOR = b"\x00" * 8
# Bodies of these types reach the function as text; all others base64-encoded, as on AWS.
_TEXT_CONTENT_TYPES = ("text/", "application/json", "application/javascript", "application/xml", "application/x-www-form-urlencoded")
_URL_ID_ALPHABET = string.ascii_lowercase + string.digits


@dataclass(frozen=True)
class Cors:
    """A function URL's CORS configuration (CreateFunctionUrlConfig's Cors)."""

    allow_origins: tuple[str, ...] = ()
    allow_methods: tuple[str, ...] = ()
    allow_headers: tuple[str, ...] = ()
    expose_headers: tuple[str, ...] = ()
    max_age: int | None = None
    allow_credentials: bool = False

    def allows_origin(self, origin: str) -> bool:
        return "*" in self.allow_origins or origin in self.allow_origins

    def response_headers(self, origin: str | None) -> dict[str, str]:
        if not origin or not self.allows_origin(origin):
            return {}
        headers = {"Access-Control-Allow-Origin": "*" if "*" in self.allow_origins and not self.allow_credentials else origin}
        if self.expose_headers:
            headers["Access-Control-Expose-Headers"] = ",".join(self.expose_headers)
        if self.allow_credentials:
            headers["Access-Control-Allow-Credentials"] = "true"
        return headers

    def preflight_headers(self, origin: str, method: str) -> dict[str, str] | None:
        if not self.allows_origin(origin):
            return None
        if self.allow_methods and "*" not in self.allow_methods and method.upper() not in self.allow_methods:
            return None
        headers = self.response_headers(origin)
        headers["Access-Control-Allow-Methods"] = ",".join(self.allow_methods or ("*",))
        if self.allow_headers:
            headers["Access-Control-Allow-Headers"] = ",".join(self.allow_headers)
        if self.max_age is not None:
            headers["Access-Control-Max-Age"] = str(self.max_age)
        return headers


@dataclass(frozen=True)
class FunctionUrlConfig:
    function_name: str
    qualifier: str | None = None
    auth_type: str = "NONE"
    invoke_mode: str = "BUFFERED"
    cors: Cors | None = None
    url_id: str = field(default_factory=lambda: "".join(secrets.choice(_URL_ID_ALPHABET) for _ in range(32)))

    def validate(self) -> None:
        if self.auth_type not in AUTH_TYPES:
            raise ValueError(f"AuthType {self.auth_type!r} is not one of {', '.join(AUTH_TYPES)}")
        if self.invoke_mode not in INVOKE_MODES:
            raise ValueError(f"InvokeMode {self.invoke_mode!r} is not one of {', '.join(INVOKE_MODES)}")


@dataclass(frozen=True)
class Credentials:
    """The credentials requests to AWS_IAM function URLs must be signed with."""

    access_key_id: str
    secret_access_key: str


InvokeFunction = Callable[[str, "str | None", InvocationRequest], Awaitable[InvocationResult]]
InvokeStreaming = Callable[[str, "str | None", InvocationRequest], Awaitable[StreamedInvocation]]


def payload_v2_event(request: web.Request, body: bytes, config: FunctionUrlConfig, request_id: str, authorizer: dict[str, Any] | None) -> dict[str, Any]:
    """The payload-2.0 event a function URL sends its function."""
    headers: dict[str, str] = {}
    cookies: list[str] = []
    for name, value in request.headers.items():
        lowered = name.lower()
        if lowered == "cookie":
            cookies.extend(part.strip() for part in value.split(";") if part.strip())
            continue
        headers[lowered] = f"{headers[lowered]},{value}" if lowered in headers else value
    now = time.time()
    host = request.host
    event: dict[str, Any] = {
        "version": "2.0",
        "routeKey": "$default",
        "rawPath": request.raw_path.split("?", 1)[0],
        "rawQueryString": request.query_string,
    }
    if cookies:
        event["cookies"] = cookies
    event["headers"] = headers
    query: dict[str, str] = {}
    for name, value in parse_qsl(request.query_string, keep_blank_values=True):
        query[name] = f"{query[name]},{value}" if name in query else value
    if query:
        event["queryStringParameters"] = query
    event["requestContext"] = {
        "accountId": "anonymous" if authorizer is None else ACCOUNT_ID,
        "apiId": config.url_id,
        "domainName": host,
        "domainPrefix": config.url_id,
        "http": {
            "method": request.method,
            "path": request.path,
            "protocol": f"HTTP/{request.version.major}.{request.version.minor}",
            "sourceIp": request.remote or "127.0.0.1",
            "userAgent": request.headers.get("User-Agent", ""),
        },
        "requestId": request_id,
        "routeKey": "$default",
        "stage": "$default",
        "time": time.strftime("%d/%b/%Y:%H:%M:%S +0000", time.gmtime(now)),
        "timeEpoch": int(now * 1000),
    }
    if authorizer is not None:
        event["requestContext"]["authorizer"] = authorizer
    if body:
        if _is_text(request.headers.get("Content-Type", "")):
            try:
                event["body"] = body.decode("utf-8")
                event["isBase64Encoded"] = False
            except UnicodeDecodeError:
                event["body"] = base64.b64encode(body).decode()
                event["isBase64Encoded"] = True
        else:
            event["body"] = base64.b64encode(body).decode()
            event["isBase64Encoded"] = True
    else:
        event["isBase64Encoded"] = False
    return event


def _is_text(content_type: str) -> bool:
    media_type = content_type.split(";", 1)[0].strip().lower()
    return media_type.startswith(_TEXT_CONTENT_TYPES) or media_type.endswith(("+json", "+xml"))


@dataclass
class HttpAnswer:
    status: int
    headers: list[tuple[str, str]]
    body: bytes


def http_answer_from_result(payload: bytes) -> HttpAnswer:
    """Maps a function's answer to HTTP as function URLs do: a dict with ``statusCode`` is a
    response (status, headers, cookies, body, isBase64Encoded); any other JSON value is a
    200 ``application/json`` response with that JSON as its body."""
    try:
        answer = json.loads(payload)
    except ValueError:
        return HttpAnswer(200, [("Content-Type", "application/json")], payload)
    if not isinstance(answer, dict) or "statusCode" not in answer:
        return HttpAnswer(200, [("Content-Type", "application/json")], payload)
    headers = [(str(k), str(v)) for k, v in (answer.get("headers") or {}).items()]
    if not any(name.lower() == "content-type" for name, _ in headers):
        headers.append(("Content-Type", "application/json"))
    headers += [("Set-Cookie", str(cookie)) for cookie in answer.get("cookies") or []]
    body = answer.get("body")
    if body is None:
        data = b""
    elif answer.get("isBase64Encoded"):
        data = base64.b64decode(body)
    else:
        data = body.encode() if isinstance(body, str) else json.dumps(body).encode()
    return HttpAnswer(int(answer["statusCode"]), headers, data)


class SignatureError(Exception):
    """A request to an AWS_IAM function URL that is not signed with the local credentials."""


def verify_sigv4(request: web.Request, body: bytes, credentials: Credentials, region: str = REGION) -> dict[str, Any]:
    """Checks the request's AWS Signature Version 4 (service ``lambda``) against the local
    credentials; returns the event's ``authorizer.iam`` block. Raises SignatureError."""
    authorization = request.headers.get("Authorization", "")
    if not authorization.startswith("AWS4-HMAC-SHA256 "):
        raise SignatureError("missing SigV4 Authorization header")
    fields = dict(part.strip().split("=", 1) for part in authorization[len("AWS4-HMAC-SHA256 "):].split(","))
    try:
        access_key, date, signed_region, service, terminator = fields["Credential"].split("/")
        signed_headers = fields["SignedHeaders"].split(";")
        signature = fields["Signature"]
    except (KeyError, ValueError):
        raise SignatureError("malformed Authorization header") from None
    if access_key != credentials.access_key_id:
        raise SignatureError("unknown access key")
    if (signed_region, service, terminator) != (region, "lambda", "aws4_request"):
        raise SignatureError("credential scope is not this region's lambda service")
    amz_date = request.headers.get("X-Amz-Date", "")
    if not amz_date.startswith(date):
        raise SignatureError("X-Amz-Date does not match the credential scope")
    try:
        signed_at = datetime.datetime.strptime(amz_date, "%Y%m%dT%H%M%SZ").replace(tzinfo=datetime.timezone.utc)
    except ValueError:
        raise SignatureError("malformed X-Amz-Date") from None
    if abs((datetime.datetime.now(datetime.timezone.utc) - signed_at).total_seconds()) > 15 * 60:
        raise SignatureError("signature expired")
    payload_hash = request.headers.get("X-Amz-Content-Sha256") or hashlib.sha256(body).hexdigest()
    canonical_headers = "".join(f"{name}:{' '.join(request.headers.get(name, '').split())}\n" for name in signed_headers)
    canonical_request = "\n".join(
        [
            request.method,
            quote(request.path, safe="/-_.~"),
            _canonical_query(request.query_string),
            canonical_headers,
            ";".join(signed_headers),
            payload_hash,
        ]
    )
    scope = f"{date}/{region}/lambda/aws4_request"
    string_to_sign = "\n".join(["AWS4-HMAC-SHA256", amz_date, scope, hashlib.sha256(canonical_request.encode()).hexdigest()])
    key = ("AWS4" + credentials.secret_access_key).encode()
    for part in (date, region, "lambda", "aws4_request"):
        key = hmac.new(key, part.encode(), hashlib.sha256).digest()
    expected = hmac.new(key, string_to_sign.encode(), hashlib.sha256).hexdigest()
    if not hmac.compare_digest(expected, signature):
        raise SignatureError("signature does not match")
    return {
        "iam": {
            "accessKey": access_key,
            "accountId": ACCOUNT_ID,
            "callerId": access_key,
            "cognitoIdentity": None,
            "principalOrgId": None,
            "userArn": f"arn:aws:iam::{ACCOUNT_ID}:user/local",
            "userId": access_key,
        }
    }


def _canonical_query(query_string: str) -> str:
    pairs = parse_qsl(query_string, keep_blank_values=True)
    return "&".join(f"{quote(k, safe='-_.~')}={quote(v, safe='-_.~')}" for k, v in sorted(pairs))


def function_url_app(
    config: FunctionUrlConfig | Callable[[], FunctionUrlConfig],
    invoke: InvokeFunction,
    invoke_streaming: InvokeStreaming | None = None,
    credentials: Credentials | None = None,
    region: str = REGION,
) -> web.Application:
    """The aiohttp application serving one function URL. `config` may be a function that
    gives the current configuration, so that UpdateFunctionUrlConfig applies to the next
    request without restarting the server."""
    current_config = config if callable(config) else lambda: config

    async def handle(request: web.Request) -> web.StreamResponse:
        config = current_config()
        origin = request.headers.get("Origin")
        cors = config.cors
        if request.method == "OPTIONS" and cors and origin and "Access-Control-Request-Method" in request.headers:
            headers = cors.preflight_headers(origin, request.headers["Access-Control-Request-Method"])
            return web.Response(status=200, headers=headers or {})
        body = await _read_body(request)
        if body is None:
            return _json_error(413, "RequestEntityTooLargeException", "Request must be smaller than 6291456 bytes")
        authorizer = None
        if config.auth_type == "AWS_IAM":
            if credentials is None:
                return _json_error(403, "AccessDeniedException", "Forbidden")
            try:
                authorizer = verify_sigv4(request, body, credentials, region)
            except SignatureError:
                return web.json_response({"Message": "Forbidden"}, status=403, headers={"x-amzn-ErrorType": "AccessDeniedException"})
        request_id = str(uuid.uuid4())
        event = payload_v2_event(request, body, config, request_id, authorizer)
        invocation = InvocationRequest(payload=json.dumps(event).encode())
        cors_headers = cors.response_headers(origin) if cors else {}
        try:
            if config.invoke_mode == "RESPONSE_STREAM" and invoke_streaming is not None:
                streamed = await invoke_streaming(config.function_name, config.qualifier, invocation)
                if streamed.result is None or not streamed.result.function_error:
                    return await _stream(request, streamed, cors_headers)
                result = streamed.result  # failed before its first byte: as a buffered failure
            else:
                result = await invoke(config.function_name, config.qualifier, invocation)
        except Throttled:
            return web.json_response({"Message": "Rate Exceeded."}, status=429)
        except FunctionNotFound:  # deleted while the request was on its way
            return web.json_response({"Message": None}, status=404)
        if result.function_error:
            return web.Response(status=502, text="Internal Server Error", headers={"Content-Type": "text/plain", **cors_headers})
        answer = http_answer_from_result(result.payload)
        response = web.Response(status=answer.status, body=answer.body)
        for name, value in answer.headers:
            response.headers.add(name, value)
        response.headers.update(cors_headers)  # the URL's CORS settings win over the function's
        response.headers["x-amzn-RequestId"] = request_id
        return response

    app = web.Application(client_max_size=MAXIMUM_REQUEST_BYTES + 1)
    app.router.add_route("*", "/{path:.*}", handle)
    return app


async def _read_body(request: web.Request) -> bytes | None:
    """The request body, or None when it exceeds the 6 MB limit (read no further than that)."""
    data = bytearray()
    async for chunk in request.content.iter_chunked(65536):
        data += chunk
        if len(data) > MAXIMUM_REQUEST_BYTES:
            return None
    return bytes(data)


async def _stream(request: web.Request, invocation: StreamedInvocation, cors_headers: dict[str, str]) -> web.StreamResponse:
    """Relays a RESPONSE_STREAM invocation chunk by chunk. With the HTTP integration prelude,
    its status, headers and cookies become the response's; the body follows as it arrives.
    A client that goes away abandons the invocation (its environment is reset)."""
    started: list[web.StreamResponse] = []
    try:
        await _relay(request, invocation, cors_headers, started)
    except ConnectionError:
        pass  # the client went away: nobody is left to answer
    finally:
        await invocation.aclose()
    return started[0] if started else web.Response(status=499)


async def _relay(
    request: web.Request, invocation: StreamedInvocation, cors_headers: dict[str, str], started: list[web.StreamResponse]
) -> None:
    chunks = chunks_while_connected(invocation.chunks, request).__aiter__()
    status, headers, pending = 200, [("Content-Type", invocation.content_type)], b""
    if invocation.content_type == HTTP_INTEGRATION_CONTENT_TYPE:
        prelude = b""
        async for chunk in chunks:
            prelude += chunk
            if PRELUDE_SEPARATOR in prelude:
                break
        head, _, pending = prelude.partition(PRELUDE_SEPARATOR)
        answer = http_answer_from_result(head) if head else HttpAnswer(200, [], b"")
        status, headers = answer.status, answer.headers
    response = web.StreamResponse(status=status)
    for name, value in headers:
        response.headers.add(name, value)
    response.headers.update(cors_headers)
    response.enable_chunked_encoding()
    started.append(response)
    await response.prepare(request)
    if pending:
        await response.write(pending)
    async for chunk in chunks:
        await response.write(chunk)
    await response.write_eof()


def _json_error(status: int, error_type: str, message: str) -> web.Response:
    return web.json_response({"Type": "User", "message": message}, status=status, headers={"x-amzn-ErrorType": error_type})
