"""The function log: where log records and the uncaught-error line go, and how they look.

Formats and frames follow ../shared/spec/runtime.md section 5 and awslambdaric: text lines
``[LEVEL]\\ttime\\trequest id\\tmessage`` or one JSON object per line; with
``_LAMBDA_TELEMETRY_LOG_FD`` every record is one framed ``write()`` to that descriptor.
"""

from __future__ import annotations

import os
import sys
import time

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any, Callable

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


def begin_invocation(request_id: str, tenant_id: str | None) -> None:
    """Called by the invocation loop before the handler runs."""
    global current_request_id, current_tenant_id
    current_request_id = request_id
    current_tenant_id = tenant_id


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


def setup(sink: LogSink, json_format: bool, level: str | None) -> None:
    """Routes the function log to ``sink`` and puts Lambda's handler on the root logger, as
    awslambdaric does, at the moment ``logging`` is first imported: a function that never
    logs does not pay for importing it during its cold start."""
    global _sink, _json_format
    _sink = sink
    _json_format = json_format

    def install() -> None:
        from lamina.runtime import log_handler

        log_handler.install(sink, json_format, level)

    if "logging" in sys.modules:
        install()
    else:
        sys.meta_path.insert(0, _RunAfterImport("logging", install))


class _RunAfterImport:
    """A meta path finder that runs ``callback`` right after module ``name`` has executed,
    before the importer gets it, then steps aside."""

    def __init__(self, name: str, callback: Callable[[], None]) -> None:
        self.name = name
        self.callback = callback

    def find_spec(self, name: str, path: object = None, target: object = None) -> Any:
        if name != self.name:
            return None
        sys.meta_path.remove(self)
        for finder in sys.meta_path:
            spec = finder.find_spec(name, path, target) if hasattr(finder, "find_spec") else None
            if spec is not None:
                break
        else:
            return None
        loader = spec.loader
        original_exec_module = loader.exec_module
        callback = self.callback

        def exec_module(module: Any) -> None:
            del loader.exec_module  # back to the class's own method
            original_exec_module(module)
            callback()

        loader.exec_module = exec_module
        return spec


def log_uncaught_error(error: dict[str, Any]) -> None:
    """The ``[ERROR] Type: message`` line Lambda users look for after a failed invocation."""
    sink = _sink or StdoutSink()
    frame_type = (JSON_FRAME_TYPES if _json_format else TEXT_FRAME_TYPES)[40]
    if _json_format:
        timestamp = time.strftime(JSON_DATE_FORMAT, time.gmtime())
        sink.write_error_lines([dump_json({"timestamp": timestamp, "level": "ERROR", **error})], frame_type)
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


def dump_json(value: Any) -> str:
    import json  # only JSON-format functions pay for it

    return json.dumps(value, ensure_ascii=False, default=str)

