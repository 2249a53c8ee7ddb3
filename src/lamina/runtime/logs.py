"""The function log: where log records and the uncaught-error line go, and how they look.

Formats and frames follow ../shared/spec/runtime.md section 5 and awslambdaric: text lines
``[LEVEL]\\ttime\\trequest id\\tmessage`` or one JSON object per line; with
``_LAMBDA_TELEMETRY_LOG_FD`` every record is one framed ``write()`` to that descriptor.
"""

from __future__ import annotations

import logging
import os
import sys
import time

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

TEXT_FORMAT = "[%(levelname)s]\t%(asctime)s.%(msecs)03dZ\t%(aws_request_id)s\t%(message)s\n"
TEXT_DATE_FORMAT = "%Y-%m-%dT%H:%M:%S"
JSON_DATE_FORMAT = "%Y-%m-%dT%H:%M:%SZ"
NO_BREAK_SPACE = "\u00a0"

# Telemetry frame types by level; NOTSET is used when no log level is configured.
TEXT_FRAME_TYPES = {0: 0xA55A0003, 10: 0xA55A000B, 20: 0xA55A000F, 30: 0xA55A0013, 40: 0xA55A0017, 50: 0xA55A001B}
JSON_FRAME_TYPES = {0: 0xA55A0002, 10: 0xA55A000A, 20: 0xA55A000E, 30: 0xA55A0012, 40: 0xA55A0016, 50: 0xA55A001A}

# What Lambda itself makes global: the invocation in progress, for log lines.
current_request_id = ""
current_tenant_id: str | None = None
_sink: LogSink | None = None
_json_format = False

# LogRecord attributes that are not user `extra=` fields in JSON lines.
_RESERVED_RECORD_FIELDS = frozenset(
    (
        "name msg args levelname levelno pathname filename module exc_info exc_text stack_info "
        "lineno funcName created msecs relativeCreated thread threadName processName process "
        "taskName aws_request_id tenant_id _frame_type message asctime"
    ).split()
)


def begin_invocation(request_id: str, tenant_id: str | None, trace_id: str | None) -> None:
    """Called by the invocation loop before the handler runs."""
    global current_request_id, current_tenant_id
    current_request_id = request_id
    current_tenant_id = tenant_id
    if trace_id is not None:
        os.environ["_X_AMZN_TRACE_ID"] = trace_id
    elif "_X_AMZN_TRACE_ID" in os.environ:
        del os.environ["_X_AMZN_TRACE_ID"]


def end_invocation() -> None:
    """Called by the invocation loop after the handler: a partial last line is not held back."""
    sys.stdout.flush()


class StdoutSink:
    """Writes log records to stdout, where Lambda collects them line by line."""

    def write(self, message: str, frame_type: int) -> None:
        sys.stdout.write(message)

    def write_error_lines(self, lines: list[str], frame_type: int) -> None:
        # One line per error: "\r" keeps a multi-line traceback in one CloudWatch event.
        sys.stdout.write("\r".join(lines) + "\n")


class TelemetrySink:
    """Writes each record as one frame to the telemetry descriptor: 16-byte big-endian header
    (frame type u32, message length u32, timestamp µs u64), then the UTF-8 message."""

    def __init__(self, fd: int) -> None:
        self.fd = fd

    def write(self, message: str, frame_type: int) -> None:
        data = message.encode("utf-8")
        header = (
            frame_type.to_bytes(4, "big")
            + len(data).to_bytes(4, "big")
            + (time.time_ns() // 1000).to_bytes(8, "big")
        )
        os.write(self.fd, header + data)

    def write_error_lines(self, lines: list[str], frame_type: int) -> None:
        self.write("\n".join(lines), frame_type)


LogSink = StdoutSink | TelemetrySink


def write(message: str) -> None:
    """Writes a message to the function log as is (``context.log``)."""
    if _sink is None:
        sys.stdout.write(message)
    else:
        _sink.write(message, TEXT_FRAME_TYPES[0])


def _frame_level(levelno: int) -> int:
    return min(50, max(0, levelno)) // 10 * 10


class RequestIdFilter(logging.Filter):
    """Stamps each record with the invocation in progress."""

    def filter(self, record: logging.LogRecord) -> bool:
        record.aws_request_id = current_request_id
        record.tenant_id = current_tenant_id
        return True


class JsonFormatter(logging.Formatter):
    """One JSON object per record with awslambdaric's keys (``level``, not ``log_level``)."""

    def __init__(self) -> None:
        super().__init__(datefmt=JSON_DATE_FORMAT)

    def format(self, record: logging.LogRecord) -> str:
        record.levelno = _frame_level(record.levelno)
        record.levelname = logging.getLevelName(record.levelno)
        message = record.msg if isinstance(record.msg, dict) and not record.args else record.getMessage()
        fields: dict[str, Any] = {
            "timestamp": self.formatTime(record, self.datefmt),
            "level": record.levelname,
            "message": message,
            "logger": record.name,
            "requestId": getattr(record, "aws_request_id", None),
        }
        if record.exc_info:
            import traceback

            fields["stackTrace"] = traceback.format_tb(record.exc_info[2])
            fields["errorType"] = record.exc_info[0].__name__
            fields["errorMessage"] = str(record.exc_info[1])
            fields["location"] = f"{record.pathname}:{record.funcName}:{record.lineno}"
        if getattr(record, "tenant_id", None) is not None:
            fields["tenantId"] = record.tenant_id
        for key, value in record.__dict__.items():
            if key not in _RESERVED_RECORD_FIELDS and key not in fields:
                fields[key] = value
        return _dump_json({k: v for k, v in fields.items() if v is not None}) + "\n"


class LambdaLogHandler(logging.Handler):
    """Sends formatted records to the sink with the frame type of their level."""

    def __init__(self, sink: LogSink, frame_types: dict[int, int], by_level: bool) -> None:
        super().__init__()
        self.sink = sink
        self.frame_types = frame_types
        self.by_level = by_level

    def emit(self, record: logging.LogRecord) -> None:
        try:
            message = self.format(record)
            frame_type = self.frame_types[_frame_level(record.levelno) if self.by_level else 0]
            self.sink.write(message, frame_type)
        except Exception:
            self.handleError(record)


def setup(sink: LogSink, json_format: bool, level: str | None) -> None:
    """Installs the Lambda log handler on the root logger (as awslambdaric does)."""
    global _sink, _json_format
    _sink = sink
    _json_format = json_format
    logging.Formatter.converter = time.gmtime
    # With a level configured, text records carry their level in the frame type too.
    frame_types = JSON_FRAME_TYPES if json_format else TEXT_FRAME_TYPES
    handler = LambdaLogHandler(sink, frame_types, by_level=json_format or bool(level))
    handler.setFormatter(JsonFormatter() if json_format else logging.Formatter(TEXT_FORMAT, TEXT_DATE_FORMAT))
    handler.addFilter(RequestIdFilter())
    root = logging.getLogger()
    if level in logging._nameToLevel:
        root.setLevel(level)
    root.addHandler(handler)


def log_uncaught_error(error: dict[str, Any]) -> None:
    """The ``[ERROR] Type: message`` line Lambda users look for after a failed invocation."""
    sink = _sink or StdoutSink()
    frame_type = (JSON_FRAME_TYPES if _json_format else TEXT_FRAME_TYPES)[40]
    if _json_format:
        timestamp = time.strftime(JSON_DATE_FORMAT, time.gmtime())
        sink.write_error_lines([_dump_json({"timestamp": timestamp, "level": "ERROR", **error})], frame_type)
        return
    description = "[ERROR]"
    if error.get("errorType"):
        description += " " + error["errorType"]
    if error.get("errorMessage"):
        description += (":" if error.get("errorType") else "") + " " + error["errorMessage"]
    lines = [description]
    stack = error.get("stackTrace")
    if stack is not None:
        lines.append("Traceback (most recent call last):")
        for frame in stack:
            if not frame:
                lines.append("")
            for line in frame.splitlines():
                lines.append(_indent_with_no_break_spaces(line))
    sink.write_error_lines(lines, frame_type)


def _indent_with_no_break_spaces(line: str) -> str:
    stripped = line.lstrip(" ")
    return NO_BREAK_SPACE * (len(line) - len(stripped)) + stripped


def _dump_json(value: Any) -> str:
    import json  # only JSON-format functions pay for it

    return json.dumps(value, ensure_ascii=False, default=str)

