"""The ``lamina`` command."""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import threading
import time
from pathlib import Path

from lamina.testing.runtime_api import ScriptedInvocation, ScriptedRuntimeApi


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="lamina", description="Run Python functions the way AWS Lambda does.")
    commands = parser.add_subparsers(dest="command", required=True)
    invoke = commands.add_parser("invoke", help="run one invocation of a handler locally")
    invoke.add_argument("handler", help="MODULE.FUNCTION, as in the function's Handler setting")
    invoke.add_argument("--root", default=".", help="the function's code directory (task root)")
    invoke.add_argument("--event", default="{}", help="the event: JSON text, or @FILE")
    invoke.add_argument("--timeout", type=float, default=3.0, help="seconds before the invocation times out")
    invoke.add_argument("--memory", type=int, default=128, help="memory size in MB")
    invoke.add_argument("--env", action="append", default=[], metavar="KEY=VALUE", help="a function environment variable")
    arguments = parser.parse_args(argv)
    return invoke_once(arguments)


def invoke_once(arguments: argparse.Namespace) -> int:
    """Runs the handler in a lamina runtime process against a local Runtime API; prints the
    result on stdout and the function's log on stderr. Exit status 1 on a function error."""
    root = Path(arguments.root).resolve()
    event = Path(arguments.event[1:]).read_bytes() if arguments.event.startswith("@") else arguments.event.encode()
    function_name = root.name or "function"
    environment = dict(os.environ)
    environment.update(
        AWS_LAMBDA_FUNCTION_NAME=function_name,
        AWS_LAMBDA_FUNCTION_VERSION="$LATEST",
        AWS_LAMBDA_FUNCTION_MEMORY_SIZE=str(arguments.memory),
        AWS_LAMBDA_LOG_GROUP_NAME=f"/aws/lambda/{function_name}",
        AWS_LAMBDA_LOG_STREAM_NAME=time.strftime("%Y/%m/%d/[$LATEST]") + os.urandom(16).hex(),
        LAMBDA_TASK_ROOT=str(root),
        _HANDLER=arguments.handler,
    )
    for assignment in arguments.env:
        key, _, value = assignment.partition("=")
        environment[key] = value

    with ScriptedRuntimeApi() as api:
        environment["AWS_LAMBDA_RUNTIME_API"] = api.address
        runtime = subprocess.Popen(
            [sys.executable, "-m", "lamina"], cwd=root, env=environment, stdout=subprocess.PIPE, stderr=subprocess.STDOUT
        )
        relay = threading.Thread(target=_relay_log, args=(runtime.stdout,), daemon=True)
        relay.start()
        invocation = api.push(
            ScriptedInvocation(event=event, deadline_ms=int((time.time() + arguments.timeout) * 1000))
        )
        try:
            reply = _wait_for_reply(api, invocation, runtime, arguments.timeout)
        finally:
            runtime.terminate()
            runtime.wait()
            relay.join(timeout=1)
    if reply is None:
        if runtime.returncode not in (0, -15):
            error = {"errorType": "Runtime.ExitError", "errorMessage": f"Runtime exited with error: exit status {runtime.returncode}"}
        else:
            error = {"errorType": "Sandbox.Timedout", "errorMessage": f"Task timed out after {arguments.timeout:.2f} seconds"}
        print(json.dumps(error))
        return 1
    sys.stdout.buffer.write(reply.body + b"\n")
    return 0 if reply.path.endswith("/response") else 1


def _relay_log(output) -> None:
    """The function's log to stderr; an error line's "\r" separators (one CloudWatch event on
    Lambda) become line breaks, so that a terminal shows the traceback."""
    for line in iter(output.readline, b""):
        sys.stderr.buffer.write(line.replace(b"\r", b"\n"))
        sys.stderr.flush()


def _wait_for_reply(api: ScriptedRuntimeApi, invocation: ScriptedInvocation, runtime: subprocess.Popen, timeout: float):
    """The runtime's /response, /error or /init/error post, or None after a timeout or a crash."""

    def is_reply(request) -> bool:
        return request.method == "POST" and (
            request.request_id == invocation.request_id or request.path.endswith("/init/error")
        )

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline and runtime.poll() is None:
        try:
            return api.wait_for(is_reply, timeout=0.05)
        except TimeoutError:
            continue
    return next((request for request in api.requests if is_reply(request)), None)


if __name__ == "__main__":
    sys.exit(main())
