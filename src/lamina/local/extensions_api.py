"""The Extensions API (2020-01-01) an environment serves to its extensions: register,
``event/next`` (INVOKE and SHUTDOWN events), ``init/error`` and ``exit/error``. What is
allowed when is the lifecycle's; the HTTP and JSON shapes are here."""

from __future__ import annotations

import json
import uuid
from typing import Any, Awaitable, Callable, Protocol

from aiohttp import web

from lamina.local.errors import ACCEPTED, api_error
from lamina.local.lifecycle import LifecycleError

PREFIX = "/2020-01-01/extension"


def invoke_event(deadline_ms: int, request_id: str, invoked_function_arn: str, trace_id: str) -> dict[str, Any]:
    return {
        "eventType": "INVOKE",
        "deadlineMs": deadline_ms,
        "requestId": request_id,
        "invokedFunctionArn": invoked_function_arn,
        "tracing": {"type": "X-Amzn-Trace-Id", "value": trace_id},
    }


def shutdown_event(reason: str, deadline_ms: int) -> dict[str, Any]:
    return {"eventType": "SHUTDOWN", "shutdownReason": reason, "deadlineMs": deadline_ms}


class ExtensionsBackend(Protocol):
    def register_extension(self, name: str, events: tuple[str, ...], account_id: bool) -> tuple[str, dict[str, Any]]:
        """Returns the new extension's identifier and the register answer's body."""

    async def extension_next(self, extension_id: str) -> dict[str, Any]: ...

    def extension_error(self, extension_id: str, error_type: str, body: bytes, phase: str) -> None:
        """``phase`` is ``init`` or ``exit``."""


def add_routes(app: web.Application, backend: ExtensionsBackend) -> None:
    async def register(request: web.Request) -> web.Response:
        name = request.headers.get("Lambda-Extension-Name", "")
        if not name:
            return _error(403, "Extension.InvalidExtensionName", "Empty extension name")
        try:
            body = json.loads(await request.read() or b"{}")
            events = body.get("events", [])
            if not isinstance(events, list) or not all(isinstance(e, str) for e in events):
                raise ValueError("events must be a list of strings")
            if body.get("configurationKeys"):
                raise ValueError("configurationKeys are deprecated; use environment variables instead")
        except (ValueError, AttributeError) as exc:
            return _error(403, "InvalidRequestFormat", str(exc))
        features = request.headers.get("Lambda-Extension-Accept-Feature", "")
        try:
            extension_id, answer = backend.register_extension(name, tuple(events), "accountId" in features)
        except LifecycleError as exc:
            return _error(exc.status, exc.error_type, exc.message)
        return web.Response(
            status=200, body=json.dumps(answer).encode(), content_type="application/json",
            headers={"Lambda-Extension-Identifier": extension_id},
        )

    async def next_event(request: web.Request) -> web.Response:
        extension_id, problem = _identifier(request)
        if problem is not None:
            return problem
        try:
            event = await backend.extension_next(extension_id)
        except LifecycleError as exc:
            return _error(exc.status, exc.error_type, exc.message)
        return web.Response(
            status=200, body=json.dumps(event).encode(), content_type="application/json",
            headers={"Lambda-Extension-Event-Identifier": str(uuid.uuid4())},
        )

    def error_handler(phase: str) -> Callable[[web.Request], Awaitable[web.Response]]:
        async def report(request: web.Request) -> web.Response:
            extension_id, problem = _identifier(request)
            if problem is not None:
                return problem
            error_type = request.headers.get("Lambda-Extension-Function-Error-Type")
            if not error_type:
                return _error(403, "Extension.MissingHeader", "Missing Lambda-Extension-Function-Error-Type header")
            body = await request.read()
            try:
                backend.extension_error(extension_id, error_type, body, phase)
            except LifecycleError as exc:
                return _error(exc.status, exc.error_type, exc.message)
            return web.Response(status=202, body=ACCEPTED, content_type="application/json")

        return report

    app.router.add_post(f"{PREFIX}/register", register)
    app.router.add_get(f"{PREFIX}/event/next", next_event)
    app.router.add_post(f"{PREFIX}/init/error", error_handler("init"))
    app.router.add_post(f"{PREFIX}/exit/error", error_handler("exit"))


def _identifier(request: web.Request) -> tuple[str, web.Response | None]:
    value = request.headers.get("Lambda-Extension-Identifier")
    if not value:
        return "", _error(403, "Extension.MissingExtensionIdentifier", "Missing Lambda-Extension-Identifier header")
    try:
        return str(uuid.UUID(value)), None
    except ValueError:
        return "", _error(403, "Extension.InvalidExtensionIdentifier", "Invalid Lambda-Extension-Identifier")


def _error(status: int, error_type: str, message: str) -> web.Response:
    return web.Response(status=status, body=api_error(error_type, message), content_type="application/json")
