"""Lambda's handler on the root logger: text lines ``[LEVEL]\\ttime\\trequest id\\tmessage``
or JSON objects with awslambdaric's keys, each record one write to the function log's sink.
Imported when the function first imports ``logging`` (see ``logs.setup``)."""

from __future__ import annotations

import logging
import time

from lamina.runtime import logs

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

    from lamina.runtime.logs import LogSink

TEXT_FORMAT = "[%(levelname)s]\t%(asctime)s.%(msecs)03dZ\t%(aws_request_id)s\t%(message)s\n"
TEXT_DATE_FORMAT = "%Y-%m-%dT%H:%M:%S"

# LogRecord attributes that are not user `extra=` fields in JSON lines.
_RESERVED_RECORD_FIELDS = frozenset(
    (
        "name msg args levelname levelno pathname filename module exc_info exc_text stack_info "
        "lineno funcName created msecs relativeCreated thread threadName processName process "
        "taskName aws_request_id tenant_id _frame_type message asctime"
    ).split()
)


def _frame_level(levelno: int) -> int:
    return min(50, max(0, levelno)) // 10 * 10


class RequestIdFilter(logging.Filter):
    """Stamps each record with the invocation in progress."""

    def filter(self, record: logging.LogRecord) -> bool:
        record.aws_request_id = logs.current_request_id
        record.tenant_id = logs.current_tenant_id
        return True


class JsonFormatter(logging.Formatter):
    """One JSON object per record with awslambdaric's keys (``level``, not ``log_level``)."""

    def __init__(self) -> None:
        super().__init__(datefmt=logs.JSON_DATE_FORMAT)

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
        return logs.dump_json({k: v for k, v in fields.items() if v is not None}) + "\n"


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


def install(sink: LogSink, json_format: bool, level: str | None) -> None:
    """Installs the Lambda log handler on the root logger (as awslambdaric does)."""
    logging.Formatter.converter = time.gmtime
    # With a level configured, text records carry their level in the frame type too.
    frame_types = logs.JSON_FRAME_TYPES if json_format else logs.TEXT_FRAME_TYPES
    handler = LambdaLogHandler(sink, frame_types, by_level=json_format or bool(level))
    handler.setFormatter(JsonFormatter() if json_format else logging.Formatter(TEXT_FORMAT, TEXT_DATE_FORMAT))
    handler.addFilter(RequestIdFilter())
    root = logging.getLogger()
    if level in logging._nameToLevel:
        root.setLevel(level)
    root.addHandler(handler)
