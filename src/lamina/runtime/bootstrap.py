"""The runtime's entry point: init (configuration, logs, handler, SnapStart), then the native
invocation loop. ``python -m lamina [HANDLER]`` runs :func:`main`."""

from __future__ import annotations

import os
import sys

from lamina import _core, streaming
from lamina.runtime import errors, logs
from lamina.runtime.config import ConfigurationError, RuntimeConfig
from lamina.runtime.context import Context
from lamina.runtime.errors import FaultError
from lamina.runtime.handler import resolve_handler

# awslambdaric logs this before every init failure; users grep for it.
UNHANDLED_EXCEPTION_WARNING = (
    "LAMBDA_WARNING: Unhandled exception. The most likely cause is an issue in the function code. "
    "However, in rare cases, a Lambda runtime update can cause unexpected function behavior. "
    "For functions using managed runtimes, runtime updates can be triggered by a function change, "
    "or can be applied automatically. To determine if the runtime has been updated, check the "
    "runtime version in the INIT_START log entry. If this error correlates with a change in the "
    "runtime version, you may be able to mitigate this error by temporarily rolling back to the "
    "previous runtime version. For more information, see "
    "https://docs.aws.amazon.com/lambda/latest/dg/runtimes-update.html\r"
)
_CO_COROUTINE = 0x80

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any, Callable, NoReturn


class InvocationHooks:
    """What the native invocation loop calls into for each invocation (read once)."""

    def __init__(self, handler: Callable[[Any, Context], Any], config: RuntimeConfig) -> None:
        self.handler = handler
        self.make_context = Context
        self.function_info = (
            config.function_name,
            config.function_version,
            config.memory_size,
            config.log_group_name,
            config.log_stream_name,
        )
        self.begin_invocation = logs.begin_invocation
        # The loop sets _X_AMZN_TRACE_ID in the C environment itself (os.environ's putenv
        # leaks every replaced value) and keeps os.environ's own dict in step.
        self.environ_data = os.environ._data  # type: ignore[attr-defined]
        self.end_invocation = logs.end_invocation
        self.report_error = errors.report_invocation_error
        self.fault_error = FaultError
        self.warn = _warn
        self.streams_response = streaming.is_stream_response_handler(handler)
        self.make_response_stream = streaming.ResponseStream
        # A vectorized handler (lamina.arrays) declares the arrays the loop reads into numpy.
        plan = getattr(handler, "numeric_arrays", None)
        self.numeric_arrays = plan if isinstance(plan, _core.NumericArrayPlan) else None
        # One event loop for the process, created at init: pooled async clients survive
        # between invocations (asyncio.run per invocation would close them).
        self._event_loop = _new_event_loop() if _is_coroutine_function(handler) else None

    def run_awaitable(self, awaitable: Any) -> Any:
        if self._event_loop is None:  # a plain function that returned a coroutine
            self._event_loop = _new_event_loop()
        return self._event_loop.run_until_complete(awaitable)

    def drain_into_stream(self, items: Any, stream: streaming.ResponseStream) -> None:
        """Streams what a generator handler yields (an async one on the runtime's event loop)."""
        if hasattr(items, "__anext__"):
            self.run_awaitable(streaming.drain_async(items, stream))
        else:
            streaming.drain(items, stream)


def main() -> None:
    """``python -m lamina [HANDLER]``: the runtime process."""
    try:
        config = RuntimeConfig.from_environment(sys.argv[1:], os.environ)
    except ConfigurationError as exc:
        sys.exit(f"lamina: {exc}")
    os.environ.pop("_LAMBDA_TELEMETRY_LOG_FD", None)  # the descriptor is the runtime's alone
    try:
        if config.max_concurrency:
            from lamina.runtime import concurrency  # Managed Instances only

            sys.exit(concurrency.run_workers(config, run))
        run(config)
    except _core.RuntimeApiError as exc:
        sys.exit(f"lamina: {exc}")


def run(config: RuntimeConfig, keep_serving_on_failures: bool = False) -> None:
    """Init, then serve invocations until the process is told to end."""
    _prepare_process(config)
    sink = logs.TelemetrySink(config.telemetry_fd) if config.telemetry_fd is not None else logs.StdoutSink()
    logs.setup(sink, config.json_logs, config.log_level)
    client = _core.RuntimeApiClient(config.runtime_api)
    try:
        hooks = InvocationHooks(resolve_handler(config.handler), config)
    except BaseException as exc:
        fail_init(client, exc)
    if config.snap_start:
        from lamina.runtime import snapstart  # SnapStart functions only

        snapstart.run_hooks(client)
    _core.keep_freed_memory_for_next_invocation()
    _core.InvocationLoop(client, hooks, keep_serving_on_failures).run()


def fail_init(client: Any, exc: BaseException) -> NoReturn:
    """Reports an init failure to Lambda and the log, then ends the process with status 1."""
    import logging

    report = errors.describe(exc)
    logging.warning(UNHANDLED_EXCEPTION_WARNING)
    logs.log_uncaught_error(report.body)
    # A second Managed Instances worker gets 403 here: another worker reported it first.
    client.post_init_error(report.encoded_body(), report.error_type)
    sys.exit(1)


def _prepare_process(config: RuntimeConfig) -> None:
    if config.task_root:
        sys.path.insert(0, config.task_root)
        if os.path.isdir(config.task_root):
            os.chdir(config.task_root)
    # Lambda reads stdout line by line: flush per line, not per write() as awslambdaric does.
    if hasattr(sys.stdout, "reconfigure"):
        sys.stdout.reconfigure(line_buffering=True)


def _warn(message: str) -> None:
    """A warning line in the function log (the runtime's own, e.g. a 410 answer)."""
    import logging

    logging.getLogger("lamina.runtime").warning(message)


def _is_coroutine_function(function: Any) -> bool:
    code = getattr(getattr(function, "__func__", function), "__code__", None)
    return code is not None and bool(code.co_flags & _CO_COROUTINE)


def _new_event_loop() -> Any:
    import asyncio  # only async handlers pay for it

    event_loop = asyncio.new_event_loop()
    asyncio.set_event_loop(event_loop)
    return event_loop
