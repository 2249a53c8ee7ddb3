"""runtime.md section 3: handler resolution at init, init errors, invocation errors."""

import pytest
from runtime_process import reply_json

from lamina.testing.runtime_api import ScriptedInvocation


def init_error_of(api, runtime):
    reply = api.wait_for_path("/runtime/init/error")
    assert runtime.wait() == 1
    return reply, reply_json(reply)


@pytest.mark.parametrize(
    ("handler", "error_type", "message"),
    [
        ("nodot", "Runtime.MalformedHandlerName", "Bad handler 'nodot': not enough values to unpack (expected 2, got 1)"),
        ("sys.handler", "Runtime.BuiltInModuleConflict", "Cannot use built-in module sys as a handler module"),
        ("no_such_module.handler", "Runtime.ImportModuleError", "Unable to import module 'no_such_module': No module named 'no_such_module'"),
        ("imports_missing.handler", "Runtime.ImportModuleError", "Unable to import module 'imports_missing': No module named 'module_that_does_not_exist'"),
        ("app.no_such_function", "Runtime.HandlerNotFound", "Handler 'no_such_function' missing on module 'app'"),
    ],
)
def test_init_error_types_and_messages(api, start_runtime, handler, error_type, message):
    runtime = start_runtime(handler)
    reply, body = init_error_of(api, runtime)
    assert reply.header("Lambda-Runtime-Function-Error-Type") == error_type
    assert body == {"errorMessage": message, "errorType": error_type, "requestId": "", "stackTrace": []}
    assert not any(r.path.endswith("/next") for r in api.requests)


def test_syntax_error_reports_file_line_and_text(api, start_runtime):
    runtime = start_runtime("broken_syntax.handler")
    reply, body = init_error_of(api, runtime)
    assert body["errorType"] == "Runtime.UserCodeSyntaxError"
    assert body["errorMessage"].startswith("Syntax error in module 'broken_syntax': ")
    [frame] = body["stackTrace"]
    assert frame.startswith('  File "') and "broken_syntax.py\" Line 1\n    def handler(event, context)" in frame


def test_exception_at_import_reports_its_class_message_and_user_frames(api, start_runtime):
    runtime = start_runtime("raises_at_import.handler")
    _, body = init_error_of(api, runtime)
    assert body["errorType"] == "ValueError"
    assert body["errorMessage"] == "broken at import"
    assert body["stackTrace"][0].startswith('  File "') and "raises_at_import.py" in body["stackTrace"][0]
    assert "in helper" in body["stackTrace"][-1]
    assert "LAMBDA_WARNING: Unhandled exception." in runtime.stdout
    assert "[ERROR] ValueError: broken at import" in runtime.stdout


def test_system_exit_at_import_is_reported_as_an_init_error(api, start_runtime):
    runtime = start_runtime("exits_at_import.handler")
    _, body = init_error_of(api, runtime)
    assert body["errorType"] == "SystemExit"


def test_handler_is_resolved_during_init_before_the_first_next(api, start_runtime):
    runtime = start_runtime("app.area")
    api.wait_for_path("/invocation/next")
    assert "app module imported" in runtime.wait_for_output("app module imported")


@pytest.mark.parametrize("handler", ["nested.deeper.mod.handler", "nested/deeper/mod.handler"])
def test_dotted_and_slashed_module_names(start_runtime, handler):
    assert reply_json(start_runtime(handler).invoke(b"{}")) == {"module": "nested.deeper.mod"}


def test_handler_from_the_environment_when_no_argument(start_runtime):
    runtime = start_runtime(None, env={"_HANDLER": "app.area"})
    assert reply_json(runtime.invoke(b'{"length":2,"width":3}')) == {"area": 6}


def test_handler_exception_reports_class_name_message_and_trimmed_stack(start_runtime):
    invocation = ScriptedInvocation(event=b"{}")
    body = reply_json(start_runtime("app.raises_custom").invoke(invocation))
    assert body["errorType"] == "CustomFailure"
    assert body["errorMessage"] == "from a nested call"
    assert body["requestId"] == invocation.request_id
    assert len(body["stackTrace"]) == 2
    assert "in raises_custom" in body["stackTrace"][0] and "in deeper" in body["stackTrace"][1]
    assert body["stackTrace"][1].endswith('raise CustomFailure("from a nested call")\n')


def test_malformed_event_is_an_unmarshal_error(start_runtime):
    reply = start_runtime("app.echo").invoke(b'{"a": 1,}')
    body = reply_json(reply)
    assert body["errorType"] == "Runtime.UnmarshalError"
    assert body["errorMessage"] == "Unable to unmarshal input: Illegal trailing comma before end of object: line 1 column 8 (char 7)"
    assert body["stackTrace"] == []


def test_unserializable_result_is_a_marshal_error(start_runtime):
    body = reply_json(start_runtime("app.returns_datetime").invoke(b"{}"))
    assert body == {
        "errorMessage": "Unable to marshal response: Object of type datetime is not JSON serializable",
        "errorType": "Runtime.MarshalError",
        "requestId": body["requestId"],
        "stackTrace": [],
    }


@pytest.mark.parametrize("header", ["client_context", "cognito_identity"])
def test_malformed_context_header_is_a_context_unmarshal_error(start_runtime, header):
    invocation = ScriptedInvocation(event=b"{}", **{header: "{not json"})
    body = reply_json(start_runtime("app.echo").invoke(invocation))
    assert body["errorType"] == "Runtime.LambdaContextUnmarshalError"
    name = "Client Context" if header == "client_context" else "Cognito Identity"
    assert body["errorMessage"].startswith(f"Unable to parse {name} JSON: ")


def test_non_json_content_type_hands_over_raw_bytes(start_runtime):
    reply = start_runtime("app.raw_event").invoke(ScriptedInvocation(event=b"not json", content_type="text/plain"))
    assert reply_json(reply) == {"type": "bytes", "repr": "b'not json'"}


def test_system_exit_is_posted_then_ends_the_process_with_its_code(api, start_runtime):
    runtime = start_runtime("app.exits")
    reply = runtime.invoke(b'{"code": 3}')
    assert reply.path.endswith("/error")
    assert reply_json(reply)["errorType"] == "SystemExit"
    assert runtime.wait() == 3


def test_keyboard_interrupt_is_posted_then_ends_the_process(start_runtime):
    runtime = start_runtime("app.keyboard_interrupt")
    reply = runtime.invoke(b"{}")
    assert reply_json(reply)["errorType"] == "KeyboardInterrupt"
    assert runtime.wait() != 0


def test_async_handler_runs_on_one_event_loop_for_all_invocations(start_runtime):
    runtime = start_runtime("async_app.handler")
    results = [reply_json(runtime.invoke(b"{}")) for _ in range(3)]
    assert results[-1] == {"distinct_loops": 1, "invocations": 3}


def test_async_handler_error_has_the_coroutine_frames_only(start_runtime):
    body = reply_json(start_runtime("async_app.fails").invoke(b"{}"))
    assert body["errorType"] == "ValueError" and body["errorMessage"] == "async boom"
    assert all("asyncio" not in frame for frame in body["stackTrace"])
    assert "in fails" in body["stackTrace"][-1]


def test_plain_function_returning_a_coroutine_is_awaited(start_runtime):
    assert reply_json(start_runtime("async_app.returns_coroutine").invoke(b"{}"))["invocations"] == 1
