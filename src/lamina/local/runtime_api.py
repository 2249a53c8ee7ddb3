"""The Runtime API (2018-06-01) an environment serves to its runtime: ``next`` blocks until
the lifecycle hands the environment an invocation; ``/response``, ``/error`` and
``/init/error`` become lifecycle events. The HTTP side is here; what is allowed when is the
lifecycle's (:mod:`lamina.local.lifecycle`).

A response body is read chunk by chunk and handed on as it arrives (:class:`AnswerWriter`),
so that a streamed response can be relayed without being buffered whole."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

from aiohttp import web

from lamina.local.errors import (
    ACCEPTED, INVALID_RESPONSE_MODE, MAX_RESPONSE_BYTES, RESPONSE_TOO_LARGE, api_error, error_type_of,
)
from lamina.local.lifecycle import LifecycleError

PREFIX = "/2018-06-01/runtime"
_CHUNK = 65536


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

    def write(self, chunk: bytes) -> None: ...

    def finish(self) -> None:
        """The whole body arrived: the runtime answered (raises LifecycleError when the
        invocation ended meanwhile, e.g. timed out)."""

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


def add_routes(app: web.Application, backend: RuntimeBackend) -> None:
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
                writer.write(body)
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
        size = 0
        async for chunk in request.content.iter_chunked(_CHUNK):
            size += len(chunk)
            if streaming or size <= MAX_RESPONSE_BYTES:
                writer.write(chunk)
        try:
            if not streaming and size > MAX_RESPONSE_BYTES:
                writer.finish_too_large(size)
                return web.Response(status=413, body=RESPONSE_TOO_LARGE, content_type="application/json")
            writer.finish()
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


def _lifecycle_error(exc: LifecycleError) -> web.Response:
    return web.Response(status=exc.status, body=api_error(exc.error_type, exc.message), content_type="application/json")
