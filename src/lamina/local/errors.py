"""Error bodies, in one place: the function errors a caller gets (status 200 with
``X-Amz-Function-Error: Unhandled``) and the Runtime/Extensions/Telemetry API error answers."""

from __future__ import annotations

import json

from lamina.local.lifecycle import FunctionError

MAX_RESPONSE_BYTES = 6_291_556  # a buffered /response larger than this is refused (413)


def api_error(error_type: str, message: str) -> bytes:
    """An API error answer: ``{"errorMessage":..,"errorType":..}`` (key order as Lambda's)."""
    return json.dumps({"errorMessage": message, "errorType": error_type}, separators=(",", ":")).encode()


INVALID_REQUEST_ID = api_error("InvalidRequestID", "Invalid request ID")
INVALID_RESPONSE_MODE = api_error("InvalidFunctionResponseMode", "Invalid function response mode")
RESPONSE_TOO_LARGE = api_error(
    "RequestEntityTooLarge", f"Exceeded maximum allowed payload size ({MAX_RESPONSE_BYTES} bytes)."
)
ACCEPTED = b'{"status":"OK"}'
# What a runtime gets when the local Lambda stops reading its stream (over the size limit,
# or the invocation's caller went away); the environment is reset right after.
RESPONSE_STREAM_CUT = api_error("ResponseStreamCut", "The response stream is no longer read")


def function_error_body(error: FunctionError, request_id: str) -> bytes:
    """What the caller gets for a failure the environment detected: the body the runtime or
    extension posted (init errors), else ``{"errorType":..,"errorMessage":"RequestId: <id>
    Error: <message>"}`` as Lambda words it."""
    if error.body:
        return error.body
    message = f"RequestId: {request_id} Error: {error.message}" if error.message else f"RequestId: {request_id}"
    return json.dumps({"errorType": error.error_type, "errorMessage": message}, separators=(",", ":")).encode()


def response_too_large(size: int) -> FunctionError:
    return FunctionError(
        "Function.ResponseSizeTooLarge",
        body=json.dumps(
            {
                "errorType": "Function.ResponseSizeTooLarge",
                "errorMessage": f"Response payload size ({size} bytes) exceeded maximum allowed payload size "
                f"({MAX_RESPONSE_BYTES} bytes).",
            },
            separators=(",", ":"),
        ).encode(),
    )


def response_stream_too_large(limit: int) -> FunctionError:
    """A streamed response cut at the local limit (settings.max_response_stream_bytes)."""
    return FunctionError(
        "Function.ResponseSizeTooLarge",
        body=json.dumps(
            {
                "errorType": "Function.ResponseSizeTooLarge",
                "errorMessage": f"Response payload size exceeded maximum allowed payload size ({limit} bytes).",
            },
            separators=(",", ":"),
        ).encode(),
    )


def error_type_of(body: bytes, header: str | None) -> str:
    """The error type of an /error or /init/error post: its header, else the body's
    ``errorType``, else ``Runtime.Unknown``."""
    if header:
        return header
    try:
        value = json.loads(body)
    except ValueError:
        return "Runtime.Unknown"
    if isinstance(value, dict) and isinstance(value.get("errorType"), str) and value["errorType"]:
        return str(value["errorType"])
    return "Runtime.Unknown"
