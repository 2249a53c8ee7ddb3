"""An execution environment: the runtime process and its extensions, their /tmp, task root and
/opt, their environment variables and their API endpoint (Runtime, Extensions and Telemetry
APIs on one loopback port, as Lambda serves them on ``AWS_LAMBDA_RUNTIME_API``).

This is the shell around :class:`~lamina.local.lifecycle.Lifecycle`: it turns HTTP requests,
process exits and timers into lifecycle events, and carries out the actions that come back
(start a process, answer a ``next``, send a signal, write START/END/REPORT, emit telemetry).
Everything runs on the service's event loop; nothing here decides *what* happens next.

A streamed ``/response`` goes to the invocation's caller chunk by chunk through a
:class:`~lamina.local.response_streams.ResponseStream` when the caller asked for a stream
(:meth:`ExecutionEnvironment.invoke_streaming`); a caller of :meth:`ExecutionEnvironment.invoke`
gets it gathered, as Invoke does on Lambda.
"""

from __future__ import annotations

import asyncio
import json
import logging
import secrets
import shutil
import socket
import time
import uuid
from collections import deque
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path
from typing import Any, AsyncIterator, Callable, Generic, TypeVar

from aiohttp import web

from lamina.local import extensions_api, logs_api, runtime_api, telemetry_api
from lamina.local.errors import (
    MAX_RESPONSE_BYTES, function_error_body, response_stream_too_large, response_too_large,
)
from lamina.local.filesystem import FunctionFiles, bootstrap_candidates, find_bootstrap
from lamina.local.functions import ACCOUNT_ID, FunctionConfig, InvocationRequest, InvocationResult, StreamedInvocation
from lamina.local.lifecycle import (
    RUNTIME, Action, DeliverInvocation, EnvironmentReset, EnvironmentStopped, Event, ExitErrorReported,
    ExtensionNext, ExtensionRegistered, FunctionError, InitErrorReported, InitFinished, InitStarted, InvokeFinished,
    InvokeRequested, InvokeStarted, Lifecycle, LifecycleError, ProcessExited, ProcessFailedToStart,
    ResponseStreamAborted, ResponseStreamStarted, RuntimeAnswered, RuntimeNext, SendExtensionEvent, ShutdownRequested,
    SignalProcesses, StartExtensions, StartRuntime, State, Tick,
)
from lamina.local.logs import (
    LineSplitter, LogLine, TailBuffer, TelemetryFrameDecoder, billed_duration_ms, end_line, init_report_line,
    init_start_line, report_line, start_line, timeout_line,
)
from lamina.local.memory import MemoryMonitor, peak_kb, process_tree, to_mb
from lamina.local.processes import EnvironmentProcess, describe_start_error
from lamina.local.response_streams import ResponseStream
from lamina.local.settings import LocalLambdaSettings
from lamina.local.telemetry_api import TelemetryHub
from lamina.local.trailers import TrailerRegistry
from lamina.local.variables import function_environment, is_python, log_stream_name, runtime_version

logger = logging.getLogger(__name__)

MAX_HEADER_BYTES = 2 << 20
STOP_WAIT_SECONDS = 10.0  # after SIGKILL a process is gone in milliseconds; this is a safety net
SHUTDOWN_TELEMETRY_FLUSH_SECONDS = 0.5
# A streamed invocation abandoned by its caller (it disconnected mid-stream): what its REPORT
# says; the caller is gone and gets nothing.
CLIENT_DISCONNECTED = FunctionError("Client.Disconnected", "The caller disconnected before the response stream ended")


async def _one_chunk(payload: bytes) -> AsyncIterator[bytes]:
    if payload:
        yield payload


def make_trace_id(now: float | None = None) -> str:
    """An X-Ray trace header, as Lambda makes one when the caller sent none."""
    now = time.time() if now is None else now
    return f"Root=1-{int(now):08x}-{secrets.token_hex(12)};Parent={secrets.token_hex(8)};Sampled=0"


@dataclass
class _Call:
    """One invocation while this environment has it: from invoke() to REPORT."""

    request_id: str
    request: InvocationRequest
    invoked_arn: str
    trace_id: str
    future: asyncio.Future[InvocationResult]
    invocation_id: str = field(default_factory=lambda: str(uuid.uuid4()))
    tail: TailBuffer = field(default_factory=TailBuffer)
    deadline_ms: int = 0
    memory: MemoryMonitor | None = None
    answer: _Answer | None = None
    stream: ResponseStream | None = None  # the caller takes a streamed response as it comes
    on_finished: Callable[[], None] | None = None  # called once, at the invocation's end


class _Answer:
    """The body of a ``/response`` or ``/error``, as it arrives (runtime_api.AnswerWriter).

    A streamed response goes to the caller's stream as it arrives, or, for a caller that wants
    the whole response, is gathered up to the buffered limit (past it, the invocation fails
    with Function.ResponseSizeTooLarge, as a buffered response would)."""

    def __init__(
        self, environment: ExecutionEnvironment, call: _Call, error_type: str | None, content_type: str, streamed: bool
    ) -> None:
        self._environment = environment
        self.call = call
        self.error_type = error_type
        self.content_type = content_type
        self.streamed = streamed
        self.chunks: list[bytes] = []
        self.size = 0
        self.failure: FunctionError | None = None
        self.error_body: bytes | None = None  # a streamed response's error trailer, decoded
        self._cut = False

    async def write(self, chunk: bytes) -> bool:
        if self._cut:
            return False
        self.size += len(chunk)
        if not self.streamed:
            self.chunks.append(chunk)
            return True
        limit = self._environment.settings.max_response_stream_bytes
        stream = self.call.stream
        if self.size > limit:
            return self._cut_stream(response_stream_too_large(limit))
        if stream is None:
            if self.size <= MAX_RESPONSE_BYTES:
                self.chunks.append(chunk)
            return True
        if stream.detached or not await stream.put(chunk):
            return self._cut_stream(CLIENT_DISCONNECTED if stream.detached else None)
        return True

    def finish(self, error_type: str | None = None, error_body: bytes | None = None) -> None:
        if not self.streamed:
            self._commit(self.error_type)
            return
        if error_type is not None:
            self.error_type, self.error_body, self.chunks = error_type, error_body, []
        elif self.call.stream is None and self.size > MAX_RESPONSE_BYTES:
            self.chunks, self.failure = [], response_too_large(self.size)
            error_type = self.failure.error_type
        self._commit(error_type)
        if self.call.stream is not None:
            self.call.stream.close()  # every chunk is in: the caller gets the end

    def finish_too_large(self, size: int) -> None:
        self.chunks, self.size = [], size
        self.failure = response_too_large(size)
        self._commit(self.failure.error_type)

    def _cut_stream(self, failure: FunctionError | None) -> bool:
        """Stops taking the stream; ``failure`` (None: the invocation already ended) ends the
        invocation and resets the environment, since the runtime is still writing."""
        self._cut = True
        if failure is not None:
            self._environment.abort_stream(self.call, failure)
        return False

    def _commit(self, error_type: str | None) -> None:
        previous, self.call.answer = self.call.answer, self
        try:
            self._environment.dispatch(
                RuntimeAnswered(self.call.request_id, error_type, self._environment.now(), streamed=self.streamed)
            )
        except LifecycleError:
            self.call.answer = previous
            raise

    @property
    def body(self) -> bytes:
        return b"".join(self.chunks)


Item = TypeVar("Item")


class _Mailbox(Generic[Item]):
    """What a runtime's or extension's pending ``next`` will get; a new poll replaces an older
    one (a client that reconnected)."""

    def __init__(self) -> None:
        self.items: deque[Item] = deque()
        self._waiter: asyncio.Future[None] | None = None

    def put(self, item: Item) -> None:
        self.items.append(item)
        if self._waiter is not None and not self._waiter.done():
            self._waiter.set_result(None)

    async def take(self) -> Item:
        while not self.items:
            if self._waiter is not None and not self._waiter.done():
                self._waiter.cancel()
            self._waiter = asyncio.get_running_loop().create_future()
            await self._waiter
        return self.items.popleft()

    def clear(self) -> None:
        self.items.clear()
        if self._waiter is not None and not self._waiter.done():
            self._waiter.cancel()
        self._waiter = None


class ExecutionEnvironment:
    """One execution environment of one function version."""

    def __init__(
        self,
        environment_id: str,
        config: FunctionConfig,
        files: FunctionFiles,
        settings: LocalLambdaSettings,
        work_dir: Path,
        log_sink: Callable[[LogLine], None],
    ) -> None:
        self.environment_id = environment_id
        self.config = config
        self.files = files
        self.settings = settings
        self.tmp = work_dir / "environments" / environment_id / "tmp"
        self.log_stream_name = log_stream_name(config.version)
        self.lifecycle = Lifecycle(files.external_extensions, config.timeout_seconds, settings.init_timeout_seconds)
        self.telemetry = TelemetryHub()
        self.address = ""
        self.reserved = False  # the pool handed it to an invocation
        self.last_used = 0.0
        self._work_dir = work_dir
        self._log_sink = log_sink
        self._loop = asyncio.get_running_loop()
        self._runner: web.AppRunner | None = None
        self._processes: dict[str, EnvironmentProcess] = {}
        self._runtime_mailbox: _Mailbox[runtime_api.NextInvocation] = _Mailbox()
        self._extension_mailboxes: dict[str, _Mailbox[dict[str, Any]]] = {}
        self._call: _Call | None = None
        self._timer: asyncio.TimerHandle | None = None
        self._timer_at: float | None = None
        self._actions: deque[Action] = deque()
        self._follow_ups: deque[Event] = deque()
        self._running_actions = False
        self._changed = asyncio.Event()
        self._stopped = asyncio.Event()
        self._shutdown: asyncio.Task[None] | None = None
        self._splitters: dict[str, LineSplitter] = {}
        self._telemetry_decoder = TelemetryFrameDecoder()
        self._runtime_version = runtime_version(config, settings.region)
        self._trailers = TrailerRegistry(MAX_HEADER_BYTES)
        self._server: asyncio.AbstractServer | None = None

    # ------------------------------------------------------------------------ lifecycle

    async def start(self) -> None:
        """Creates /tmp and starts serving the APIs; no process runs before the first invoke."""
        self.tmp.mkdir(parents=True, exist_ok=True)
        # Runtimes send large headers (an X-Ray error cause may take up to 1 MiB) and error
        # bodies as large as responses: aiohttp's defaults (8 KB, 1 MiB) would refuse them.
        app = web.Application(
            client_max_size=MAX_RESPONSE_BYTES + MAX_HEADER_BYTES,
            handler_args={"max_field_size": MAX_HEADER_BYTES, "max_line_size": MAX_HEADER_BYTES},
        )
        runtime_api.add_routes(app, self, self._trailers)
        extensions_api.add_routes(app, self)
        telemetry_api.add_routes(app, self)
        logs_api.add_routes(app, self)
        self._runner = web.AppRunner(app, access_log=None, handle_signals=False)
        await self._runner.setup()
        listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        listener.bind(("127.0.0.1", 0))
        server = self._runner.server
        assert server is not None
        # aiohttp's low-level server, each connection behind a trailer tap (aiohttp drops
        # request trailers, which carry a streamed response's error).
        self._server = await self._loop.create_server(self._trailers.protocol_factory(server), sock=listener)
        self.address = f"127.0.0.1:{listener.getsockname()[1]}"
        self.last_used = self._loop.time()

    @property
    def state(self) -> State:
        return self.lifecycle.state

    @property
    def stopped(self) -> bool:
        return self._stopped.is_set()

    def now(self) -> float:
        return self._loop.time()

    def epoch_ms(self, monotonic: float) -> int:
        return int((time.time() + (monotonic - self._loop.time())) * 1000)

    async def invoke(
        self, request_id: str, request: InvocationRequest, invoked_arn: str, on_finished: Callable[[], None] | None = None
    ) -> InvocationResult:
        """Runs one invocation here (init first when needed) and returns its outcome; a
        streamed response comes gathered. ``on_finished`` is called once, when the environment
        is done with the invocation (also when it refused it, or its caller was cancelled)."""
        call = await self._begin(request_id, request, invoked_arn, None, on_finished)
        return await asyncio.shield(call.future)

    async def invoke_streaming(
        self, request_id: str, request: InvocationRequest, invoked_arn: str, on_finished: Callable[[], None] | None = None
    ) -> StreamedInvocation:
        """Runs one invocation here and returns as soon as its response starts: when the
        runtime starts a streamed ``/response`` (its chunks then come as they arrive), or when
        the invocation ended without one (a buffered response, an error, a crash).
        ``on_finished`` as for :meth:`invoke`: the invocation may outlive this call."""
        stream = ResponseStream()
        call = await self._begin(request_id, request, invoked_arn, stream, on_finished)
        try:
            waiting: set[asyncio.Future[Any]] = {stream.started, call.future}
            await asyncio.wait(waiting, return_when=asyncio.FIRST_COMPLETED)
        except asyncio.CancelledError:
            self._abandon(call)
            raise
        if stream.started.done() and not stream.started.cancelled():
            streamed = StreamedInvocation(
                stream.started.result(), self._relay(call, lambda result: streamed.finish(result)),
                request_id=request_id, executed_version=self.config.version,
            )
            return streamed
        result = call.future.result()
        invocation = StreamedInvocation(
            result.content_type, _one_chunk(b"" if result.function_error else result.payload),
            request_id=request_id, executed_version=self.config.version,
        )
        invocation.finish(result)
        return invocation

    async def _begin(
        self, request_id: str, request: InvocationRequest, invoked_arn: str, stream: ResponseStream | None,
        on_finished: Callable[[], None] | None,
    ) -> _Call:
        try:
            while self.lifecycle.state is State.RESETTING:  # a reset finishing: reuse the environment
                await self._wait_for_change()
            call = _Call(
                request_id, request, invoked_arn, request.trace_id or make_trace_id(), self._loop.create_future(),
                stream=stream, on_finished=on_finished,
            )
            self._call = call
            try:
                self.dispatch(InvokeRequested(request_id, self.now()))
            except LifecycleError:
                self._call = None
                raise
        except BaseException:
            if on_finished is not None:
                on_finished()
            raise
        return call

    async def _relay(self, call: _Call, finish: Callable[[InvocationResult], None]) -> AsyncIterator[bytes]:
        """The chunks of ``call``'s stream as they arrive; then ``finish`` gets the outcome
        (after REPORT). Closed before its end: the invocation is abandoned."""
        stream = call.stream
        assert stream is not None
        complete = False
        try:
            while (chunk := await stream.get()) is not None:
                yield chunk
            finish(await asyncio.shield(call.future))
            complete = True
        finally:
            if not complete:
                self._abandon(call)

    def _abandon(self, call: _Call) -> None:
        """The caller of a streamed invocation went away: a stream under way is cut, and the
        environment reset (a stream that has not started yet is cut when it starts)."""
        if call.stream is not None:
            call.stream.detach()
        self.abort_stream(call, CLIENT_DISCONNECTED)

    def abort_stream(self, call: _Call, failure: FunctionError) -> None:
        """Ends ``call``'s stream under way with ``failure`` (the lifecycle resets the
        environment); nothing happens when it is not streaming any more."""
        if self._call is call and self.lifecycle.state is State.STREAMING:
            try:
                self.dispatch(ResponseStreamAborted(call.request_id, failure, self.now()))
            except LifecycleError:
                logger.debug("environment %s: stream of %s already over", self.environment_id, call.request_id)

    async def shutdown(self) -> None:
        """Spindown (SHUTDOWN to extensions, SIGTERM, SIGKILL at the deadline), then closes the
        API endpoint and removes /tmp. Safe to call more than once, concurrently."""
        if self._shutdown is None:
            self._shutdown = self._loop.create_task(self._shut_down())
        await asyncio.shield(self._shutdown)

    async def _shut_down(self) -> None:
        if not self._stopped.is_set():
            self.dispatch(ShutdownRequested(self.now()))
            try:
                await asyncio.wait_for(self._stopped.wait(), STOP_WAIT_SECONDS)
            except asyncio.TimeoutError:
                logger.warning("environment %s: processes did not stop", self.environment_id)
        for process in self._processes.values():
            process.close()
        self._processes.clear()
        if self._timer is not None:
            self._timer.cancel()
        if self._server is not None:
            self._server.close()
            self._server = None
        await self.telemetry.aclose()
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None
        shutil.rmtree(self.tmp.parent, ignore_errors=True)

    async def _wait_for_change(self) -> None:
        await self._changed.wait()

    # ------------------------------------------------------------- events and actions

    def dispatch(self, event: Event) -> None:
        """Feeds ``event`` to the lifecycle and carries out its actions. Raises LifecycleError
        (nothing changed) when the lifecycle refuses the event."""
        actions = self.lifecycle.handle(event)
        self._actions.extend(actions)
        if self._running_actions:
            return
        self._running_actions = True
        try:
            while self._actions or self._follow_ups:
                if self._actions:
                    action = self._actions.popleft()
                    try:
                        self._perform(action)
                    except Exception:  # a bug here must not leave the invocation hanging
                        logger.exception("environment %s: %s failed", self.environment_id, action)
                else:
                    follow_up = self._follow_ups.popleft()
                    try:
                        self._actions.extend(self.lifecycle.handle(follow_up))
                    except LifecycleError:
                        logger.exception("environment %s: %s refused", self.environment_id, follow_up)
        finally:
            self._running_actions = False
        self._schedule_tick()
        self._changed.set()
        self._changed = asyncio.Event()

    def _schedule_tick(self) -> None:
        deadline = self.lifecycle.next_deadline
        if deadline == self._timer_at:
            return
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        self._timer_at = deadline
        if deadline is not None:
            self._timer = self._loop.call_at(deadline, self._tick)

    def _tick(self) -> None:
        self._timer = None
        # call_at may fire within the clock's resolution before the deadline: it is due.
        now = max(self.now(), self._timer_at or 0.0)
        self._timer_at = None
        self.dispatch(Tick(now))

    def _perform(self, action: Action) -> None:
        getattr(self, "_do_" + type(action).__name__)(action)

    def _do_StartExtensions(self, action: StartExtensions) -> None:
        environment = self._process_environment()
        for name in action.names:
            path = self.files.extension_path(name)
            try:
                self._processes[name] = EnvironmentProcess(
                    name, [str(path)], environment, self.files.task_root,
                    on_output=partial(self._extension_output, name), on_exit=partial(self._process_exited, name),
                    loop=self._loop,
                )
            except OSError as exc:
                self._follow_ups.append(ProcessFailedToStart(
                    name, "Extension.LaunchError", describe_start_error(path, exc), self.now()
                ))

    def _do_StartRuntime(self, action: StartRuntime) -> None:
        self._runtime_mailbox.clear()
        self._splitters.pop(RUNTIME, None)
        self._telemetry_decoder = TelemetryFrameDecoder()
        environment = self._process_environment()
        if is_python(self.config):
            argv = list(self.settings.python_command)
            path: Path | str = argv[0]
        else:
            bootstrap = find_bootstrap(self.files)
            if bootstrap is None:
                candidates = " ".join(str(p) for p in bootstrap_candidates(self.files))
                self._follow_ups.append(ProcessFailedToStart(
                    RUNTIME, "Runtime.InvalidEntrypoint", f"Couldn't find valid bootstrap(s): [{candidates}]", self.now()
                ))
                return
            argv, path = [str(bootstrap)], bootstrap
        wrapper = self.config.environment.get("AWS_LAMBDA_EXEC_WRAPPER")
        if wrapper and is_python(self.config):
            argv.insert(0, wrapper)
        try:
            self._processes[RUNTIME] = EnvironmentProcess(
                RUNTIME, argv, environment, self.files.task_root,
                on_output=self._runtime_output, on_exit=partial(self._process_exited, RUNTIME), loop=self._loop,
                on_telemetry_log=self._runtime_telemetry_log if is_python(self.config) else None,
            )
        except OSError as exc:
            self._follow_ups.append(ProcessFailedToStart(
                RUNTIME, "Runtime.InvalidEntrypoint", describe_start_error(path, exc), self.now()
            ))

    def _do_DeliverInvocation(self, action: DeliverInvocation) -> None:
        call = self._require_call(action.request_id)
        call.deadline_ms = self.epoch_ms(action.deadline)
        request = call.request
        self._runtime_mailbox.put(runtime_api.NextInvocation(
            request_id=call.request_id, payload=request.payload, deadline_ms=call.deadline_ms,
            invoked_function_arn=call.invoked_arn, trace_id=call.trace_id, invocation_id=call.invocation_id,
            client_context=request.client_context, cognito_identity=request.cognito_identity,
            tenant_id=request.tenant_id,
        ))
        call.memory = MemoryMonitor([p.pid for p in self._processes.values() if p.returncode is None])
        call.memory.start()

    def _do_SendExtensionEvent(self, action: SendExtensionEvent) -> None:
        mailbox: _Mailbox[dict[str, Any]] = self._extension_mailboxes.setdefault(action.extension_id, _Mailbox())
        deadline_ms = self.epoch_ms(action.deadline)
        if action.event_type == "INVOKE":
            call = self._require_call(action.request_id or "")
            mailbox.put(extensions_api.invoke_event(deadline_ms, call.request_id, call.invoked_arn, call.trace_id))
            return
        event = extensions_api.shutdown_event(action.shutdown_reason or "spindown", deadline_ms)
        name = self.extension_name(action.extension_id)

        async def flush_then_shut_down() -> None:
            # The extension's last telemetry (this invocation's platform.report) goes out first.
            await self.telemetry.flush(name, SHUTDOWN_TELEMETRY_FLUSH_SECONDS)
            mailbox.put(event)

        self._loop.create_task(flush_then_shut_down())

    def _do_SignalProcesses(self, action: SignalProcesses) -> None:
        for name in action.processes:
            process = self._processes.get(name)
            if process is not None:
                process.signal(action.signal)

    def _do_InitStarted(self, action: InitStarted) -> None:
        self.telemetry.begin_init()
        version, version_arn = self._runtime_version
        if action.phase == "init":
            self._platform_log(init_start_line(version, version_arn))
        self.telemetry.emit("platform.initStart", {
            "initializationType": "on-demand", "phase": action.phase, "runtimeVersion": version,
            "runtimeVersionArn": version_arn, "functionName": self.config.name,
            "functionVersion": self.config.version,
        })

    def _do_InitFinished(self, action: InitFinished) -> None:
        self._drain_output()
        duration_ms = action.duration * 1000
        if action.status != "success":
            self._platform_log(init_report_line(duration_ms, action.phase, action.status, action.error_type))
        record: dict[str, Any] = {"initializationType": "on-demand", "phase": action.phase, "status": action.status}
        if action.status != "success" and action.error_type and action.status != "timeout":
            record["errorType"] = action.error_type
        self.telemetry.emit("platform.initRuntimeDone", dict(record))
        self.telemetry.emit("platform.initReport", dict(record, metrics={"durationMs": round(duration_ms, 3)}))
        self.telemetry.end_init()

    def _do_InvokeStarted(self, action: InvokeStarted) -> None:
        call = self._require_call(action.request_id)
        self._platform_log(start_line(call.request_id, self.config.version))
        self.telemetry.emit("platform.start", {
            "requestId": call.request_id, "version": self.config.version,
            "tracing": {"type": "X-Amzn-Trace-Id", "value": call.trace_id},
        })

    def _do_InvokeFinished(self, action: InvokeFinished) -> None:
        call = self._require_call(action.request_id)
        self._drain_output()
        if action.failure is not None and action.failure.error_type == "Sandbox.Timedout":
            self._platform_log(timeout_line(call.request_id, self.config.timeout_seconds))
        self._platform_log(end_line(call.request_id))
        self.telemetry.emit("platform.end", {"requestId": call.request_id})  # the Logs API's END
        if call.memory is not None:
            max_memory_mb = call.memory.stop()
        else:
            max_memory_mb = to_mb(peak_kb(process_tree([p.pid for p in self._processes.values() if p.returncode is None])))
        duration_ms = action.duration * 1000
        init_ms = action.init_duration * 1000 if action.init_duration is not None else None
        self._platform_log(report_line(
            call.request_id, duration_ms, self.config.memory_mb, max_memory_mb, init_ms, action.status, action.error_type
        ))
        tracing = {"type": "X-Amzn-Trace-Id", "value": call.trace_id}
        status: dict[str, Any] = {"requestId": call.request_id, "status": action.status}
        if action.error_type and action.status != "success":
            status["errorType"] = action.error_type
        produced = call.answer.size if call.answer is not None and call.answer.failure is None else 0
        self.telemetry.emit("platform.runtimeDone", dict(
            status, metrics={"durationMs": round(action.runtime_duration * 1000, 3), "producedBytes": produced},
            tracing=tracing,
        ))
        metrics: dict[str, Any] = {
            "durationMs": round(duration_ms, 3), "billedDurationMs": billed_duration_ms(duration_ms),
            "memorySizeMB": self.config.memory_mb, "maxMemoryUsedMB": max_memory_mb,
        }
        if init_ms is not None:
            metrics["initDurationMs"] = round(init_ms, 3)
        self.telemetry.emit("platform.report", dict(status, metrics=metrics, tracing=tracing))
        result = self._result(call, action, duration_ms, max_memory_mb, init_ms)
        self._call = None
        self.last_used = self._loop.time()
        if not call.future.done():
            call.future.set_result(result)
        if call.stream is not None:
            call.stream.close()
        if call.on_finished is not None:
            # Now, not at the future's callbacks: a caller that abandoned a stream may invoke
            # again at once, and must find the environment (and its concurrency) free.
            on_finished, call.on_finished = call.on_finished, None
            on_finished()

    def _do_EnvironmentReset(self, action: EnvironmentReset) -> None:
        self._forget_processes()

    def _do_EnvironmentStopped(self, action: EnvironmentStopped) -> None:
        self._forget_processes()
        self._stopped.set()

    def _forget_processes(self) -> None:
        self._drain_output()
        self._runtime_mailbox.clear()
        for mailbox in self._extension_mailboxes.values():
            mailbox.clear()
        self._extension_mailboxes.clear()
        for process in self._processes.values():
            process.close()
        self._processes.clear()
        self.telemetry.end_subscriptions()

    def _result(
        self, call: _Call, action: InvokeFinished, duration_ms: float, max_memory_mb: int, init_ms: float | None
    ) -> InvocationResult:
        answer = call.answer
        content_type = "application/json"
        function_error: str | None = "Unhandled"
        if action.failure is not None:
            payload = function_error_body(action.failure, call.request_id)
        elif answer is None:  # cannot happen: a phase only completes after an answer
            payload = function_error_body(FunctionError("Runtime.Unknown", "no answer"), call.request_id)
        elif answer.failure is not None:
            payload = function_error_body(answer.failure, call.request_id)
        elif answer.error_type is not None:
            body = answer.error_body if answer.streamed else answer.body
            payload = body or json.dumps({"errorMessage": "", "errorType": answer.error_type}).encode()
        else:
            payload, content_type, function_error = answer.body, answer.content_type, None
        return InvocationResult(
            request_id=call.request_id, payload=payload, executed_version=self.config.version,
            function_error=function_error, content_type=content_type, log_tail=call.tail.value(),
            status=action.status, error_type=action.error_type, duration_ms=duration_ms,
            billed_duration_ms=billed_duration_ms(duration_ms), max_memory_used_mb=max_memory_mb,
            init_duration_ms=init_ms,
        )

    def _require_call(self, request_id: str) -> _Call:
        call = self._call
        if call is None or call.request_id != request_id:
            raise RuntimeError(f"no invocation {request_id} in environment {self.environment_id}")
        return call

    def _process_exited(self, name: str, description: str) -> None:
        self._flush_partial(name)
        self.dispatch(ProcessExited(name, description, self.now()))

    def _process_environment(self) -> dict[str, str]:
        return function_environment(
            self.config, self.files, self.settings, self.address, self.tmp, self.log_stream_name, self._work_dir
        )

    # ------------------------------------------------------------------------------ logs

    def _runtime_output(self, data: bytes) -> None:
        splitter = self._splitters.setdefault(RUNTIME, LineSplitter())
        for line in splitter.feed(data):
            self._log(line.decode("utf-8", "replace"), "function")

    def _runtime_telemetry_log(self, data: bytes) -> None:
        for frame in self._telemetry_decoder.feed(data):
            text = frame.message.decode("utf-8", "replace").rstrip("\n")
            record: Any = text
            if frame.is_json:
                try:
                    record = json.loads(text)
                except ValueError:
                    pass
            self._log(text, "function", record=record, timestamp=frame.timestamp_us / 1e6 if frame.timestamp_us else None)

    def _extension_output(self, name: str, data: bytes) -> None:
        splitter = self._splitters.setdefault(name, LineSplitter())
        for line in splitter.feed(data):
            self._log(line.decode("utf-8", "replace"), "extension")

    def _flush_partial(self, name: str) -> None:
        process = self._processes.get(name)
        if process is not None:
            process.drain()
        splitter = self._splitters.get(name)
        if splitter is not None:
            for line in splitter.flush():
                self._log(line.decode("utf-8", "replace"), "function" if name == RUNTIME else "extension")

    def _drain_output(self) -> None:
        """Logs what the processes wrote before now (it precedes the line about to be written)."""
        for name in list(self._processes):
            self._flush_partial(name)

    def _platform_log(self, text: str) -> None:
        self._log(text, "platform")

    def _log(self, text: str, source: str, record: Any = None, timestamp: float | None = None) -> None:
        timestamp = time.time() if timestamp is None else timestamp
        if self._call is not None:
            self._call.tail.append(text)
        if source != "platform":
            self.telemetry.emit(source, text if record is None else record, timestamp)
        try:
            self._log_sink(LogLine(self.config.name, self.config.version, self.log_stream_name, timestamp, text, source))
        except Exception:  # the sink is the user's: its failure must not break the invocation
            logger.exception("log sink failed")

    # ------------------------------------------------------- Runtime API backend

    async def runtime_next(self) -> runtime_api.NextInvocation:
        self.dispatch(RuntimeNext(self.now()))
        return await self._runtime_mailbox.take()

    def open_answer(
        self, request_id: str, invocation_id: str | None, error_type: str | None, content_type: str, streaming: bool
    ) -> _Answer:
        self.lifecycle.check_answer(request_id, error=error_type is not None)
        call = self._call
        assert call is not None
        if invocation_id is not None and invocation_id != call.invocation_id:
            raise LifecycleError(400, "InvalidRequestID", "Invalid request ID")
        answer = _Answer(self, call, error_type, content_type, streaming)
        if streaming:
            self.dispatch(ResponseStreamStarted(request_id, self.now()))
            if call.stream is not None:
                call.stream.start(content_type)
                if call.stream.detached:  # its caller went away before it started
                    self.abort_stream(call, CLIENT_DISCONNECTED)
        return answer

    def runtime_init_error(self, error_type: str, body: bytes) -> None:
        self.dispatch(InitErrorReported(error_type, body or None, self.now()))

    # ---------------------------------------------------- Extensions API backend

    def register_extension(self, name: str, events: tuple[str, ...], account_id: bool) -> tuple[str, dict[str, Any]]:
        extension_id = str(uuid.uuid4())
        self.dispatch(ExtensionRegistered(extension_id, name, events, self.now()))
        self._extension_mailboxes[extension_id] = _Mailbox()
        self.telemetry.emit("platform.extension", {"name": name, "state": "Ready", "events": list(events)})
        answer: dict[str, Any] = {
            "functionName": self.config.name, "functionVersion": self.config.version, "handler": self.config.handler,
        }
        if account_id:
            answer["accountId"] = ACCOUNT_ID
        return extension_id, answer

    async def extension_next(self, extension_id: str) -> dict[str, Any]:
        self.dispatch(ExtensionNext(extension_id, self.now()))
        mailbox: _Mailbox[dict[str, Any]] = self._extension_mailboxes.setdefault(extension_id, _Mailbox())
        return await mailbox.take()

    def extension_error(self, extension_id: str, error_type: str, body: bytes, phase: str) -> None:
        if phase == "init":
            self.dispatch(InitErrorReported(error_type, body or None, self.now(), extension_id=extension_id))
        else:
            self.dispatch(ExitErrorReported(extension_id, error_type, self.now()))

    # ----------------------------------------------------- Telemetry API backend

    def extension_name(self, extension_id: str) -> str:
        extension = self.lifecycle.extensions.get(extension_id)
        if extension is None:
            raise LifecycleError(403, "Extension.UnknownExtensionIdentifier", f"Unknown extension {extension_id}")
        return extension.name
