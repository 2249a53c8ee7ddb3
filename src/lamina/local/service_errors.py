"""Lambda's service errors as they travel on the wire: a JSON body ``{"Type": "User",
"message": ...}`` and the error code in the ``x-amzn-ErrorType`` header, which botocore turns
into the matching exception class (``client.exceptions.ResourceNotFoundException``, ...).
Shared by the Invoke API and the control plane."""

from __future__ import annotations

import json
import logging
import uuid
from typing import Any, Awaitable, Callable

from aiohttp import web

logger = logging.getLogger(__name__)

# Lambda's error shapes spell the message member two ways (botocore's service model for
# Lambda): these ones use "Message", every other one "message".
_CAPITALISED_MESSAGE = frozenset({"ResourceNotFoundException", "ServiceException", "ResourceInUseException"})


class ServiceError(Exception):
    """An answer Lambda gives when it does not run the function (4xx/5xx)."""

    def __init__(self, status: int, code: str, message: str, **fields: Any) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message
        self.fields = fields  # extra members of the error shape, e.g. Reason

    def to_response(self, request_id: str) -> web.Response:
        body: dict[str, Any] = {"Type": "User" if self.status < 500 else "Service"}
        body["Message" if self.code in _CAPITALISED_MESSAGE else "message"] = self.message
        body.update(self.fields)
        response = web.Response(
            status=self.status,
            body=json.dumps(body).encode(),
            content_type="application/json",
            headers={"x-amzn-ErrorType": self.code, "x-amzn-RequestId": request_id},
        )
        return response


def invalid_parameter(message: str) -> ServiceError:
    return ServiceError(400, "InvalidParameterValueException", message)


def not_found(message: str) -> ServiceError:
    return ServiceError(404, "ResourceNotFoundException", message)


def conflict(message: str) -> ServiceError:
    return ServiceError(409, "ResourceConflictException", message)


def too_large(limit: int, operation: str) -> ServiceError:
    return ServiceError(
        413, "RequestEntityTooLargeException", f"Request must be smaller than {limit} bytes for the {operation} operation"
    )


def validation_error(value: object, member: str, constraint: str) -> ServiceError:
    """The wording of Lambda's input validation (a ValidationException, which botocore does
    not model: it surfaces as a plain ClientError with that code)."""
    return ServiceError(
        400,
        "ValidationException",
        f"1 validation error detected: Value '{value}' at '{member}' failed to satisfy constraint: {constraint}",
    )


@web.middleware
async def service_error_middleware(
    request: web.Request, handler: Callable[[web.Request], Awaitable[web.StreamResponse]]
) -> web.StreamResponse:
    """Every answer carries a request id; ServiceError and unknown routes become Lambda's
    error shape, and anything unexpected a 500 ServiceException (logged with its traceback)."""
    request_id = str(uuid.uuid4())
    request["request_id"] = request_id
    try:
        response = await handler(request)
    except ServiceError as error:
        response = error.to_response(request_id)
        if error.status == 413:
            # The body was not read to its end: this connection is not reused (the rest of
            # the body is read and dropped, not kept, so the client gets this answer).
            response.force_close()
        return response
    except web.HTTPNotFound:
        return ServiceError(404, "UnknownOperationException", f"Unknown operation {request.method} {request.path}").to_response(
            request_id
        )
    except web.HTTPMethodNotAllowed:
        return ServiceError(
            405, "UnknownOperationException", f"Unknown operation {request.method} {request.path}"
        ).to_response(request_id)
    except web.HTTPException:
        raise
    except Exception:
        logger.exception("%s %s failed", request.method, request.path)
        return ServiceError(500, "ServiceException", "The local Lambda failed; see its log").to_response(request_id)
    response.headers.setdefault("x-amzn-RequestId", request_id)
    return response
