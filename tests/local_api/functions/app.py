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
