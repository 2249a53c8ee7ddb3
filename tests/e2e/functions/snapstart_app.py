import os

from snapshot_restore_py import register_after_restore, register_before_snapshot

calls = []


@register_before_snapshot
def first_before():
    calls.append("before-1")
    if os.environ.get("FAIL_BEFORE_SNAPSHOT"):
        raise RuntimeError("cannot snapshot")


@register_before_snapshot
def second_before():
    calls.append("before-2")


@register_after_restore
def first_after():
    calls.append("after-1")
    if os.environ.get("FAIL_AFTER_RESTORE"):
        raise RuntimeError("cannot restore")


@register_after_restore
def second_after():
    calls.append("after-2")


def handler(event, context):
    return calls
