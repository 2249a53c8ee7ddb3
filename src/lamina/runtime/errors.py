"""Error shapes Lambda expects: the body posted to /error, /init/error and /restore/error,
its X-Ray cause, and the log line. Contract: ../shared/spec/runtime.md sections 1 and 3."""

from __future__ import annotations

import os

from lamina import _core
from lamina.runtime import logs

TYPE_CHECKING = False
if TYPE_CHECKING:
    import traceback
    from typing import Any

# Frames of these files, at the top of a traceback, are the runtime's and not the user's.
_STANDARD_LIBRARY = os.path.dirname(os.__file__) + os.sep
_RUNTIME_PATHS = (
    os.path.dirname(os.path.abspath(__file__)) + os.sep,
    _STANDARD_LIBRARY + "asyncio" + os.sep,
    _STANDARD_LIBRARY + "importlib" + os.sep,
    "<frozen importlib.",
)
_XRAY_CAUSE_LIMIT = 1024 * 1024

MALFORMED_HANDLER_NAME = "Runtime.MalformedHandlerName"
BUILT_IN_MODULE_CONFLICT = "Runtime.BuiltInModuleConflict"
IMPORT_MODULE_ERROR = "Runtime.ImportModuleError"
USER_CODE_SYNTAX_ERROR = "Runtime.UserCodeSyntaxError"
HANDLER_NOT_FOUND = "Runtime.HandlerNotFound"
UNMARSHAL_ERROR = "Runtime.UnmarshalError"
MARSHAL_ERROR = "Runtime.MarshalError"
LAMBDA_CONTEXT_UNMARSHAL_ERROR = "Runtime.LambdaContextUnmarshalError"
BEFORE_SNAPSHOT_ERROR = "Runtime.BeforeSnapshotError"
AFTER_RESTORE_ERROR = "Runtime.AfterRestoreError"


class FaultError(Exception):
    """A failure Lambda reports with a ``Runtime.*`` error type instead of the exception's class."""

    def __init__(self, error_type: str, message: str, stack_trace: list[str] | None = None) -> None:
        super().__init__(message)
        self.error_type = error_type
        self.message = message
        self.stack_trace = stack_trace or []


class ErrorReport:
    """An error as Lambda wants it: the JSON body, its type, and the X-Ray cause header."""

    __slots__ = ("body", "error_type", "xray_cause")

    def __init__(self, body: dict[str, Any], xray_cause: dict[str, Any] | None) -> None:
        self.body = body
        self.error_type: str = body["errorType"]
        encoded_cause = _core.encode_json(xray_cause).decode() if xray_cause else ""
        self.xray_cause = encoded_cause if len(encoded_cause) < _XRAY_CAUSE_LIMIT else ""

    def encoded_body(self) -> bytes:
        return _core.encode_json(self.body)


def describe(exc: BaseException, request_id: str = "") -> ErrorReport:
    """The report for an exception raised by the handler, at init, or by a SnapStart hook."""
    if isinstance(exc, FaultError):
        body = _error_body(exc.message, exc.error_type, request_id, exc.stack_trace)
        return ErrorReport(body, _xray_cause("LambdaValidationError", exc.message, []))
    import traceback  # errors are the rare path: not imported during init

    frames = user_frames(exc.__traceback__)
    error_type = type(exc).__name__
    # Plain tuples: awslambdaric's stack lines have no column markers (~~~^^^).
    stack_trace = traceback.format_list([(f.filename, f.lineno, f.name, f.line) for f in frames])
    body = _error_body(str(exc), error_type, request_id, stack_trace)
    return ErrorReport(body, _xray_cause(error_type, str(exc), frames))


def report_invocation_error(exc: BaseException, request_id: str) -> tuple[bytes, str, str]:
    """Called by the invocation loop when an invocation failed: logs the error line and
    returns what to post to /error."""
    report = describe(exc, request_id)
    logs.log_uncaught_error(report.body)
    return report.encoded_body(), report.error_type, report.xray_cause


def user_frames(tb: Any) -> list[traceback.FrameSummary]:
    """The traceback's frames without the runtime's own frames at the top."""
    import traceback

    frames = traceback.extract_tb(tb)
    first_user_frame = next((i for i, f in enumerate(frames) if not f.filename.startswith(_RUNTIME_PATHS)), len(frames))
    return frames[first_user_frame:]


def _error_body(message: str, error_type: str, request_id: str, stack_trace: list[str]) -> dict[str, Any]:
    return {"errorMessage": message, "errorType": error_type, "requestId": request_id, "stackTrace": stack_trace}


def _xray_cause(error_type: str, message: str, frames: list[traceback.FrameSummary]) -> dict[str, Any]:
    paths = list(dict.fromkeys(f.filename for f in frames))
    stack = [{"label": f.name, "path": f.filename, "line": f.lineno} for f in frames]
    return {
        "working_directory": os.getcwd(),
        "exceptions": [{"message": message, "type": error_type, "stack": stack}],
        "paths": paths,
    }

