"""The Invoke API (2015-03-31) as boto3 and the AWS CLI call it:
``POST /2015-03-31/functions/{FunctionName}/invocations[?Qualifier=]``.

Synchronous (``RequestResponse``, 200), asynchronous (``Event``, 202, committed to the durable
event queue of :mod:`lamina.local.async_invocations` before the answer) and ``DryRun`` (204)
invocations; the function's failures in the
body with ``X-Amz-Function-Error: Unhandled``; the service's own refusals (404, 413, 429, ...)
in Lambda's error shape (service_errors).

``POST /2021-11-15/functions/{FunctionName}/response-streaming-invocations``
(InvokeWithResponseStream, 200) relays the function's response as it is produced, in the
``application/vnd.amazon.eventstream`` framing (:mod:`lamina.local.eventstream`): a
``PayloadChunk`` event per chunk, then ``InvokeComplete`` with the error and the log tail."""

from __future__ import annotations

import asyncio
import base64
import binascii
import json
import logging
import re
import uuid
from typing import TYPE_CHECKING, Any

from aiohttp import web

from lamina.local import eventstream
from lamina.local.functions import (
    ACCOUNT_ID, REGION, FunctionNotFound, InvocationRequest, InvocationResult, StreamedInvocation, Throttled,
)
from lamina.local.response_streams import chunks_while_connected
from lamina.local.service_errors import ServiceError, invalid_parameter, not_found, too_large, validation_error

if TYPE_CHECKING:
    from lamina.local.async_invocations import AsyncInvocations
    from lamina.local.service import LocalLambda

logger = logging.getLogger(__name__)

SYNC_PAYLOAD_LIMIT = 6_291_456  # 6 MB: Invoke's request limit
ASYNC_PAYLOAD_LIMIT = 1_048_576  # 1 MB: Event invocations (botocore's documentation of Invoke)
CLIENT_CONTEXT_LIMIT = 3583  # bytes of base64 text
INVOCATION_TYPES = ("RequestResponse", "Event", "DryRun")
STREAMING_INVOCATION_TYPES = ("RequestResponse", "DryRun")
LOG_TYPES = ("None", "Tail")

# A name, a partial ARN (123456789012:function:name) or a full ARN, each optionally with
# ":qualifier" (botocore's NamespacedFunctionName pattern).
_FUNCTION_NAME = re.compile(
    r"(?:arn:aws[a-zA-Z-]*:lambda:[a-z0-9-]+:\d{12}:function:|\d{12}:function:)?"
    r"(?P<name>[a-zA-Z0-9_.-]+)(?::(?P<qualifier>\$LATEST(?:\.PUBLISHED)?|[a-zA-Z0-9_-]+))?"
)
_FUNCTION_NAME_PATTERN = (
    r"(arn:(aws[a-zA-Z-]*)?:lambda:)?([a-z]{2}((-gov)|(-iso([a-z]?)))?-[a-z]+-\d{1}:)?(\d{12}:)?"
    r"(function:)?([a-zA-Z0-9-_\.]+)(:(\$LATEST(\.PUBLISHED)?|[a-zA-Z0-9-_]+))?"
)


def parse_function_name(function_name: str, qualifier: str | None = None) -> tuple[str, str | None]:
    """(name, qualifier) from a name, ``name:qualifier`` or an ARN, and the Qualifier parameter."""
    match = _FUNCTION_NAME.fullmatch(function_name)
    if match is None or len(function_name) > 256 or (function_name == match["name"] and len(function_name) > 64):
        raise validation_error(
            function_name, "functionName", f"Member must satisfy regular expression pattern: {_FUNCTION_NAME_PATTERN}"
        )
    derived = match["qualifier"]
    if derived is not None and qualifier is not None and derived != qualifier:
        raise invalid_parameter("The derived qualifier from the function name does not match the specified qualifier.")
    return match["name"], derived if derived is not None else qualifier


async def read_body(request: web.Request, limit: int, operation: str) -> bytes:
    """The request body, refused (413) as soon as it is known to exceed `limit` bytes: by its
    Content-Length before reading anything, or while reading a chunked one. The rest of an
    oversized body is dropped by the server as it arrives, never kept."""
    if request.content_length is not None and request.content_length > limit:
        raise too_large(limit, operation)
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.content.iter_chunked(1 << 16):
        size += len(chunk)
        if size > limit:
            raise too_large(limit, operation)
        chunks.append(chunk)
    return b"".join(chunks)


def _ignore_number(text: str) -> None:
    return None


def _reject_constant(name: str) -> None:
    raise ValueError(f"Unrecognized token '{name}'")


def check_json_payload(payload: bytes) -> None:
    """Lambda refuses a payload that is not JSON before any function runs."""
    try:
        # Numbers are checked, not built: a 6 MB array of them is cheaper, and digits beyond
        # Python's int conversion limit are still JSON.
        json.loads(payload, parse_constant=_reject_constant, parse_int=_ignore_number, parse_float=_ignore_number)
    except UnicodeDecodeError as error:
        raise _unparsable(f"Invalid UTF-8 start byte 0x{payload[error.start]:02x} at byte {error.start}") from None
    except json.JSONDecodeError as error:
        raise _unparsable(f"{error.msg}: line {error.lineno}, column {error.colno}") from None
    except (ValueError, RecursionError) as error:
        raise _unparsable(str(error) or type(error).__name__) from None


def _unparsable(detail: str) -> ServiceError:
    return ServiceError(
        400, "InvalidRequestContentException", f"Could not parse request body into json: Could not parse payload into json: {detail}"
    )


def decode_client_context(header: str | None) -> str | None:
    """X-Amz-Client-Context: base64 of a JSON object, which the function gets decoded."""
    if header is None or header == "":
        return None
    if len(header) > CLIENT_CONTEXT_LIMIT:
        raise ServiceError(
            400,
            "InvalidRequestContentException",
            f"Client context must be at most {CLIENT_CONTEXT_LIMIT} bytes of base64 text, not {len(header)}",
        )
    invalid = ServiceError(400, "InvalidRequestContentException", "Client context must be a valid Base64-encoded JSON object.")
    try:
        text = base64.b64decode(header, validate=True).decode()
        if not isinstance(json.loads(text), dict):
            raise invalid
    except (binascii.Error, UnicodeDecodeError, ValueError):
        raise invalid from None
    return text


class InvokeApi:
    """The Invoke API's routes, on top of a LocalLambda and its durable event queue."""

    def __init__(self, service: LocalLambda, events: AsyncInvocations) -> None:
        self.service = service
        self.events = events

    def routes(self) -> list[web.RouteDef]:
        return [
            web.post("/2015-03-31/functions/{FunctionName}/invocations", self.invoke, expect_handler=self.expect_continue),
            web.post(
                "/2021-11-15/functions/{FunctionName}/response-streaming-invocations",
                self.invoke_with_response_stream, expect_handler=self.expect_continue,
            ),
        ]

    @staticmethod
    async def expect_continue(request: web.Request) -> web.Response | None:
        """``Expect: 100-continue`` (curl sends it for large bodies): a body declared too large
        is refused before the client sends it."""
        if request.headers.get("Expect", "").lower() != "100-continue":
            raise web.HTTPExpectationFailed(text=f"Unknown Expect: {request.headers.get('Expect')}")
        event = request.headers.get("X-Amz-Invocation-Type") == "Event"
        limit = ASYNC_PAYLOAD_LIMIT if event else SYNC_PAYLOAD_LIMIT
        if request.content_length is not None and request.content_length > limit:
            response = too_large(limit, "InvokeFunction").to_response(str(uuid.uuid4()))
            response.force_close()
            return response
        await request.writer.write(b"HTTP/1.1 100 Continue\r\n\r\n")
        request.writer.output_size = 0  # the answer proper has not started
        return None

    async def invoke(self, request: web.Request) -> web.Response:
        name, qualifier = parse_function_name(request.match_info["FunctionName"], request.query.get("Qualifier"))
        invocation_type = request.headers.get("X-Amz-Invocation-Type", "RequestResponse")
        if invocation_type not in INVOCATION_TYPES:
            raise validation_error(invocation_type, "invocationType", f"Member must satisfy enum value set: [{', '.join(INVOCATION_TYPES)}]")
        log_type = request.headers.get("X-Amz-Log-Type", "None")
        if log_type not in LOG_TYPES:
            raise validation_error(log_type, "logType", f"Member must satisfy enum value set: [{', '.join(LOG_TYPES)}]")
        limit = ASYNC_PAYLOAD_LIMIT if invocation_type == "Event" else SYNC_PAYLOAD_LIMIT
        payload = await read_body(request, limit, "InvokeFunction")
        self._check_function_exists(name, qualifier)
        if invocation_type == "DryRun":
            return web.Response(status=204)
        client_context = decode_client_context(request.headers.get("X-Amz-Client-Context"))
        if not payload.strip():
            payload = b"{}"  # an invocation without a payload gets an empty object, as on Lambda
        elif len(payload) > 1 << 16:
            await asyncio.to_thread(check_json_payload, payload)  # parsing 6 MB takes a while
        else:
            check_json_payload(payload)
        trace_id = request.headers.get("X-Amzn-Trace-Id")

        if invocation_type == "Event":
            # Lambda gives the client context to synchronous invocations only. The event is on
            # disk before the 202 goes out.
            request_id = self.events.enqueue(name, qualifier, payload)
            return web.Response(status=202, headers={"x-amzn-RequestId": request_id})

        invocation = InvocationRequest(
            payload=payload, client_context=client_context, tail_log=log_type == "Tail", trace_id=trace_id
        )
        try:
            result = await self.service.invoke(name, qualifier, invocation)
        except FunctionNotFound:
            raise self._function_not_found(name, qualifier) from None
        except Throttled as throttled:
            logger.info("%s throttled: %s", name, throttled)
            raise ServiceError(429, "TooManyRequestsException", "Rate Exceeded.", Reason=throttled.reason) from None
        headers = {"X-Amz-Executed-Version": result.executed_version, "x-amzn-RequestId": result.request_id}
        if result.function_error:
            headers["X-Amz-Function-Error"] = result.function_error
        if invocation.tail_log:
            headers["X-Amz-Log-Result"] = base64.b64encode(result.log_tail[-4096:]).decode()
        headers["Content-Type"] = result.content_type or "application/json"
        return web.Response(status=200, body=result.payload, headers=headers)

    async def invoke_with_response_stream(self, request: web.Request) -> web.StreamResponse:
        """InvokeWithResponseStream: the function's response as event stream messages, each
        chunk sent as the runtime produces it. The HTTP Content-Type is the stream's own
        (boto3's ResponseStreamContentType); the function's failure comes in InvokeComplete
        (ErrorCode: its type, ErrorDetails: its message), the status staying 200."""
        name, qualifier = parse_function_name(request.match_info["FunctionName"], request.query.get("Qualifier"))
        invocation_type = request.headers.get("X-Amz-Invocation-Type", "RequestResponse")
        if invocation_type not in STREAMING_INVOCATION_TYPES:
            raise validation_error(
                invocation_type, "invocationType", f"Member must satisfy enum value set: [{', '.join(STREAMING_INVOCATION_TYPES)}]"
            )
        log_type = request.headers.get("X-Amz-Log-Type", "None")
        if log_type not in LOG_TYPES:
            raise validation_error(log_type, "logType", f"Member must satisfy enum value set: [{', '.join(LOG_TYPES)}]")
        payload = await read_body(request, SYNC_PAYLOAD_LIMIT, "InvokeWithResponseStream")
        self._check_function_exists(name, qualifier)
        if invocation_type == "DryRun":
            return web.Response(status=204)
        client_context = decode_client_context(request.headers.get("X-Amz-Client-Context"))
        if not payload.strip():
            payload = b"{}"
        elif len(payload) > 1 << 16:
            await asyncio.to_thread(check_json_payload, payload)
        else:
            check_json_payload(payload)
        invocation = InvocationRequest(
            payload=payload, client_context=client_context, tail_log=log_type == "Tail",
            trace_id=request.headers.get("X-Amzn-Trace-Id"), tenant_id=request.headers.get("X-Amz-Tenant-Id") or None,
        )
        try:
            streamed = await self.service.invoke_stream(name, qualifier, invocation)
        except FunctionNotFound:
            raise self._function_not_found(name, qualifier) from None
        except Throttled as throttled:
            logger.info("%s throttled: %s", name, throttled)
            raise ServiceError(429, "TooManyRequestsException", "Rate Exceeded.", Reason=throttled.reason) from None
        try:
            return await _relay_event_stream(request, streamed, invocation.tail_log)
        finally:
            await streamed.aclose()  # a client gone mid-stream: the invocation is abandoned

    def _check_function_exists(self, name: str, qualifier: str | None) -> None:
        try:
            self.service.get_function(name, qualifier)
        except FunctionNotFound:
            raise self._function_not_found(name, qualifier) from None

    @staticmethod
    def _function_not_found(name: str, qualifier: str | None) -> ServiceError:
        arn = f"arn:aws:lambda:{REGION}:{ACCOUNT_ID}:function:{name}" + (f":{qualifier}" if qualifier else "")
        return not_found(f"Function not found: {arn}")


async def _relay_event_stream(request: web.Request, streamed: StreamedInvocation, tail_log: bool) -> web.StreamResponse:
    response = web.StreamResponse(
        status=200,
        headers={
            "Content-Type": streamed.content_type,
            "X-Amz-Executed-Version": streamed.executed_version,
            "x-amzn-RequestId": streamed.request_id,
        },
    )
    response.enable_chunked_encoding()  # one HTTP chunk per message: clients decode as they come
    await response.prepare(request)
    try:
        async for chunk in chunks_while_connected(streamed.chunks, request):
            for message in eventstream.payload_chunks(chunk):
                await response.write(message)
        assert streamed.result is not None  # set when the chunks end
        await response.write(invoke_complete_event(streamed.result, streamed.error, tail_log))
        await response.write_eof()
    except ConnectionError:
        logger.info("%s: the client disconnected mid-stream; the invocation is abandoned", streamed.request_id)
    return response


def invoke_complete_event(result: InvocationResult, error: dict[str, Any] | None, tail_log: bool) -> bytes:
    """``InvokeComplete`` for ``result``: ErrorCode is the error's type, ErrorDetails its
    message; LogResult the base64 of the log's last 4 KB, when asked for."""
    log_result = base64.b64encode(result.log_tail[-4096:]).decode() if tail_log else None
    if error is None:
        return eventstream.invoke_complete(log_result=log_result)
    error_code = str(error.get("errorType") or result.error_type or "Unhandled")
    message = error.get("errorMessage")
    details = message if isinstance(message, str) else json.dumps(error, separators=(",", ":"))
    return eventstream.invoke_complete(error_code, details, log_result)
