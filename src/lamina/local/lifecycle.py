"""The lifecycle of one execution environment, as a pure state machine.

Events go in (:meth:`Lifecycle.handle`), actions come out; there are no sockets, processes
or clocks in here: every event carries the time (``now``, in seconds on any monotonic clock)
and :attr:`Lifecycle.next_deadline` says when the shell must send a :class:`Tick`. The shell
(:mod:`lamina.local.environment`) starts processes, answers HTTP requests and writes logs
as the actions say.

The rules are Lambda's ("Lambda execution environment lifecycle" in the developer guide,
emulator.md):

- Init: external extensions start first; the runtime starts when every one of them has
  registered; init ends when the runtime and every extension have called ``next``. A first
  init has 10 s; when it fails or times out it is retried inside the first invoke, with the
  function's timeout (phase ``invoke``).
- Invoke: the runtime gets the invocation and extensions subscribed to INVOKE get an INVOKE
  event; the phase ends when the runtime has answered and it and every extension have called
  ``next`` again. The function's timeout bounds the whole phase.
- Response streaming: a ``/response`` in streaming mode keeps the invocation running until
  its body ends; error trailers make it the function's error, and ``/error`` is no longer
  allowed. The timeout and crashes apply as before the answer. A stream the local Lambda
  stops reading (its caller went away, or it exceeded the size limit) resets the environment.
- A crash or a timeout resets the environment: the runtime is killed, external extensions get
  SHUTDOWN (reason ``timeout`` or ``failure``); the next invoke re-runs init as a *suppressed*
  init (phase ``invoke``, no INIT_START line, its time counted in the invoke's Duration).
- Shutdown (spindown): SHUTDOWN to external extensions, SIGTERM to the runtime when any
  extension registered, SIGKILL at the deadline: 2 s with external extensions, 500 ms with
  internal ones only, at once with none.

``python -m lamina.local.lifecycle --diagram`` prints the transition table as a Mermaid state
diagram (``--format dot`` for Graphviz).
"""

from __future__ import annotations

import argparse
import enum
import sys
from dataclasses import dataclass, field
from typing import Iterable, Union

MAX_EXTENSIONS = 10
EXTENSION_EVENTS = ("INVOKE", "SHUTDOWN")
SHUTDOWN_GRACE_EXTERNAL = 2.0  # seconds before SIGKILL with external extensions
SHUTDOWN_GRACE_INTERNAL = 0.5  # ... with internal extensions only
RUNTIME = "runtime"  # the process name of the runtime; extensions go by their file names


class State(enum.Enum):
    UNINITIALIZED = "Uninitialized"  # no process; fresh, or after a reset (init is then suppressed)
    INITIALIZING = "Initializing"  # extensions and runtime starting, until all called next
    IDLE = "Idle"  # everyone waits in next: Lambda would freeze the environment here
    INVOKING = "Invoking"  # the runtime has the invocation and has not answered yet
    STREAMING = "Streaming"  # the runtime is sending a streamed response; it ends with the body
    FINISHING = "Finishing"  # answered; waiting for the runtime and extensions to call next
    RESETTING = "Resetting"  # after a failure: processes being stopped; /tmp survives
    SHUTTING_DOWN = "ShuttingDown"  # spindown: SHUTDOWN event, SIGTERM, SIGKILL at the deadline
    STOPPED = "Stopped"


# ---------------------------------------------------------------------------------- events


@dataclass(frozen=True)
class InvokeRequested:
    request_id: str
    now: float


@dataclass(frozen=True)
class ExtensionRegistered:
    extension_id: str
    name: str
    events: tuple[str, ...]
    now: float


@dataclass(frozen=True)
class ExtensionNext:
    extension_id: str
    now: float


@dataclass(frozen=True)
class RuntimeNext:
    now: float


@dataclass(frozen=True)
class RuntimeAnswered:
    """``/response`` or ``/error`` for ``request_id``; ``error_type`` is None for a response.
    ``streamed``: the end of a streamed response (its error trailers give ``error_type``)."""

    request_id: str
    error_type: str | None
    now: float
    streamed: bool = False


@dataclass(frozen=True)
class ResponseStreamStarted:
    """A ``/response`` in streaming mode began; its body follows chunk by chunk."""

    request_id: str
    now: float


@dataclass(frozen=True)
class ResponseStreamAborted:
    """The local Lambda stops reading a streamed response before its end (its caller went
    away, or it exceeded the size limit): the invocation fails with ``failure``, and the
    environment is reset, since the runtime is still writing."""

    request_id: str
    failure: FunctionError
    now: float


@dataclass(frozen=True)
class InitErrorReported:
    """``/runtime/init/error`` (extension_id None) or ``/extension/init/error``."""

    error_type: str
    body: bytes | None
    now: float
    extension_id: str | None = None


@dataclass(frozen=True)
class ExitErrorReported:
    """``/extension/exit/error``: the extension is about to exit with this error type."""

    extension_id: str
    error_type: str
    now: float


@dataclass(frozen=True)
class ProcessExited:
    """The runtime (``process == RUNTIME``) or an external extension (its name) exited;
    ``description`` is Lambda's (Go's) wording: ``exit status 1``, ``signal: killed``."""

    process: str
    description: str
    now: float


@dataclass(frozen=True)
class ProcessFailedToStart:
    process: str
    error_type: str  # Runtime.InvalidEntrypoint, Extension.LaunchError
    message: str
    now: float


@dataclass(frozen=True)
class Tick:
    """Time passed: the shell sends one at :attr:`Lifecycle.next_deadline`."""

    now: float


@dataclass(frozen=True)
class ShutdownRequested:
    """Spindown: idle too long, the function changed, or the service stops."""

    now: float


Event = Union[
    InvokeRequested, ExtensionRegistered, ExtensionNext, RuntimeNext, RuntimeAnswered, ResponseStreamStarted,
    ResponseStreamAborted, InitErrorReported, ExitErrorReported, ProcessExited, ProcessFailedToStart, Tick,
    ShutdownRequested,
]

# --------------------------------------------------------------------------------- actions


@dataclass(frozen=True)
class FunctionError:
    """A failure the caller gets as the function's error: ``body`` when the runtime or an
    extension wrote it (init errors), else built from type and message ("RequestId: <id>
    Error: <message>", see :mod:`lamina.local.errors`)."""

    error_type: str
    message: str = ""
    body: bytes | None = None


@dataclass(frozen=True)
class StartExtensions:
    names: tuple[str, ...]


@dataclass(frozen=True)
class StartRuntime:
    pass


@dataclass(frozen=True)
class DeliverInvocation:
    """Answer the runtime's pending ``next`` with this invocation."""

    request_id: str
    deadline: float


@dataclass(frozen=True)
class SendExtensionEvent:
    """Answer (now or at its next call) the extension's ``event/next``."""

    extension_id: str
    event_type: str  # INVOKE or SHUTDOWN
    deadline: float
    request_id: str | None = None  # INVOKE
    shutdown_reason: str | None = None  # SHUTDOWN: spindown, timeout or failure


@dataclass(frozen=True)
class SignalProcesses:
    processes: tuple[str, ...]
    signal: str  # SIGTERM or SIGKILL


@dataclass(frozen=True)
class InitStarted:
    phase: str  # init, or invoke for a suppressed init or a retried one


@dataclass(frozen=True)
class InitFinished:
    phase: str
    status: str  # success, error or timeout
    error_type: str | None
    duration: float


@dataclass(frozen=True)
class InvokeStarted:
    request_id: str


@dataclass(frozen=True)
class InvokeFinished:
    """The invocation is over. ``failure`` is what the caller gets when the environment failed
    before the runtime answered; None means the runtime's own answer stands."""

    request_id: str
    status: str  # success, error (the runtime reported one), failure (crash, init) or timeout
    error_type: str | None
    failure: FunctionError | None
    duration: float  # includes a suppressed init
    runtime_duration: float  # until the runtime answered (platform.runtimeDone)
    init_duration: float | None  # only on a cold start's first invocation


@dataclass(frozen=True)
class EnvironmentReset:
    """Every process is gone; /tmp stays; the next invoke runs a suppressed init."""


@dataclass(frozen=True)
class EnvironmentStopped:
    pass


Action = Union[
    StartExtensions, StartRuntime, DeliverInvocation, SendExtensionEvent, SignalProcesses, InitStarted,
    InitFinished, InvokeStarted, InvokeFinished, EnvironmentReset, EnvironmentStopped,
]


class LifecycleError(Exception):
    """An event the lifecycle refuses in its state: the APIs answer it with ``status`` and
    ``{"errorMessage": message, "errorType": error_type}``."""

    def __init__(self, status: int, error_type: str, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.error_type = error_type
        self.message = message


# ------------------------------------------------------------------------ transition table


@dataclass(frozen=True)
class Transition:
    source: State
    event: str | None  # an event class name; None: taken as soon as the guard holds
    guard: str | None
    target: State


S = State
ALL_READY = "all ready"
OTHERS_NOT_READY = "others not ready"
INIT_DEADLINE = "init deadline passed"
INVOKE_DEADLINE = "invoke deadline passed"
KILL_DEADLINE = "kill deadline passed"
RETRY_PENDING = "all exited, init retry pending"
ALL_EXITED = "all exited"

TRANSITIONS: tuple[Transition, ...] = (
    Transition(S.UNINITIALIZED, "InvokeRequested", None, S.INITIALIZING),
    Transition(S.UNINITIALIZED, "ShutdownRequested", None, S.STOPPED),
    Transition(S.INITIALIZING, "ExtensionRegistered", None, S.INITIALIZING),
    Transition(S.INITIALIZING, "ExtensionNext", OTHERS_NOT_READY, S.INITIALIZING),
    Transition(S.INITIALIZING, "ExtensionNext", ALL_READY, S.INVOKING),
    Transition(S.INITIALIZING, "RuntimeNext", OTHERS_NOT_READY, S.INITIALIZING),
    Transition(S.INITIALIZING, "RuntimeNext", ALL_READY, S.INVOKING),
    Transition(S.INITIALIZING, "InitErrorReported", None, S.INITIALIZING),
    Transition(S.INITIALIZING, "ExitErrorReported", None, S.INITIALIZING),
    Transition(S.INITIALIZING, "ProcessExited", None, S.RESETTING),
    Transition(S.INITIALIZING, "ProcessFailedToStart", None, S.RESETTING),
    Transition(S.INITIALIZING, "Tick", INIT_DEADLINE, S.RESETTING),
    Transition(S.INITIALIZING, "ShutdownRequested", None, S.SHUTTING_DOWN),
    Transition(S.IDLE, "InvokeRequested", None, S.INVOKING),
    Transition(S.IDLE, "RuntimeNext", None, S.IDLE),
    Transition(S.IDLE, "ExtensionNext", None, S.IDLE),
    Transition(S.IDLE, "ExitErrorReported", None, S.IDLE),
    Transition(S.IDLE, "ProcessExited", None, S.RESETTING),
    Transition(S.IDLE, "ShutdownRequested", None, S.SHUTTING_DOWN),
    Transition(S.INVOKING, "RuntimeAnswered", None, S.FINISHING),
    Transition(S.INVOKING, "ExtensionNext", None, S.INVOKING),
    Transition(S.INVOKING, "ExitErrorReported", None, S.INVOKING),
    Transition(S.INVOKING, "ProcessExited", None, S.RESETTING),
    Transition(S.INVOKING, "Tick", INVOKE_DEADLINE, S.RESETTING),
    Transition(S.INVOKING, "ShutdownRequested", None, S.SHUTTING_DOWN),
    Transition(S.INVOKING, "ResponseStreamStarted", None, S.STREAMING),
    Transition(S.STREAMING, "RuntimeAnswered", None, S.FINISHING),
    Transition(S.STREAMING, "ResponseStreamAborted", None, S.RESETTING),
    Transition(S.STREAMING, "ExtensionNext", None, S.STREAMING),
    Transition(S.STREAMING, "ExitErrorReported", None, S.STREAMING),
    Transition(S.STREAMING, "ProcessExited", None, S.RESETTING),
    Transition(S.STREAMING, "Tick", INVOKE_DEADLINE, S.RESETTING),
    Transition(S.STREAMING, "ShutdownRequested", None, S.SHUTTING_DOWN),
    Transition(S.FINISHING, "RuntimeNext", OTHERS_NOT_READY, S.FINISHING),
    Transition(S.FINISHING, "RuntimeNext", ALL_READY, S.IDLE),
    Transition(S.FINISHING, "ExtensionNext", OTHERS_NOT_READY, S.FINISHING),
    Transition(S.FINISHING, "ExtensionNext", ALL_READY, S.IDLE),
    Transition(S.FINISHING, "ExitErrorReported", None, S.FINISHING),
    Transition(S.FINISHING, "ProcessExited", None, S.RESETTING),
    Transition(S.FINISHING, "Tick", INVOKE_DEADLINE, S.RESETTING),
    Transition(S.FINISHING, "ShutdownRequested", None, S.SHUTTING_DOWN),
    Transition(S.RESETTING, "ProcessExited", None, S.RESETTING),
    Transition(S.RESETTING, "RuntimeNext", None, S.RESETTING),
    Transition(S.RESETTING, "ExtensionNext", None, S.RESETTING),
    Transition(S.RESETTING, "ExitErrorReported", None, S.RESETTING),
    Transition(S.RESETTING, "Tick", KILL_DEADLINE, S.RESETTING),
    Transition(S.RESETTING, None, RETRY_PENDING, S.INITIALIZING),
    Transition(S.RESETTING, None, ALL_EXITED, S.UNINITIALIZED),
    Transition(S.RESETTING, "ShutdownRequested", None, S.SHUTTING_DOWN),
    Transition(S.SHUTTING_DOWN, "ProcessExited", None, S.SHUTTING_DOWN),
    Transition(S.SHUTTING_DOWN, "RuntimeNext", None, S.SHUTTING_DOWN),
    Transition(S.SHUTTING_DOWN, "ExtensionNext", None, S.SHUTTING_DOWN),
    Transition(S.SHUTTING_DOWN, "ExitErrorReported", None, S.SHUTTING_DOWN),
    Transition(S.SHUTTING_DOWN, "Tick", KILL_DEADLINE, S.SHUTTING_DOWN),
    Transition(S.SHUTTING_DOWN, "ShutdownRequested", None, S.SHUTTING_DOWN),
    Transition(S.SHUTTING_DOWN, None, ALL_EXITED, S.STOPPED),
    Transition(S.STOPPED, "ShutdownRequested", None, S.STOPPED),
)

_TABLE: dict[tuple[State, str | None, str | None], State] = {
    (t.source, t.event, t.guard): t.target for t in TRANSITIONS
}
# What the runtime's state is called in a 403 InvalidStateTransition message (RIE's words).
_RUNTIME_STATE_NAMES = {
    S.INITIALIZING: "Started", S.IDLE: "Ready", S.INVOKING: "InvocationReceived",
    S.STREAMING: "InvocationResponseStreaming", S.FINISHING: "InvocationResponseSent", S.RESETTING: "Reset", S.SHUTTING_DOWN: "ShuttingDown",
}

# ------------------------------------------------------------------------- the machine


@dataclass
class _Extension:
    extension_id: str
    name: str
    events: frozenset[str]
    external: bool
    ready: bool = False  # parked in event/next
    error_type: str | None = None  # from exit/error


@dataclass
class _Invocation:
    request_id: str
    started_at: float | None = None  # None until init is over (cold start)
    deadline: float | None = None
    answered_at: float | None = None
    answer_error_type: str | None = None
    init_duration: float | None = None


@dataclass
class _Init:
    phase: str
    started_at: float
    deadline: float
    error: FunctionError | None = None  # reported by /init/error, awaiting the exit


@dataclass
class _Stop:
    reason: str  # spindown, timeout, failure
    kill_deadline: float
    killed: bool = False


@dataclass
class Lifecycle:
    """One execution environment's lifecycle. ``external_extensions`` are the executables'
    names in the function's /opt/extensions; ``init_timeout`` and ``invoke_timeout`` in
    seconds."""

    external_extensions: tuple[str, ...]
    invoke_timeout: float
    init_timeout: float = 10.0
    state: State = State.UNINITIALIZED
    initialized_once: bool = False  # a cold start happened: later inits are suppressed ones
    extensions: dict[str, _Extension] = field(default_factory=dict)
    running: set[str] = field(default_factory=set)  # processes alive: RUNTIME, extension names
    runtime_started: bool = False
    runtime_ready: bool = False
    init: _Init | None = None
    invocation: _Invocation | None = None
    retry_init: bool = False  # a failed first init is retried inside the waiting invoke
    stop: _Stop | None = None
    _actions: list[Action] = field(default_factory=list)

    # -------------------------------------------------------------------------- public

    def handle(self, event: Event) -> list[Action]:
        """Applies ``event``; returns the actions to carry out, in order. Raises
        :class:`LifecycleError` (and changes nothing) when the event is not allowed now."""
        self._actions = []
        getattr(self, "_on_" + type(event).__name__)(event)
        self._take_automatic_transitions(event.now)
        actions, self._actions = self._actions, []
        return actions

    @property
    def next_deadline(self) -> float | None:
        """When the shell must send a :class:`Tick` (None: no deadline pending)."""
        if self.state is State.INITIALIZING and self.init is not None:
            return self.init.deadline
        if self.state in (State.INVOKING, State.STREAMING, State.FINISHING) and self.invocation is not None:
            return self.invocation.deadline
        if self.state in (State.RESETTING, State.SHUTTING_DOWN) and self.stop and not self.stop.killed:
            return self.stop.kill_deadline
        return None

    @property
    def available(self) -> bool:
        """Whether an invoke may be given to this environment now."""
        return self.state in (State.IDLE, State.UNINITIALIZED)

    def check_answer(self, request_id: str, error: bool = False) -> None:
        """Raises the LifecycleError that a ``/response`` (or ``/error``) for ``request_id``
        would get now: 400 for an unknown or stale id, 403 for a second answer (also while a
        streamed response is under way: ``/error`` is only allowed before it)."""
        invocation = self.invocation
        if invocation is None or invocation.request_id != request_id or self.state not in (
            State.INVOKING, State.STREAMING, State.FINISHING
        ):
            raise LifecycleError(400, "InvalidRequestID", "Invalid request ID")
        if self.state in (State.STREAMING, State.FINISHING):
            to = "InvocationErrorResponse" if error else "InvocationResponse"
            raise LifecycleError(403, "InvalidStateTransition", self._runtime_transition_message(to))

    # ------------------------------------------------------------------------ handlers

    def _on_InvokeRequested(self, event: InvokeRequested) -> None:
        target = self._target("InvokeRequested", None, busy=True)
        self.invocation = _Invocation(event.request_id)
        if self.state is State.UNINITIALIZED:
            if self.initialized_once:  # a suppressed init: the invoke's timeout covers it
                self.invocation.started_at = event.now
                self.invocation.deadline = event.now + self.invoke_timeout
                self._begin_init("invoke", event.now)
            else:
                self._begin_init("init", event.now)
        else:
            self._start_invocation(event.now)
        self.state = target

    def _on_ExtensionRegistered(self, event: ExtensionRegistered) -> None:
        if self.state is not State.INITIALIZING:
            raise LifecycleError(403, "Extension.RegistrationClosed", "Extension registration closed already")
        if not event.name:
            raise LifecycleError(403, "Extension.InvalidExtensionName", "Empty extension name")
        registered_names = {e.name for e in self.extensions.values()}
        external = event.name in self.external_extensions and not self.runtime_started
        if event.name in registered_names:
            raise LifecycleError(403, "Extension.InvalidExtensionState", "Extension with this name already registered")
        if not external and self.runtime_ready:
            raise LifecycleError(403, "Extension.RegistrationClosed", "Extension registration closed already")
        if len(self.extensions) >= MAX_EXTENSIONS:
            raise LifecycleError(403, "Extension.TooManyExtensions", f"Extension limit ({MAX_EXTENSIONS}) reached")
        for name in event.events:
            if name not in EXTENSION_EVENTS:
                raise LifecycleError(403, "Extension.InvalidEventType", f"{name}: ErrorInvalidEventType")
            if name == "SHUTDOWN" and not external:
                raise LifecycleError(
                    403, "Extension.InvalidEventType", "SHUTDOWN: ShutdownEventNotSupportedForInternalExtension"
                )
        target = self._target("ExtensionRegistered", None)
        self.extensions[event.extension_id] = _Extension(event.extension_id, event.name, frozenset(event.events), external)
        self._start_runtime_when_extensions_registered()
        self.state = target

    def _on_ExtensionNext(self, event: ExtensionNext) -> None:
        extension = self._extension(event.extension_id)
        guard = None
        if self.state in (State.INITIALIZING, State.FINISHING):
            guard = ALL_READY if self._everyone_ready(extra_ready=extension) else OTHERS_NOT_READY
        target = self._target("ExtensionNext", guard)
        extension.ready = True
        if self.state in (State.RESETTING, State.SHUTTING_DOWN) and extension.external:
            # Back in next after SHUTDOWN: done with its cleanup, nothing more to wait for.
            self._emit(SignalProcesses((extension.name,), "SIGKILL"))
        elif guard == ALL_READY:
            self._phase_complete(event.now)
        self.state = target

    def _on_RuntimeNext(self, event: RuntimeNext) -> None:
        if self.state is State.INITIALIZING and not self.runtime_started:
            raise LifecycleError(403, "InvalidStateTransition", self._runtime_transition_message("Ready"))
        if self.state is State.INITIALIZING and self.init is not None and self.init.error is not None:
            raise LifecycleError(403, "InvalidStateTransition", self._runtime_transition_message("Ready"))
        guard = None
        if self.state in (State.INITIALIZING, State.FINISHING):
            others = [e for e in self.extensions.values() if not e.ready]
            guard = OTHERS_NOT_READY if others else ALL_READY
        target = self._target("RuntimeNext", guard, runtime_to="Ready")
        self.runtime_ready = True
        if guard == ALL_READY:
            self._phase_complete(event.now)
        self.state = target

    def _on_RuntimeAnswered(self, event: RuntimeAnswered) -> None:
        if event.streamed:
            self._check_stream(event.request_id)
        else:
            self.check_answer(event.request_id, error=event.error_type is not None)
        target = self._target("RuntimeAnswered", None)
        invocation = self.invocation
        assert invocation is not None
        invocation.answered_at = event.now
        invocation.answer_error_type = event.error_type
        self.runtime_ready = False
        self.state = target

    def _on_ResponseStreamStarted(self, event: ResponseStreamStarted) -> None:
        self.check_answer(event.request_id)
        self.state = self._target("ResponseStreamStarted", None)

    def _on_ResponseStreamAborted(self, event: ResponseStreamAborted) -> None:
        self._check_stream(event.request_id)
        target = self._target("ResponseStreamAborted", None)
        self._finish_invocation("failure", event.failure.error_type, event.failure, event.now)
        self._begin_stop("failure", event.now)
        self.state = target

    def _on_InitErrorReported(self, event: InitErrorReported) -> None:
        if event.extension_id is not None:
            extension = self._extension(event.extension_id)
            if self.state is not State.INITIALIZING:
                raise LifecycleError(
                    403, "Extension.InvalidExtensionState",
                    f"State transition from {self.state.value} to InitError failed for extension {extension.name}",
                )
            message = f"Extension {extension.name} reported an init error"
        elif self.state is not State.INITIALIZING or not self.runtime_started or self.runtime_ready or (
            self.init is not None and self.init.error is not None
        ):
            raise LifecycleError(403, "InvalidStateTransition", self._runtime_transition_message("InitError"))
        else:
            message = ""
        target = self._target("InitErrorReported", None)
        assert self.init is not None
        if self.init.error is None:
            self.init.error = FunctionError(event.error_type, message, event.body)
        self.state = target

    def _on_ExitErrorReported(self, event: ExitErrorReported) -> None:
        extension = self._extension(event.extension_id)
        target = self._target("ExitErrorReported", None)
        extension.error_type = event.error_type
        self.state = target

    def _on_ProcessExited(self, event: ProcessExited) -> None:
        target = self._target("ProcessExited", None)
        self.running.discard(event.process)
        if event.process == RUNTIME:
            self.runtime_ready = False
        if self.state is State.INITIALIZING:
            assert self.init is not None
            error = self.init.error or self._exit_error(event.process, event.description, during_init=True)
            self._fail_init("error", error, event.now)
        elif self.state is State.IDLE:
            self._begin_stop("failure", event.now)
        elif self.state in (State.INVOKING, State.STREAMING, State.FINISHING):
            answered = self.state is State.FINISHING
            error = self._exit_error(event.process, event.description, during_init=False)
            self._finish_invocation(
                "failure", error.error_type, None if answered else error, event.now
            )
            self._begin_stop("failure", event.now)
        elif self.state in (State.RESETTING, State.SHUTTING_DOWN):
            self._kill_leftovers()
        self.state = target

    def _on_ProcessFailedToStart(self, event: ProcessFailedToStart) -> None:
        target = self._target("ProcessFailedToStart", None)
        self.running.discard(event.process)
        self._fail_init("error", FunctionError(event.error_type, event.message), event.now)
        self.state = target

    def _on_Tick(self, event: Tick) -> None:
        deadline = self.next_deadline
        if deadline is None or event.now < deadline:
            return  # nothing due: not a transition
        if self.state is State.INITIALIZING:
            target = self._target("Tick", INIT_DEADLINE)
            assert self.init is not None
            if self.init.error is not None:  # reported, but the process did not exit
                self._fail_init("error", self.init.error, event.now)
            else:
                self._fail_init("timeout", self._timeout_error(), event.now)
        elif self.state in (State.INVOKING, State.STREAMING, State.FINISHING):
            target = self._target("Tick", INVOKE_DEADLINE)
            answered = self.state is State.FINISHING
            self._finish_invocation("timeout", "Sandbox.Timedout", None if answered else self._timeout_error(), event.now)
            self._begin_stop("timeout", event.now)
        else:
            target = self._target("Tick", KILL_DEADLINE)
            assert self.stop is not None
            self.stop.killed = True
            if self.running:
                self._emit(SignalProcesses(tuple(sorted(self.running)), "SIGKILL"))
        self.state = target

    def _on_ShutdownRequested(self, event: ShutdownRequested) -> None:
        target = self._target("ShutdownRequested", None)
        if self.state in (State.INITIALIZING, State.INVOKING, State.STREAMING, State.FINISHING) or (
            self.state is State.RESETTING and self.invocation is not None
        ):
            answered = self.state is State.FINISHING
            failure = FunctionError("Sandbox.Shutdown", "The local Lambda is shutting down")
            if self.state is State.INITIALIZING or self.state is State.RESETTING:
                self._emit(InvokeStarted(self.invocation.request_id))  # type: ignore[union-attr]
            self._finish_invocation("failure", failure.error_type, None if answered else failure, event.now)
        self.retry_init = False
        if self.state is State.RESETTING:
            assert self.stop is not None
            self.stop.reason = "spindown"
        elif self.state in (State.INITIALIZING, State.IDLE, State.INVOKING, State.STREAMING, State.FINISHING):
            self._begin_stop("spindown", event.now)
        elif self.state is State.UNINITIALIZED:
            self._emit(EnvironmentStopped())
        self.state = target

    # ---------------------------------------------------------------- phase mechanics

    def _begin_init(self, phase: str, now: float) -> None:
        self.extensions.clear()
        self.runtime_started = self.runtime_ready = False
        deadline = now + self.init_timeout if phase == "init" else self.invocation.deadline  # type: ignore[union-attr]
        assert deadline is not None
        self.init = _Init(phase, now, deadline)
        self.stop = None
        self._emit(InitStarted(phase))
        if self.external_extensions:
            self.running.update(self.external_extensions)
            self._emit(StartExtensions(self.external_extensions))
        else:
            self._start_runtime()

    def _start_runtime(self) -> None:
        self.runtime_started = True
        self.running.add(RUNTIME)
        self._emit(StartRuntime())

    def _start_runtime_when_extensions_registered(self) -> None:
        registered = {e.name for e in self.extensions.values() if e.external}
        if not self.runtime_started and registered >= set(self.external_extensions):
            self._start_runtime()

    def _everyone_ready(self, extra_ready: _Extension | None = None) -> bool:
        if not self.runtime_ready:
            return False
        return all(e.ready or e is extra_ready for e in self.extensions.values())

    def _phase_complete(self, now: float) -> None:
        """The runtime and every extension called next: init or invoke is over."""
        if self.state is State.INITIALIZING:
            assert self.init is not None and self.invocation is not None
            duration = now - self.init.started_at
            self._emit(InitFinished(self.init.phase, "success", None, duration))
            if self.init.phase == "init":
                self.initialized_once = True
                self.invocation.init_duration = duration
            self.init = None
            self._start_invocation(now)
        else:
            invocation = self.invocation
            assert invocation is not None
            status = "success" if invocation.answer_error_type is None else "error"
            self._finish_invocation(status, invocation.answer_error_type, None, now)

    def _start_invocation(self, now: float) -> None:
        invocation = self.invocation
        assert invocation is not None
        if invocation.started_at is None:
            invocation.started_at = now
            invocation.deadline = now + self.invoke_timeout
        assert invocation.deadline is not None
        self.runtime_ready = False
        self._emit(InvokeStarted(invocation.request_id))
        self._emit(DeliverInvocation(invocation.request_id, invocation.deadline))
        for extension in self.extensions.values():
            if "INVOKE" in extension.events:
                extension.ready = False
                self._emit(SendExtensionEvent(
                    extension.extension_id, "INVOKE", invocation.deadline, request_id=invocation.request_id
                ))

    def _finish_invocation(self, status: str, error_type: str | None, failure: FunctionError | None, now: float) -> None:
        invocation = self.invocation
        assert invocation is not None
        started = invocation.started_at if invocation.started_at is not None else now
        answered = invocation.answered_at if invocation.answered_at is not None else now
        self._emit(InvokeFinished(
            invocation.request_id, status, error_type, failure,
            duration=max(0.0, now - started), runtime_duration=max(0.0, answered - started),
            init_duration=invocation.init_duration,
        ))
        self.invocation = None

    def _fail_init(self, status: str, error: FunctionError, now: float) -> None:
        init = self.init
        assert init is not None and self.invocation is not None
        self._emit(InitFinished(init.phase, status, error.error_type, now - init.started_at))
        if init.phase == "init":
            # Lambda retries a failed first init inside the invoke that is waiting for it.
            self.initialized_once = True
            self.retry_init = True
        else:
            self._emit(InvokeStarted(self.invocation.request_id))
            self._finish_invocation("timeout" if status == "timeout" else "failure", error.error_type, error, now)
        self.init = None
        self._begin_stop("failure" if status == "error" else "timeout", now, kill_now=True)

    def _begin_stop(self, reason: str, now: float, kill_now: bool = False) -> None:
        """Reset (reason timeout or failure) or spindown: the SHUTDOWN sequence."""
        external = [e for e in self.extensions.values() if e.external and e.name in self.running]
        if reason == "spindown" and not kill_now:
            if self.extensions:
                grace = SHUTDOWN_GRACE_EXTERNAL if any(e.external for e in self.extensions.values()) else SHUTDOWN_GRACE_INTERNAL
                if RUNTIME in self.running:
                    self._emit(SignalProcesses((RUNTIME,), "SIGTERM"))
            else:
                grace = 0.0
        else:
            grace = SHUTDOWN_GRACE_EXTERNAL if external and not kill_now else 0.0
            if RUNTIME in self.running:
                self._emit(SignalProcesses((RUNTIME,), "SIGKILL"))
        self.stop = _Stop(reason, now + grace)
        if grace == 0.0:
            self.stop.killed = True
            if self.running:
                self._emit(SignalProcesses(tuple(sorted(self.running)), "SIGKILL"))
        else:
            for extension in external:
                if "SHUTDOWN" in extension.events:
                    extension.ready = False
                    self._emit(SendExtensionEvent(
                        extension.extension_id, "SHUTDOWN", self.stop.kill_deadline, shutdown_reason=reason
                    ))
            self._kill_leftovers()

    def _kill_leftovers(self) -> None:
        """Once the runtime and every SHUTDOWN subscriber are gone, nothing is left to wait for."""
        if self.stop is None or self.stop.killed or not self.running:
            return
        waiting_for = {RUNTIME} | {
            e.name for e in self.extensions.values() if e.external and "SHUTDOWN" in e.events
        }
        if not (self.running & waiting_for):
            self.stop.killed = True
            self._emit(SignalProcesses(tuple(sorted(self.running)), "SIGKILL"))

    def _take_automatic_transitions(self, now: float) -> None:
        while self.state in (State.RESETTING, State.SHUTTING_DOWN) and not self.running:
            if self.state is State.SHUTTING_DOWN:
                self.state = self._target(None, ALL_EXITED)
                self._clear_processes()
                self._emit(EnvironmentStopped())
            elif self.retry_init:
                self.state = self._target(None, RETRY_PENDING)
                self.retry_init = False
                assert self.invocation is not None
                self.invocation.started_at = now
                self.invocation.deadline = now + self.invoke_timeout
                self._clear_processes()
                self._begin_init("invoke", now)
            else:
                self.state = self._target(None, ALL_EXITED)
                self._clear_processes()
                self._emit(EnvironmentReset())

    def _clear_processes(self) -> None:
        self.extensions.clear()
        self.runtime_started = self.runtime_ready = False
        self.stop = None

    # --------------------------------------------------------------------------- helpers

    def _target(self, event: str | None, guard: str | None, busy: bool = False, runtime_to: str | None = None) -> State:
        target = _TABLE.get((self.state, event, guard))
        if target is None:
            if runtime_to is not None:
                raise LifecycleError(403, "InvalidStateTransition", self._runtime_transition_message(runtime_to))
            raise LifecycleError(
                409 if busy else 403, "InvalidStateTransition",
                f"{event} is not allowed in state {self.state.value}",
            )
        return target

    def _runtime_transition_message(self, to: str) -> str:
        current = _RUNTIME_STATE_NAMES.get(self.state, self.state.value)
        if self.state is State.INVOKING and self.runtime_ready:
            current = "Ready"
        return f"State transition from {current} to {to} failed for runtime. Error: State transition is not allowed"

    def _check_stream(self, request_id: str) -> None:
        """A stream's end or abort must be the current invocation's, while it streams (after a
        timeout or a crash, the stream's late end is stale)."""
        invocation = self.invocation
        if self.state is not State.STREAMING or invocation is None or invocation.request_id != request_id:
            raise LifecycleError(400, "InvalidRequestID", "Invalid request ID")

    def _extension(self, extension_id: str) -> _Extension:
        extension = self.extensions.get(extension_id)
        if extension is None:
            raise LifecycleError(403, "Extension.UnknownExtensionIdentifier", f"Unknown extension {extension_id}")
        return extension

    def _exit_error(self, process: str, description: str, during_init: bool) -> FunctionError:
        if process == RUNTIME:
            if description == "exit status 0":
                return FunctionError("Runtime.ExitError", "Runtime exited without providing a reason")
            return FunctionError("Runtime.ExitError", f"Runtime exited with error: {description}")
        extension = next((e for e in self.extensions.values() if e.name == process), None)
        error_type = extension.error_type if extension and extension.error_type else "Extension.Crash"
        return FunctionError(error_type, f"Extension {process} exited with error: {description}")

    def _timeout_error(self) -> FunctionError:
        return FunctionError("Sandbox.Timedout", f"Task timed out after {self.invoke_timeout:.2f} seconds")

    def _emit(self, action: Action) -> None:
        self._actions.append(action)


# ----------------------------------------------------------------------------- diagrams


def diagram(output_format: str = "mermaid", transitions: Iterable[Transition] = TRANSITIONS) -> str:
    """The state diagram of ``transitions``, as Mermaid (``stateDiagram-v2``) or Graphviz
    (``dot``) text. Edges are labelled ``Event [guard]``; guard-only edges are taken as soon
    as the guard holds."""
    def label(t: Transition) -> str:
        parts = [t.event] if t.event else []
        if t.guard:
            parts.append(f"[{t.guard}]")
        return " ".join(parts)

    transitions = list(transitions)
    if output_format == "mermaid":
        lines = ["stateDiagram-v2", f"    [*] --> {State.UNINITIALIZED.value}"]
        lines += [f"    {t.source.value} --> {t.target.value} : {label(t)}" for t in transitions]
        lines.append(f"    {State.STOPPED.value} --> [*]")
        return "\n".join(lines) + "\n"
    if output_format == "dot":
        lines = ["digraph lifecycle {", "    rankdir=LR;", "    node [shape=box, style=rounded];"]
        lines += [f'    {t.source.value} -> {t.target.value} [label="{label(t)}"];' for t in transitions]
        lines.append("}")
        return "\n".join(lines) + "\n"
    raise ValueError(f"unknown diagram format {output_format!r}: use mermaid or dot")


def table_markdown(transitions: Iterable[Transition] = TRANSITIONS) -> str:
    """The transition table as a Markdown table, for the docs."""
    rows = ["| state | event | guard | next state |", "|---|---|---|---|"]
    rows += [
        f"| {t.source.value} | {t.event or '(automatic)'} | {t.guard or ''} | {t.target.value} |" for t in transitions
    ]
    return "\n".join(rows) + "\n"


def document() -> str:
    """``LIFECYCLE.md``: the rules, the diagram and the table, all from this module."""
    paragraphs = (__doc__ or "").split("\n\n")
    rules = "\n\n".join(p for p in paragraphs if p.startswith(("The rules", "- "))).replace("``", "`")
    return (
        "# Execution environment lifecycle\n\n"
        "Generated by `python -m lamina.local.lifecycle --markdown` from the transition table in\n"
        "`lifecycle.py`; do not edit by hand.\n\n"
        f"{rules}\n\n"
        "Edges are labelled `Event [guard]`; an edge with a guard only is taken as soon as the guard\n"
        "holds. A `Tick` before any deadline is not a transition.\n\n"
        f"```mermaid\n{diagram('mermaid')}```\n\n"
        f"{table_markdown()}"
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m lamina.local.lifecycle", description=__doc__.split("\n")[0])
    parser.add_argument("--diagram", action="store_true", help="print the state diagram")
    parser.add_argument("--table", action="store_true", help="print the transition table (Markdown)")
    parser.add_argument("--markdown", action="store_true", help="print LIFECYCLE.md (rules, diagram, table)")
    parser.add_argument("--format", default="mermaid", choices=("mermaid", "dot"))
    arguments = parser.parse_args(argv)
    if arguments.markdown:
        sys.stdout.write(document())
        return 0
    if arguments.table:
        sys.stdout.write(table_markdown())
    if arguments.diagram or not arguments.table:
        sys.stdout.write(diagram(arguments.format))
    return 0


if __name__ == "__main__":
    sys.exit(main())
