"""The Runtime API (2018-06-01) an environment serves to its runtime: ``next`` blocks until
the lifecycle hands the environment an invocation; ``/response``, ``/error`` and
``/init/error`` become lifecycle events. The HTTP side is here; what is allowed when is the
lifecycle's (:mod:`lamina.local.lifecycle`).

A response body is read chunk by chunk and handed on as it arrives (:class:`AnswerWriter`):
a streamed response (``Lambda-Runtime-Function-Response-Mode: streaming``, chunked) is
relayed without being buffered whole, and its error trailers
(``Lambda-Runtime-Function-Error-Type``, ``-Error-Body``: base64 of the error JSON) end it
as the function's error."""

from __future__ import annotations

import base64
import binascii
from dataclasses import dataclass
from typing import Protocol

from aiohttp import web

from lamina.local.errors import (
    ACCEPTED, INVALID_RESPONSE_MODE, MAX_RESPONSE_BYTES, RESPONSE_STREAM_CUT, RESPONSE_TOO_LARGE, api_error,
    error_type_of,
)
from lamina.local.lifecycle import LifecycleError
from lamina.local.trailers import TrailerRegistry

PREFIX = "/2018-06-01/runtime"
_CHUNK = 65536
ERROR_TYPE_TRAILER = "Lambda-Runtime-Function-Error-Type"
ERROR_BODY_TRAILER = "Lambda-Runtime-Function-Error-Body"


@dataclass(frozen=True)
class NextInvocation:
    """What ``next`` answers: the event and the headers Lambda sends with it."""

    request_id: str
    payload: bytes
    deadline_ms: int
    invoked_function_arn: str
    trace_id: str
    invocation_id: str
    client_context: str | None = None
    cognito_identity: str | None = None
    tenant_id: str | None = None

    def headers(self) -> dict[str, str]:
        headers = {
            "Content-Type": "application/json",
            "Lambda-Runtime-Aws-Request-Id": self.request_id,
            "Lambda-Runtime-Deadline-Ms": str(self.deadline_ms),
            "Lambda-Runtime-Invoked-Function-Arn": self.invoked_function_arn,
            "Lambda-Runtime-Trace-Id": self.trace_id,
            "Lambda-Runtime-Invocation-Id": self.invocation_id,
        }
        if self.client_context is not None:
            headers["Lambda-Runtime-Client-Context"] = self.client_context
        if self.cognito_identity is not None:
            headers["Lambda-Runtime-Cognito-Identity"] = self.cognito_identity
        if self.tenant_id is not None:
            headers["Lambda-Runtime-Aws-Tenant-Id"] = self.tenant_id
        return headers


class AnswerWriter(Protocol):
    """Where the body of one ``/response`` or ``/error`` goes, chunk by chunk."""

    async def write(self, chunk: bytes) -> bool:
        """Takes the next piece of the body (waiting while a streamed one's caller is behind).
        False: the invocation takes no more of it (the stream was cut: over its size limit,
        its caller gone, the invocation over); stop reading."""

    def finish(self, error_type: str | None = None, error_body: bytes | None = None) -> None:
        """The whole body arrived: the runtime answered; a streamed response's error trailers
        give ``error_type`` and ``error_body``. Raises LifecycleError when the invocation
        ended meanwhile (e.g. timed out)."""

    def finish_too_large(self, size: int) -> None:
        """A buffered response over the limit: the invocation fails with
        Function.ResponseSizeTooLarge."""


class RuntimeBackend(Protocol):
    async def runtime_next(self) -> NextInvocation: ...

    def open_answer(
        self, request_id: str, invocation_id: str | None, error_type: str | None, content_type: str, streaming: bool
    ) -> AnswerWriter:
        """Raises LifecycleError for an unknown or stale id (400) or a second answer (403)."""

    def runtime_init_error(self, error_type: str, body: bytes) -> None: ...


def add_routes(app: web.Application, backend: RuntimeBackend, trailers: TrailerRegistry | None = None) -> None:
    """The Runtime API's routes; ``trailers`` gives streamed responses' trailers (without
    it a mid-stream error cannot be seen)."""

    async def next_invocation(request: web.Request) -> web.StreamResponse:
        try:
            invocation = await backend.runtime_next()
        except LifecycleError as exc:
            return _lifecycle_error(exc)
        return web.Response(status=200, body=invocation.payload, headers=invocation.headers())

    async def response(request: web.Request) -> web.StreamResponse:
        mode = request.headers.get("Lambda-Runtime-Function-Response-Mode")
        if mode is not None and mode.lower() != "streaming":
            return web.Response(status=400, body=INVALID_RESPONSE_MODE, content_type="application/json")
        return await _answer(request, None, streaming=mode is not None)

    async def error(request: web.Request) -> web.StreamResponse:
        body_error_type = request.headers.get("Lambda-Runtime-Function-Error-Type")
        return await _answer(request, body_error_type or "", streaming=False)

    async def _answer(request: web.Request, error_type: str | None, streaming: bool) -> web.StreamResponse:
        request_id = request.match_info["request_id"]
        content_type = request.headers.get("Content-Type", "application/json" if not streaming else "application/octet-stream")
        if error_type is not None:
            # The type is needed before the body when it comes in the header; else from the body.
            body = await request.read()
            error_type = error_type_of(body, error_type or None)
            try:
                writer = backend.open_answer(
                    request_id, request.headers.get("Lambda-Runtime-Invocation-Id"), error_type, content_type, False
                )
                await writer.write(body)
                writer.finish()
            except LifecycleError as exc:
                return _lifecycle_error(exc)
            return web.Response(status=202, body=ACCEPTED, content_type="application/json")
        try:
            writer = backend.open_answer(
                request_id, request.headers.get("Lambda-Runtime-Invocation-Id"), None, content_type, streaming
            )
        except LifecycleError as exc:
            return _lifecycle_error(exc)
        if streaming:
            return await _stream(request, writer)
        size = 0
        async for chunk in request.content.iter_chunked(_CHUNK):
            size += len(chunk)
            if size <= MAX_RESPONSE_BYTES:
                await writer.write(chunk)
        try:
            if size > MAX_RESPONSE_BYTES:
                writer.finish_too_large(size)
                return web.Response(status=413, body=RESPONSE_TOO_LARGE, content_type="application/json")
            writer.finish()
        except LifecycleError as exc:
            return _lifecycle_error(exc)
        return web.Response(status=202, body=ACCEPTED, content_type="application/json")

    async def _stream(request: web.Request, writer: AnswerWriter) -> web.StreamResponse:
        # Each piece goes on as it arrives, never merged across the runtime's chunks.
        try:
            async for chunk, _ in request.content.iter_chunks():
                if chunk and not await writer.write(chunk):
                    response = web.Response(status=413, body=RESPONSE_STREAM_CUT, content_type="application/json")
                    response.force_close()  # the rest of the body is not read
                    return response
        except Exception as exc:  # aiohttp's payload errors, a lost connection
            # The runtime's connection broke mid-stream (it crashed, or gave up): its exit or
            # the timeout ends the invocation.
            response = web.Response(status=400, body=api_error("ResponseStreamBroken", str(exc) or type(exc).__name__),
                                    content_type="application/json")
            response.force_close()
            return response
        fields = trailers.take(request) if trailers is not None else []
        error_type = next((value for name, value in fields if name.lower() == ERROR_TYPE_TRAILER.lower()), None)
        encoded_body = next((value for name, value in fields if name.lower() == ERROR_BODY_TRAILER.lower()), None)
        try:
            writer.finish(error_type or None, _decode_error_body(encoded_body) if error_type else None)
        except LifecycleError as exc:
            return _lifecycle_error(exc)
        return web.Response(status=202, body=ACCEPTED, content_type="application/json")

    async def init_error(request: web.Request) -> web.StreamResponse:
        body = await request.read()
        error_type = error_type_of(body, request.headers.get("Lambda-Runtime-Function-Error-Type"))
        try:
            backend.runtime_init_error(error_type, body)
        except LifecycleError as exc:
            return _lifecycle_error(exc)
        return web.Response(status=202, body=ACCEPTED, content_type="application/json")

    app.router.add_get(f"{PREFIX}/invocation/next", next_invocation)
    app.router.add_post(f"{PREFIX}/invocation/{{request_id}}/response", response)
    app.router.add_post(f"{PREFIX}/invocation/{{request_id}}/error", error)
    app.router.add_post(f"{PREFIX}/init/error", init_error)


def _decode_error_body(encoded: str | None) -> bytes | None:
    """The error JSON of ``Lambda-Runtime-Function-Error-Body`` (base64); the text itself
    when it is not base64."""
    if not encoded:
        return None
    try:
        return base64.b64decode(encoded, validate=True)
    except (binascii.Error, ValueError):
        return encoded.encode("utf-8", "replace")


def _lifecycle_error(exc: LifecycleError) -> web.Response:
    return web.Response(status=exc.status, body=api_error(exc.error_type, exc.message), content_type="application/json")
