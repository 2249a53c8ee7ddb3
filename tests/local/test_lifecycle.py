"""The lifecycle state machine on its own: events in, actions out, time as an argument."""

from __future__ import annotations

import pytest

from lamina.local import lifecycle as lc
from lamina.local.lifecycle import (
    RUNTIME, DeliverInvocation, EnvironmentReset, EnvironmentStopped, ExitErrorReported, ExtensionNext,
    ExtensionRegistered, FunctionError, InitErrorReported, InitFinished, InitStarted, InvokeFinished, InvokeRequested,
    InvokeStarted, Lifecycle, LifecycleError, ProcessExited, ProcessFailedToStart, ResponseStreamAborted,
    ResponseStreamStarted, RuntimeAnswered, RuntimeNext, SendExtensionEvent, ShutdownRequested, SignalProcesses,
    StartExtensions, StartRuntime, State, Tick,
)


def kinds(actions):
    return [type(a).__name__ for a in actions]


def only(actions, kind):
    found = [a for a in actions if isinstance(a, kind)]
    assert len(found) == 1, actions
    return found[0]


def warm(machine: Lifecycle | None = None, now: float = 0.0) -> Lifecycle:
    """A lifecycle after one successful cold invocation (request "r0"), idle at ``now + 1``."""
    machine = machine or Lifecycle(external_extensions=(), invoke_timeout=3.0)
    machine.handle(InvokeRequested("r0", now))
    machine.handle(RuntimeNext(now + 0.1))
    machine.handle(RuntimeAnswered("r0", None, now + 0.2))
    machine.handle(RuntimeNext(now + 0.3))
    assert machine.state is State.IDLE
    return machine


def test_cold_start_runs_init_then_delivers_the_invocation():
    machine = Lifecycle(external_extensions=(), invoke_timeout=3.0)
    actions = machine.handle(InvokeRequested("r1", 100.0))
    assert actions == [InitStarted("init"), StartRuntime()]
    assert machine.state is State.INITIALIZING and machine.next_deadline == 110.0
    actions = machine.handle(RuntimeNext(100.25))
    assert actions == [
        InitFinished("init", "success", None, 0.25), InvokeStarted("r1"), DeliverInvocation("r1", 103.25),
    ]
    assert machine.state is State.INVOKING and machine.next_deadline == 103.25
    assert machine.handle(RuntimeAnswered("r1", None, 100.5)) == []
    assert machine.state is State.FINISHING
    finished = only(machine.handle(RuntimeNext(100.75)), InvokeFinished)
    assert finished == InvokeFinished("r1", "success", None, None, duration=0.5, runtime_duration=0.25, init_duration=0.25)
    assert machine.state is State.IDLE and machine.next_deadline is None


def test_warm_invocation_has_no_init_and_no_init_duration():
    machine = warm()
    assert machine.handle(InvokeRequested("r1", 10.0)) == [InvokeStarted("r1"), DeliverInvocation("r1", 13.0)]
    machine.handle(RuntimeAnswered("r1", "ValueError", 10.1))
    finished = only(machine.handle(RuntimeNext(10.2)), InvokeFinished)
    assert finished.status == "error" and finished.error_type == "ValueError" and finished.init_duration is None


def test_tick_before_a_deadline_changes_nothing():
    machine = warm()
    machine.handle(InvokeRequested("r1", 10.0))
    assert machine.handle(Tick(12.9)) == [] and machine.state is State.INVOKING


def test_timeout_kills_the_runtime_fails_the_invocation_and_resets():
    machine = warm()
    machine.handle(InvokeRequested("r1", 10.0))
    actions = machine.handle(Tick(13.0))
    assert SignalProcesses((RUNTIME,), "SIGKILL") in actions
    finished = only(actions, InvokeFinished)
    assert finished.status == "timeout" and finished.error_type == "Sandbox.Timedout"
    assert finished.failure == FunctionError("Sandbox.Timedout", "Task timed out after 3.00 seconds")
    assert machine.state is State.RESETTING and not machine.available
    assert machine.handle(ProcessExited(RUNTIME, "signal: killed", 13.01)) == [EnvironmentReset()]
    assert machine.state is State.UNINITIALIZED and machine.available


def test_after_a_reset_init_is_suppressed_and_counted_in_the_invoke():
    machine = warm()
    machine.handle(InvokeRequested("r1", 10.0))
    machine.handle(Tick(13.0))
    machine.handle(ProcessExited(RUNTIME, "signal: killed", 13.0))
    actions = machine.handle(InvokeRequested("r2", 20.0))
    assert actions == [InitStarted("invoke"), StartRuntime()]
    assert machine.next_deadline == 23.0  # the function's timeout covers the suppressed init
    actions = machine.handle(RuntimeNext(20.5))
    assert actions[0] == InitFinished("invoke", "success", None, 0.5)
    assert DeliverInvocation("r2", 23.0) in actions
    machine.handle(RuntimeAnswered("r2", None, 20.6))
    finished = only(machine.handle(RuntimeNext(20.7)), InvokeFinished)
    assert finished.init_duration is None and finished.duration == pytest.approx(0.7)


def test_runtime_exit_during_an_invocation_is_runtime_exit_error():
    machine = warm()
    machine.handle(InvokeRequested("r1", 10.0))
    actions = machine.handle(ProcessExited(RUNTIME, "exit status 1", 10.5))
    finished = only(actions, InvokeFinished)
    assert finished.status == "failure"
    assert finished.failure == FunctionError("Runtime.ExitError", "Runtime exited with error: exit status 1")
    assert actions[-1] == EnvironmentReset() and machine.state is State.UNINITIALIZED


def test_runtime_exit_status_zero_says_without_providing_a_reason():
    machine = warm()
    machine.handle(InvokeRequested("r1", 10.0))
    finished = only(machine.handle(ProcessExited(RUNTIME, "exit status 0", 10.5)), InvokeFinished)
    assert finished.failure.message == "Runtime exited without providing a reason"


def test_runtime_exit_after_answering_keeps_the_answer():
    machine = warm()
    machine.handle(InvokeRequested("r1", 10.0))
    machine.handle(RuntimeAnswered("r1", None, 10.1))
    finished = only(machine.handle(ProcessExited(RUNTIME, "exit status 2", 10.2)), InvokeFinished)
    assert finished.failure is None and finished.status == "failure" and finished.error_type == "Runtime.ExitError"


def test_runtime_crash_while_idle_resets_without_an_invocation():
    machine = warm()
    assert machine.handle(ProcessExited(RUNTIME, "signal: segmentation fault", 5.0)) == [EnvironmentReset()]
    assert machine.handle(InvokeRequested("r1", 6.0))[0] == InitStarted("invoke")


def test_second_answer_is_403_and_stale_id_is_400():
    machine = warm()
    machine.handle(InvokeRequested("r1", 10.0))
    with pytest.raises(LifecycleError) as unknown:
        machine.handle(RuntimeAnswered("other", None, 10.1))
    assert (unknown.value.status, unknown.value.error_type) == (400, "InvalidRequestID")
    machine.handle(RuntimeAnswered("r1", None, 10.1))
    with pytest.raises(LifecycleError) as second:
        machine.handle(RuntimeAnswered("r1", "Custom", 10.2))
    assert (second.value.status, second.value.error_type) == (403, "InvalidStateTransition")
    assert "failed for runtime" in second.value.message
    machine.handle(RuntimeNext(10.3))
    with pytest.raises(LifecycleError) as stale:
        machine.handle(RuntimeAnswered("r1", None, 10.4))
    assert stale.value.status == 400


def test_next_before_answering_is_403():
    machine = warm()
    machine.handle(InvokeRequested("r1", 10.0))
    with pytest.raises(LifecycleError) as refused:
        machine.handle(RuntimeNext(10.1))
    assert refused.value.status == 403 and refused.value.error_type == "InvalidStateTransition"
    assert machine.state is State.INVOKING  # refused events change nothing


def test_init_timeout_is_retried_inside_the_invoke_with_the_function_timeout():
    machine = Lifecycle(external_extensions=(), invoke_timeout=5.0, init_timeout=10.0)
    machine.handle(InvokeRequested("r1", 0.0))
    actions = machine.handle(Tick(10.0))
    assert actions[0] == InitFinished("init", "timeout", "Sandbox.Timedout", 10.0)
    assert SignalProcesses((RUNTIME,), "SIGKILL") in actions
    assert not any(isinstance(a, InvokeFinished) for a in actions)  # the invocation still waits
    actions = machine.handle(ProcessExited(RUNTIME, "signal: killed", 10.1))
    assert actions == [InitStarted("invoke"), StartRuntime()]
    assert machine.next_deadline == 15.1
    actions = machine.handle(RuntimeNext(12.0))
    assert DeliverInvocation("r1", 15.1) in actions
    machine.handle(RuntimeAnswered("r1", None, 12.5))
    finished = only(machine.handle(RuntimeNext(12.6)), InvokeFinished)
    assert finished.status == "success" and finished.duration == pytest.approx(2.5) and finished.init_duration is None


def test_retried_init_that_times_out_again_is_sandbox_timedout():
    machine = Lifecycle(external_extensions=(), invoke_timeout=1.0, init_timeout=10.0)
    machine.handle(InvokeRequested("r1", 0.0))
    machine.handle(Tick(10.0))
    machine.handle(ProcessExited(RUNTIME, "signal: killed", 10.0))
    actions = machine.handle(Tick(11.0))
    assert actions[:3] == [
        InitFinished("invoke", "timeout", "Sandbox.Timedout", 1.0), InvokeStarted("r1"),
        InvokeFinished("r1", "timeout", "Sandbox.Timedout", FunctionError("Sandbox.Timedout", "Task timed out after 1.00 seconds"),
                       duration=1.0, runtime_duration=1.0, init_duration=None),
    ]


def test_init_error_waits_for_the_exit_then_retries_then_fails_with_the_posted_body():
    machine = Lifecycle(external_extensions=(), invoke_timeout=3.0)
    machine.handle(InvokeRequested("r1", 0.0))
    assert machine.handle(InitErrorReported("Runtime.ImportModuleError", b'{"e":1}', 0.1)) == []
    with pytest.raises(LifecycleError):  # a second init error
        machine.handle(InitErrorReported("Runtime.ImportModuleError", b'{"e":1}', 0.15))
    actions = machine.handle(ProcessExited(RUNTIME, "exit status 1", 0.2))
    assert actions[0] == InitFinished("init", "error", "Runtime.ImportModuleError", 0.2)
    assert actions[-2:] == [InitStarted("invoke"), StartRuntime()]
    machine.handle(InitErrorReported("Runtime.ImportModuleError", b'{"e":2}', 0.3))
    actions = machine.handle(ProcessExited(RUNTIME, "exit status 1", 0.4))
    assert kinds(actions) == ["InitFinished", "InvokeStarted", "InvokeFinished", "EnvironmentReset"]
    finished = actions[2]
    assert finished.failure == FunctionError("Runtime.ImportModuleError", "", b'{"e":2}') and finished.status == "failure"


def test_missing_entrypoint_fails_init_with_invalid_entrypoint():
    machine = Lifecycle(external_extensions=(), invoke_timeout=3.0)
    machine.handle(InvokeRequested("r1", 0.0))
    actions = machine.handle(ProcessFailedToStart(RUNTIME, "Runtime.InvalidEntrypoint", "no bootstrap", 0.0))
    assert actions[0] == InitFinished("init", "error", "Runtime.InvalidEntrypoint", 0.0)
    actions = machine.handle(ProcessFailedToStart(RUNTIME, "Runtime.InvalidEntrypoint", "no bootstrap", 0.0))
    finished = only(actions, InvokeFinished)
    assert finished.failure == FunctionError("Runtime.InvalidEntrypoint", "no bootstrap")


def extension_cold_start(events=("INVOKE", "SHUTDOWN")) -> Lifecycle:
    machine = Lifecycle(external_extensions=("ext",), invoke_timeout=3.0)
    assert machine.handle(InvokeRequested("r1", 0.0)) == [InitStarted("init"), StartExtensions(("ext",))]
    assert machine.handle(ExtensionRegistered("id-1", "ext", events, 0.1)) == [StartRuntime()]
    return machine


def test_runtime_starts_after_external_extensions_registered_and_init_waits_for_everyone():
    machine = extension_cold_start()
    assert machine.handle(RuntimeNext(0.2)) == []  # the extension has not called next yet
    actions = machine.handle(ExtensionNext("id-1", 0.3))
    assert actions[0] == InitFinished("init", "success", None, 0.3)
    assert SendExtensionEvent("id-1", "INVOKE", 3.3, request_id="r1") in actions
    machine.handle(RuntimeAnswered("r1", None, 0.4))
    assert machine.handle(RuntimeNext(0.5)) == []  # the extension is still busy with INVOKE
    assert machine.state is State.FINISHING
    finished = only(machine.handle(ExtensionNext("id-1", 0.9)), InvokeFinished)
    assert finished.duration == pytest.approx(0.6)  # the extension's time counts


def test_extension_registered_for_shutdown_only_gets_no_invoke():
    machine = extension_cold_start(events=("SHUTDOWN",))
    machine.handle(ExtensionNext("id-1", 0.2))
    actions = machine.handle(RuntimeNext(0.3))
    assert not any(isinstance(a, SendExtensionEvent) for a in actions)


def test_registration_rules():
    machine = Lifecycle(external_extensions=(), invoke_timeout=3.0)
    with pytest.raises(LifecycleError) as closed:
        machine.handle(ExtensionRegistered("x", "late", ("INVOKE",), 0.0))
    assert closed.value.error_type == "Extension.RegistrationClosed"
    machine.handle(InvokeRequested("r1", 0.0))
    with pytest.raises(LifecycleError) as internal_shutdown:
        machine.handle(ExtensionRegistered("i0", "internal", ("INVOKE", "SHUTDOWN"), 0.1))
    assert internal_shutdown.value.error_type == "Extension.InvalidEventType"
    assert "ShutdownEventNotSupportedForInternalExtension" in internal_shutdown.value.message
    with pytest.raises(LifecycleError) as unknown_event:
        machine.handle(ExtensionRegistered("i0", "internal", ("RESTORE",), 0.1))
    assert unknown_event.value.error_type == "Extension.InvalidEventType"
    for number in range(lc.MAX_EXTENSIONS):
        machine.handle(ExtensionRegistered(f"i{number}", f"internal-{number}", ("INVOKE",), 0.1))
    with pytest.raises(LifecycleError) as too_many:
        machine.handle(ExtensionRegistered("i10", "one-too-many", ("INVOKE",), 0.1))
    assert too_many.value.error_type == "Extension.TooManyExtensions"
    with pytest.raises(LifecycleError) as duplicate:
        machine.handle(ExtensionRegistered("i11", "internal-0", ("INVOKE",), 0.1))
    assert duplicate.value.error_type == "Extension.InvalidExtensionState"
    machine.handle(RuntimeNext(0.2))
    with pytest.raises(LifecycleError) as unknown_id:
        machine.handle(ExtensionNext("nobody", 0.3))
    assert unknown_id.value.error_type == "Extension.UnknownExtensionIdentifier"


def test_spindown_without_extensions_kills_at_once():
    machine = warm()
    assert machine.handle(ShutdownRequested(5.0)) == [SignalProcesses((RUNTIME,), "SIGKILL")]
    assert machine.state is State.SHUTTING_DOWN
    assert machine.handle(ProcessExited(RUNTIME, "signal: killed", 5.01)) == [EnvironmentStopped()]
    assert machine.state is State.STOPPED


def test_spindown_with_an_internal_extension_sigterms_and_kills_at_500_ms():
    machine = Lifecycle(external_extensions=(), invoke_timeout=3.0)
    machine.handle(InvokeRequested("r1", 0.0))
    machine.handle(ExtensionRegistered("i", "internal", ("INVOKE",), 0.1))
    machine.handle(ExtensionNext("i", 0.1))
    machine.handle(RuntimeNext(0.2))
    machine.handle(RuntimeAnswered("r1", None, 0.3))
    machine.handle(ExtensionNext("i", 0.3))
    machine.handle(RuntimeNext(0.4))
    assert machine.handle(ShutdownRequested(5.0)) == [SignalProcesses((RUNTIME,), "SIGTERM")]
    assert machine.next_deadline == 5.5
    assert machine.handle(Tick(5.5)) == [SignalProcesses((RUNTIME,), "SIGKILL")]
    assert machine.handle(ProcessExited(RUNTIME, "signal: killed", 5.6)) == [EnvironmentStopped()]


def test_spindown_with_an_external_extension_sends_shutdown_and_sigterm_then_kills_at_2_s():
    machine = extension_cold_start()
    machine.handle(RuntimeNext(0.2))
    machine.handle(ExtensionNext("id-1", 0.3))
    machine.handle(RuntimeAnswered("r1", None, 0.4))
    machine.handle(RuntimeNext(0.5))
    machine.handle(ExtensionNext("id-1", 0.6))
    actions = machine.handle(ShutdownRequested(10.0))
    assert actions == [
        SignalProcesses((RUNTIME,), "SIGTERM"), SendExtensionEvent("id-1", "SHUTDOWN", 12.0, shutdown_reason="spindown"),
    ]
    assert machine.handle(ProcessExited(RUNTIME, "exit status 0", 10.1)) == []
    assert machine.handle(Tick(12.0)) == [SignalProcesses(("ext",), "SIGKILL")]
    assert machine.handle(ProcessExited("ext", "signal: killed", 12.0)) == [EnvironmentStopped()]


def test_reset_after_a_timeout_sends_shutdown_with_reason_timeout_to_external_extensions():
    machine = extension_cold_start()
    machine.handle(RuntimeNext(0.2))
    machine.handle(ExtensionNext("id-1", 0.3))
    machine.handle(ExtensionNext("id-1", 0.4))  # done with INVOKE
    actions = machine.handle(Tick(3.3))
    assert SignalProcesses((RUNTIME,), "SIGKILL") in actions
    assert SendExtensionEvent("id-1", "SHUTDOWN", 5.3, shutdown_reason="timeout") in actions
    machine.handle(ProcessExited(RUNTIME, "signal: killed", 3.31))
    # Back in next after SHUTDOWN: it is done, no need to wait for the deadline.
    assert machine.handle(ExtensionNext("id-1", 3.4)) == [SignalProcesses(("ext",), "SIGKILL")]
    assert machine.handle(ProcessExited("ext", "signal: killed", 3.41)) == [EnvironmentReset()]


def test_extension_crash_during_an_invocation_fails_it_with_the_reported_type():
    machine = extension_cold_start()
    machine.handle(RuntimeNext(0.2))
    machine.handle(ExtensionNext("id-1", 0.3))
    machine.handle(ExitErrorReported("id-1", "Extension.Broken", 0.4))
    finished = only(machine.handle(ProcessExited("ext", "exit status 1", 0.5)), InvokeFinished)
    assert finished.failure.error_type == "Extension.Broken"


def test_shutdown_during_an_invocation_fails_it():
    machine = warm()
    machine.handle(InvokeRequested("r1", 10.0))
    finished = only(machine.handle(ShutdownRequested(10.5)), InvokeFinished)
    assert finished.failure.error_type == "Sandbox.Shutdown"


def test_refused_invoke_when_busy():
    machine = warm()
    machine.handle(InvokeRequested("r1", 10.0))
    with pytest.raises(LifecycleError):
        machine.handle(InvokeRequested("r2", 10.1))


# -- response streaming ---------------------------------------------------------------------


def streaming(now: float = 10.0) -> Lifecycle:
    """A warm lifecycle whose invocation "r1" (deadline now + 3) started a streamed response."""
    machine = warm()
    machine.handle(InvokeRequested("r1", now))
    assert machine.handle(ResponseStreamStarted("r1", now + 0.1)) == []
    assert machine.state is State.STREAMING and machine.next_deadline == now + 3
    return machine


def test_a_streamed_response_keeps_the_invocation_running_until_its_body_ends():
    machine = streaming()
    assert machine.handle(Tick(11.0)) == []  # nothing due yet
    assert machine.handle(RuntimeAnswered("r1", None, 10.8, streamed=True)) == []
    assert machine.state is State.FINISHING
    finished = only(machine.handle(RuntimeNext(10.9)), InvokeFinished)
    assert (finished.status, finished.failure) == ("success", None)
    assert finished.duration == pytest.approx(0.9) and finished.runtime_duration == pytest.approx(0.8)
    assert machine.state is State.IDLE


def test_error_trailers_make_the_stream_the_function_s_error():
    machine = streaming()
    machine.handle(RuntimeAnswered("r1", "RuntimeError", 10.5, streamed=True))
    finished = only(machine.handle(RuntimeNext(10.6)), InvokeFinished)
    assert (finished.status, finished.error_type, finished.failure) == ("error", "RuntimeError", None)


def test_while_streaming_error_and_a_second_response_are_refused_403():
    machine = streaming()
    for check in (lambda: machine.check_answer("r1", error=True), lambda: machine.check_answer("r1")):
        with pytest.raises(LifecycleError) as refused:
            check()
        assert refused.value.status == 403 and "InvocationResponseStreaming" in refused.value.message
    with pytest.raises(LifecycleError):
        machine.handle(RuntimeAnswered("r1", "Custom", 10.2))  # an /error, not the stream's end
    with pytest.raises(LifecycleError):
        machine.handle(ResponseStreamStarted("r1", 10.2))
    with pytest.raises(LifecycleError):
        machine.handle(RuntimeNext(10.2))
    assert machine.state is State.STREAMING


def test_a_stream_cannot_start_before_the_invocation_or_end_without_starting():
    machine = warm()
    with pytest.raises(LifecycleError) as refused:
        machine.handle(ResponseStreamStarted("r1", 5.0))
    assert refused.value.status == 400
    machine.handle(InvokeRequested("r1", 10.0))
    with pytest.raises(LifecycleError):
        machine.handle(RuntimeAnswered("r1", None, 10.1, streamed=True))
    with pytest.raises(LifecycleError):
        machine.handle(ResponseStreamAborted("r1", FunctionError("Client.Disconnected"), 10.1))
    assert machine.state is State.INVOKING


def test_a_timeout_mid_stream_resets_and_the_late_end_of_the_stream_is_stale():
    machine = streaming()
    actions = machine.handle(Tick(13.0))
    finished = only(actions, InvokeFinished)
    assert (finished.status, finished.error_type) == ("timeout", "Sandbox.Timedout")
    assert finished.failure == FunctionError("Sandbox.Timedout", "Task timed out after 3.00 seconds")
    assert SignalProcesses((RUNTIME,), "SIGKILL") in actions and machine.state is State.RESETTING
    with pytest.raises(LifecycleError) as refused:
        machine.handle(RuntimeAnswered("r1", None, 13.1, streamed=True))
    assert refused.value.status == 400


def test_an_aborted_stream_fails_the_invocation_and_resets_the_environment():
    machine = streaming()
    failure = FunctionError("Function.ResponseSizeTooLarge", "too large")
    actions = machine.handle(ResponseStreamAborted("r1", failure, 10.5))
    finished = only(actions, InvokeFinished)
    assert (finished.status, finished.error_type, finished.failure) == ("failure", "Function.ResponseSizeTooLarge", failure)
    assert SignalProcesses((RUNTIME,), "SIGKILL") in actions and machine.state is State.RESETTING
    assert kinds(machine.handle(ProcessExited(RUNTIME, "signal: killed", 10.6))) == ["EnvironmentReset"]
    assert machine.state is State.UNINITIALIZED
    assert machine.handle(InvokeRequested("r2", 11.0)) == [InitStarted("invoke"), StartRuntime()]  # suppressed init


def test_a_runtime_crash_mid_stream_is_a_runtime_exit_error():
    machine = streaming()
    finished = only(machine.handle(ProcessExited(RUNTIME, "exit status 3", 10.4)), InvokeFinished)
    assert finished.failure == FunctionError("Runtime.ExitError", "Runtime exited with error: exit status 3")
    assert machine.state is State.UNINITIALIZED


def test_a_shutdown_mid_stream_fails_the_invocation():
    machine = streaming()
    finished = only(machine.handle(ShutdownRequested(10.4)), InvokeFinished)
    assert finished.failure is not None and finished.failure.error_type == "Sandbox.Shutdown"


def test_extensions_keep_working_while_the_runtime_streams():
    machine = Lifecycle(external_extensions=("ext",), invoke_timeout=3.0)
    machine.handle(InvokeRequested("r1", 0.0))
    machine.handle(ExtensionRegistered("e1", "ext", ("INVOKE",), 0.1))
    machine.handle(ExtensionNext("e1", 0.2))
    machine.handle(RuntimeNext(0.3))
    machine.handle(ResponseStreamStarted("r1", 0.4))
    assert machine.handle(ExtensionNext("e1", 0.5)) == [] and machine.state is State.STREAMING
    machine.handle(RuntimeAnswered("r1", None, 0.6, streamed=True))
    assert only(machine.handle(RuntimeNext(0.7)), InvokeFinished).status == "success"


def test_transition_table_has_one_target_per_state_event_and_guard():
    keys = [(t.source, t.event, t.guard) for t in lc.TRANSITIONS]
    assert len(keys) == len(set(keys))
    targets = {t.target for t in lc.TRANSITIONS} | {State.UNINITIALIZED}
    assert targets == set(State)  # every state is reachable


def test_diagram_is_generated_from_the_table():
    mermaid = lc.diagram("mermaid")
    assert mermaid.startswith("stateDiagram-v2\n    [*] --> Uninitialized\n")
    for transition in lc.TRANSITIONS:
        label = " ".join(filter(None, [transition.event, f"[{transition.guard}]" if transition.guard else None]))
        assert f"    {transition.source.value} --> {transition.target.value} : {label}\n" in mermaid
    dot = lc.diagram("dot")
    assert dot.startswith("digraph lifecycle {") and dot.count("->") == len(lc.TRANSITIONS)
    assert lc.table_markdown().count("\n") == len(lc.TRANSITIONS) + 2


def test_diagram_command_line(capsys):
    assert lc.main(["--diagram"]) == 0
    assert capsys.readouterr().out == lc.diagram()


def test_lifecycle_document_is_generated_from_the_table():
    from pathlib import Path

    document = Path(__file__).parents[2] / "src" / "lamina" / "local" / "LIFECYCLE.md"
    assert document.read_text() == lc.document(), "regenerate: python -m lamina.local.lifecycle --markdown > LIFECYCLE.md"
