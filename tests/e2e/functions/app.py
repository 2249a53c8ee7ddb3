"""Handlers the end-to-end tests run through lamina and through awslambdaric."""

import collections
import datetime
import decimal
import enum
import logging
import os
import sys
import time

logger = logging.getLogger("app")
print("app module imported", flush=True)


def area(event, context):
    return {"area": event["length"] * event["width"]}


def echo(event, context):
    return event


def returns_bytes(event, context):
    return b"\x00raw bytes\xff"


def returns_none(event, context):
    return None


def returns_datetime(event, context):
    return {"when": datetime.datetime(2026, 1, 1)}


def returns_mixed(event, context):
    Point = collections.namedtuple("Point", "x y")

    class Color(enum.IntEnum):
        RED = 1

    return {
        "decimal": decimal.Decimal("1.10"),
        "point": Point(1, 2),
        "color": Color.RED,
        "tuple": (1, 2.5, "three"),
        "nan": float("nan"),
        "unicode": "żółw 🐢",
        "big": 2**100,
        "nested": {"none": None, "bool": True},
    }


def raises_value_error(event, context):
    raise ValueError("boom")


def raises_custom(event, context):
    class CustomFailure(Exception):
        pass

    def deeper():
        raise CustomFailure("from a nested call")

    deeper()


def raises_key_error(event, context):
    return event["missing"]


def exits(event, context):
    sys.exit(event.get("code", 3))


def keyboard_interrupt(event, context):
    raise KeyboardInterrupt


def context_fields(event, context):
    identity = context.identity
    client = context.client_context
    return {
        "aws_request_id": context.aws_request_id,
        "function_name": context.function_name,
        "function_version": context.function_version,
        "invoked_function_arn": context.invoked_function_arn,
        "memory_limit_in_mb": context.memory_limit_in_mb,
        "memory_limit_type": type(context.memory_limit_in_mb).__name__,
        "log_group_name": context.log_group_name,
        "log_stream_name": context.log_stream_name,
        "tenant_id": context.tenant_id,
        "identity": [identity.cognito_identity_id, identity.cognito_identity_pool_id],
        "client_context": None
        if client is None
        else {
            "custom": client.custom,
            "env": client.env,
            "client": None
            if client.client is None
            else {
                "installation_id": client.client.installation_id,
                "app_title": client.client.app_title,
                "app_version_name": client.client.app_version_name,
                "app_version_code": client.client.app_version_code,
                "app_package_name": client.client.app_package_name,
            },
        },
        "remaining_ms": context.get_remaining_time_in_millis(),
        "repr": repr(context),
    }


def environment(event, context):
    return {
        "trace_id": os.environ.get("_X_AMZN_TRACE_ID"),
        "telemetry_fd_visible": "_LAMBDA_TELEMETRY_LOG_FD" in os.environ,
        "cwd": os.getcwd(),
        "sys_path_0": sys.path[0],
    }


def logs(event, context):
    print("printed line")
    logger.debug("debug record")
    logger.info("info record")
    logger.warning("warning record %s", "with args")
    logger.error("error record", extra={"order": 7})
    try:
        raise RuntimeError("logged failure")
    except RuntimeError:
        logger.exception("exception record")
    context.log("context log line\n")
    return "logged"


def partial_line(event, context):
    sys.stdout.write("no newline at the end")
    return "ok"


def sleeps(event, context):
    time.sleep(event.get("seconds", 0.5))
    return {"pid": os.getpid(), "slept": event.get("seconds", 0.5)}


def raw_event(event, context):
    return {"type": type(event).__name__, "repr": repr(event)}


def deep_result(event, context):
    result = []
    for _ in range(event["depth"]):
        result = [result]
    return result


def trace_id_everywhere(event, context):
    import subprocess

    child = subprocess.run(["sh", "-c", 'printf %s "${_X_AMZN_TRACE_ID-unset}"'], capture_output=True, text=True)
    return {"os_environ": os.environ.get("_X_AMZN_TRACE_ID"), "getenv": os.getenv("_X_AMZN_TRACE_ID"), "child": child.stdout}


def env_var(event, context):
    return os.environ.get(event["name"])


def raises_huge_message(event, context):
    raise ValueError("x" * (1024 * 1024 + 10))


def stdout_buffering(event, context):
    return {"line_buffering": sys.stdout.line_buffering, "write_through": sys.stdout.write_through}
