"""Lambda's platform log lines, exactly, and the decoders for what runtimes write."""

from __future__ import annotations

import struct

from lamina.local.logs import (
    LineSplitter, TailBuffer, TelemetryFrameDecoder, billed_duration_ms, end_line, init_report_line, init_start_line,
    iso_time, report_line, start_line, timeout_line,
)

ID = "8476a536-e9f4-11e8-9739-2dfe598c3fcd"


def test_start_and_end_lines():
    assert start_line(ID, "$LATEST") == f"START RequestId: {ID} Version: $LATEST"
    assert end_line(ID) == f"END RequestId: {ID}"


def test_report_line_with_init_duration_ends_with_a_tab():
    assert report_line(ID, 12.34, 128, 40, 123.45) == (
        f"REPORT RequestId: {ID}\tDuration: 12.34 ms\tBilled Duration: 13 ms\tMemory Size: 128 MB\t"
        "Max Memory Used: 40 MB\tInit Duration: 123.45 ms\t"
    )


def test_report_line_of_a_warm_invocation_has_no_init_duration():
    assert report_line(ID, 1.0, 256, 50) == (
        f"REPORT RequestId: {ID}\tDuration: 1.00 ms\tBilled Duration: 1 ms\tMemory Size: 256 MB\tMax Memory Used: 50 MB\t"
    )


def test_report_line_after_a_timeout_and_after_a_crash():
    assert report_line(ID, 3000.5, 128, 40, status="timeout").endswith("\tMax Memory Used: 40 MB\tStatus: timeout\t")
    assert report_line(ID, 10, 128, 40, status="failure", error_type="Runtime.ExitError").endswith(
        "\tStatus: error\tError Type: Runtime.ExitError\t"
    )
    assert "Status" not in report_line(ID, 10, 128, 40, status="error", error_type="ValueError")


def test_billed_duration_rounds_up_to_the_millisecond():
    assert billed_duration_ms(12.34) == 13
    assert billed_duration_ms(13.0) == 13
    assert billed_duration_ms(0.2) == 1


def test_init_lines():
    assert init_start_line("python:3.12.v38", "arn:aws:lambda:us-east-1::runtime:abc") == (
        "INIT_START Runtime Version: python:3.12.v38\tRuntime Version ARN: arn:aws:lambda:us-east-1::runtime:abc"
    )
    assert init_report_line(1236.04, "init", "timeout") == "INIT_REPORT Init Duration: 1236.04 ms\tPhase: init\tStatus: timeout"
    assert init_report_line(1236.04, "init", "error", "Extension.Crash") == (
        "INIT_REPORT Init Duration: 1236.04 ms\tPhase: init\tStatus: error\tError Type: Extension.Crash"
    )


def test_timeout_line():
    assert timeout_line(ID, 3, 0.0) == f"1970-01-01T00:00:00.000Z {ID} Task timed out after 3.00 seconds"
    assert iso_time(1.5) == "1970-01-01T00:00:01.500Z"


def test_line_splitter_keeps_partial_lines_until_flushed():
    splitter = LineSplitter()
    assert splitter.feed(b"one\ntw") == [b"one"]
    assert splitter.feed(b"o\nthree") == [b"two"]
    assert splitter.flush() == [b"three"] and splitter.flush() == []


def frame(frame_type: int, message: bytes, timestamp: int = 1_000_000) -> bytes:
    return struct.pack(">IIQ", frame_type, len(message), timestamp) + message


def test_telemetry_frames_are_decoded_across_reads():
    data = frame(0xA55A0003, b"[INFO] text\nwith two lines") + frame(0xA55A000E, b'{"level":"INFO"}', 5)
    decoder = TelemetryFrameDecoder()
    first = decoder.feed(data[:10])
    rest = decoder.feed(data[10:])
    assert first == []
    assert [(f.message, f.is_json, f.timestamp_us) for f in rest] == [
        (b"[INFO] text\nwith two lines", False, 1_000_000), (b'{"level":"INFO"}', True, 5),
    ]


def test_tail_buffer_keeps_the_last_4_kb():
    tail = TailBuffer()
    for number in range(1000):
        tail.append(f"line {number:04d}")
    value = tail.value()
    assert len(value) == 4096 and value.endswith(b"line 0999\n")
