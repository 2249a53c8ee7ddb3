"""Handlers the local Lambda's tests run, through lamina (python3.12) and through awslambdaric
(provided.al2023, its bootstrap in a layer)."""

import json
import os
import shutil
import signal
import subprocess
import sys
import time

print("app imported", flush=True)
if os.environ.get("SLEEP_AT_IMPORT"):
    time.sleep(float(os.environ["SLEEP_AT_IMPORT"]))
if os.environ.get("FAIL_AT_IMPORT"):
    raise RuntimeError("failing at import, as asked")
if os.environ.get("SIGTERM_FILE"):

    def _on_sigterm(number, frame):
        with open(os.environ["SIGTERM_FILE"], "w") as record:
            record.write("SIGTERM")
        sys.exit(0)

    signal.signal(signal.SIGTERM, _on_sigterm)


def echo(event, context):
    print("echo got", json.dumps(event), flush=True)
    return event


def context_info(event, context):
    return {
        "request_id": context.aws_request_id,
        "arn": context.invoked_function_arn,
        "remaining_ms": context.get_remaining_time_in_millis(),
        "memory": context.memory_limit_in_mb,
        "log_stream": context.log_stream_name,
        "trace": os.environ.get("_X_AMZN_TRACE_ID"),
        "client_context": context.client_context.custom if context.client_context else None,
    }


def environment(event, context):
    return dict(os.environ)


def sleep(event, context):
    time.sleep(event.get("seconds", 0.5))
    return {"slept": event.get("seconds", 0.5), "pid": os.getpid()}


def tmp_marker(event, context):
    """Returns the marker a previous invocation left in /tmp, writes this one's, then sleeps
    (past the timeout when asked to)."""
    path = os.path.join(os.environ["TMPDIR"], "marker")
    previous = open(path).read() if os.path.exists(path) else None
    with open(path, "w") as marker:
        marker.write(event.get("marker", "written"))
    time.sleep(event.get("seconds", 0))
    return {"previous": previous, "tmp": os.environ["TMPDIR"]}


def exits(event, context):
    sys.stdout.flush()
    os._exit(event.get("status", 1))


def killed(event, context):
    os.kill(os.getpid(), signal.SIGKILL)


def raises(event, context):
    raise ValueError(event.get("message", "boom"))


def big_response(event, context):
    return "x" * event.get("size", 7_000_000)


def allocate(event, context):
    block = b"\x01" * (event.get("megabytes", 200) << 20)  # written, so resident
    time.sleep(0.2)
    return len(block)


def layers(event, context):
    """What the layers put on PATH (and, for Python runtimes, on sys.path)."""
    answer = {"tool": None, "only_first": shutil.which("only-first") is not None}
    if shutil.which("which-layer"):
        answer["tool"] = subprocess.run(["which-layer"], capture_output=True, text=True).stdout.strip()
    try:
        import shared_module  # from <opt>/python

        answer["python"] = shared_module.VALUE
    except ImportError:
        answer["python"] = None
    return answer


def prints_lines(event, context):
    for number in range(event.get("lines", 3)):
        print(f"line {number}")
    return "printed"


def floods_output(event, context):
    """Prints without end from a thread, and answers meanwhile."""
    import threading

    def flood():
        while True:
            print("flood " * 50)

    threading.Thread(target=flood, daemon=True).start()
    time.sleep(0.2)
    return "answered while flooding"
