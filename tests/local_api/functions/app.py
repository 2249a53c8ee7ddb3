"""Handlers the local Lambda's API tests deploy (as a zip, a directory or from a template)."""

import json
import os
import sys
import time
from pathlib import Path

VERSION = "v1"  # the update tests deploy a copy with another value


def echo(event, context):
    return event


def version(event, context):
    return VERSION


def fails(event, context):
    raise ValueError("boom")


def returns_bytes(event, context):
    return b"\x00raw"


def sleeps(event, context):
    time.sleep(event.get("seconds", 0.5))
    return {"slept": event.get("seconds", 0.5), "request_id": context.aws_request_id}


def client_context(event, context):
    client = context.client_context
    if client is None:
        return None
    return {"custom": client.custom, "env": client.env, "app_title": getattr(client.client, "app_title", None)}


def context_fields(event, context):
    return {
        "function_name": context.function_name,
        "invoked_function_arn": context.invoked_function_arn,
        "memory_limit_in_mb": context.memory_limit_in_mb,
        "remaining_ms": context.get_remaining_time_in_millis(),
    }


def environment(event, context):
    return {name: os.environ.get(name) for name in event["names"]}


def records_event(event, context):
    """Leaves the event where the test can see it: an Event invocation has no answer."""
    Path(event["path"]).write_text(json.dumps({"event": event, "request_id": context.aws_request_id}))
    return None


def logs_a_lot(event, context):
    for number in range(event.get("lines", 200)):
        print(f"line {number:04d} " + "x" * 40)
    return "done"


def uses_layer(event, context):
    import layered  # from /opt/python, the layer's content

    return layered.greeting()


def python_version(event, context):
    return sys.version_info[:2]


def logs_with_logging(event, context):
    import logging

    logging.getLogger("app").debug("a debug line")
    logging.getLogger("app").warning("a warning line")
    return "logged"


def describe(event, context):
    """What ran: the code's VERSION, the configuration's STAGE, the version and ARN Lambda gave."""
    return {
        "code": VERSION,
        "variable": os.environ.get("STAGE"),
        "function_version": os.environ.get("AWS_LAMBDA_FUNCTION_VERSION"),
        "invoked_function_arn": context.invoked_function_arn,
    }


def fails_until(event, context):
    """Fails until its `succeed_on`-th attempt at the same request, counting attempts as files
    in event["dir"] (an async retry may run in another environment)."""
    attempts = Path(event["dir"])
    attempt = len(list(attempts.glob("attempt-*"))) + 1
    (attempts / f"attempt-{attempt}").write_text(context.aws_request_id)
    if attempt < event["succeed_on"]:
        raise RuntimeError(f"attempt {attempt} fails")
    return {"attempts": attempt}


def records_to_environment_path(event, context):
    """An async destination: appends what it receives to the file $RECORD_PATH names."""
    with open(os.environ["RECORD_PATH"], "a") as records:
        records.write(json.dumps(event) + "\n")


def answers(event, context):
    """Answers with event["answer"] (a string of event["size"] x's when given a size)."""
    if "size" in event:
        return "x" * event["size"]
    return event.get("answer")


def http_echo(event, context):
    """A function URL handler: the request as it arrived, in an HTTP response of its own."""
    return {
        "statusCode": 201,
        "headers": {"Content-Type": "application/json", "X-Method": event["requestContext"]["http"]["method"]},
        "cookies": ["flavour=oat", "size=large"],
        "body": json.dumps({"event": event, "version": os.environ.get("AWS_LAMBDA_FUNCTION_VERSION")}),
    }
