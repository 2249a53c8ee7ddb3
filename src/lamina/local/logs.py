"""The function log: Lambda's platform lines (INIT_START, START, END, REPORT, INIT_REPORT)
exactly as CloudWatch shows them, and the pure decoders for what runtimes write (lines on
stdout/stderr, frames on the ``_LAMBDA_TELEMETRY_LOG_FD`` descriptor)."""

from __future__ import annotations

import math
import struct
import time
from dataclasses import dataclass

TAIL_BYTES = 4096  # X-Amz-Log-Result carries the last 4 KB of an invocation's log
_FRAME_HEADER = struct.Struct(">IIQ")  # frame type, message length, timestamp (µs)
FRAME_MAGIC_MASK = 0xFFFF0000
FRAME_MAGIC = 0xA55A0000
# Frame types whose message is a JSON object (AWS_LAMBDA_LOG_FORMAT=JSON), by level.
JSON_FRAME_TYPES = frozenset({0xA55A0002, 0xA55A000A, 0xA55A000E, 0xA55A0012, 0xA55A0016, 0xA55A001A})


@dataclass(frozen=True)
class LogLine:
    """One line of a function's log stream, as the service's log sink receives it.
    ``source`` is ``platform`` (Lambda's own lines), ``function`` or ``extension``."""

    function_name: str
    version: str
    log_stream_name: str
    timestamp: float  # seconds since the epoch
    text: str
    source: str = "function"


def billed_duration_ms(duration_ms: float) -> int:
    """Billed Duration: Duration rounded up to the millisecond."""
    return max(1, math.ceil(round(duration_ms, 6)))


def init_start_line(runtime_version: str, runtime_version_arn: str) -> str:
    return f"INIT_START Runtime Version: {runtime_version}\tRuntime Version ARN: {runtime_version_arn}"


def start_line(request_id: str, version: str) -> str:
    return f"START RequestId: {request_id} Version: {version}"


def end_line(request_id: str) -> str:
    return f"END RequestId: {request_id}"


def report_line(
    request_id: str,
    duration_ms: float,
    memory_size_mb: int,
    max_memory_used_mb: int,
    init_duration_ms: float | None = None,
    status: str = "success",
    error_type: str | None = None,
) -> str:
    """``REPORT RequestId: <id>\\tDuration: 12.34 ms\\t...\\t`` — every field followed by a tab;
    ``Status: timeout`` after a timeout, ``Status: error\\tError Type: <type>`` when the
    environment failed (crash, init failure)."""
    fields = [
        f"REPORT RequestId: {request_id}",
        f"Duration: {duration_ms:.2f} ms",
        f"Billed Duration: {billed_duration_ms(duration_ms)} ms",
        f"Memory Size: {memory_size_mb} MB",
        f"Max Memory Used: {max_memory_used_mb} MB",
    ]
    if init_duration_ms is not None:
        fields.append(f"Init Duration: {init_duration_ms:.2f} ms")
    if status == "timeout":
        fields.append("Status: timeout")
    elif status == "failure":
        fields.append("Status: error")
        if error_type:
            fields.append(f"Error Type: {error_type}")
    return "\t".join(fields) + "\t"


def init_report_line(duration_ms: float, phase: str, status: str, error_type: str | None = None) -> str:
    """``INIT_REPORT Init Duration: 1236.04 ms\\tPhase: init\\tStatus: timeout`` (only for a
    failed init: Lambda prints none after a successful one)."""
    line = f"INIT_REPORT Init Duration: {duration_ms:.2f} ms\tPhase: {phase}\tStatus: {status}"
    if status == "error" and error_type:
        line += f"\tError Type: {error_type}"
    return line


def timeout_line(request_id: str, timeout_seconds: float, now: float | None = None) -> str:
    """The line Lambda writes before END when an invocation timed out."""
    return f"{iso_time(now)} {request_id} Task timed out after {timeout_seconds:.2f} seconds"


def iso_time(now: float | None = None) -> str:
    """``2026-06-26T12:00:00.123Z``: the time format of telemetry events and Lambda's lines."""
    now = time.time() if now is None else now
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(now)) + f".{int(now * 1000) % 1000:03d}Z"


class LineSplitter:
    """Bytes as a process writes them -> complete lines (without the newline)."""

    def __init__(self) -> None:
        self._partial = b""

    def feed(self, data: bytes) -> list[bytes]:
        lines = (self._partial + data).split(b"\n")
        self._partial = lines.pop()
        return lines

    def flush(self) -> list[bytes]:
        """The unterminated rest, as a line of its own (at END, or when the process exits)."""
        rest, self._partial = self._partial, b""
        return [rest] if rest else []


@dataclass(frozen=True)
class TelemetryFrame:
    frame_type: int
    timestamp_us: int
    message: bytes

    @property
    def is_json(self) -> bool:
        return self.frame_type in JSON_FRAME_TYPES


class TelemetryFrameDecoder:
    """The runtime's ``_LAMBDA_TELEMETRY_LOG_FD`` stream -> frames: each is a 16-byte
    big-endian header (type u32, length u32, timestamp µs u64), then the message."""

    def __init__(self) -> None:
        self._buffer = bytearray()

    def feed(self, data: bytes) -> list[TelemetryFrame]:
        self._buffer += data
        frames = []
        while len(self._buffer) >= _FRAME_HEADER.size:
            frame_type, length, timestamp = _FRAME_HEADER.unpack_from(self._buffer)
            if frame_type & FRAME_MAGIC_MASK != FRAME_MAGIC:
                # Not a frame: keep the text rather than lose it (a runtime wrote plain bytes).
                frames.append(TelemetryFrame(0, int(time.time() * 1e6), bytes(self._buffer)))
                self._buffer.clear()
                break
            end = _FRAME_HEADER.size + length
            if len(self._buffer) < end:
                break
            frames.append(TelemetryFrame(frame_type, timestamp, bytes(self._buffer[_FRAME_HEADER.size:end])))
            del self._buffer[:end]
        return frames


class TailBuffer:
    """The last ``limit`` bytes of one invocation's log."""

    def __init__(self, limit: int = TAIL_BYTES) -> None:
        self.limit = limit
        self._data = bytearray()

    def append(self, line: str) -> None:
        self._data += line.encode("utf-8", "replace") + b"\n"
        if len(self._data) > 4 * self.limit:
            del self._data[: -self.limit]

    def value(self) -> bytes:
        return bytes(self._data[-self.limit:])
