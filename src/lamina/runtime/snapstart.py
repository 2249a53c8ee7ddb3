"""SnapStart: before-snapshot hooks, the restore, after-restore hooks
(``AWS_LAMBDA_INITIALIZATION_TYPE=snap-start``; ../shared/spec/runtime.md section 6)."""

from __future__ import annotations

import sys
from typing import Any

from lamina.runtime import errors, logs

BEFORE_SNAPSHOT_EXIT_STATUS = 64
AFTER_RESTORE_EXIT_STATUS = 65


def run_hooks(client: Any) -> None:
    """Runs before-snapshot hooks (last registered first), waits for the restore, then runs
    after-restore hooks (first registered first). A failure is reported and ends the process."""
    before_snapshot, after_restore = _registered_hooks()
    try:
        while before_snapshot:
            function, args, kwargs = before_snapshot.pop()
            function(*args, **kwargs)
        client.restore_next()
    except Exception as exc:
        report = _report(exc)
        client.post_init_error(report.encoded_body(), errors.BEFORE_SNAPSHOT_ERROR)
        sys.exit(BEFORE_SNAPSHOT_EXIT_STATUS)
    try:
        for function, args, kwargs in after_restore:
            function(*args, **kwargs)
    except Exception as exc:
        report = _report(exc)
        client.post_restore_error(report.encoded_body(), errors.AFTER_RESTORE_ERROR)
        sys.exit(AFTER_RESTORE_EXIT_STATUS)


def _registered_hooks() -> tuple[list, list]:
    """Hooks users registered through AWS's ``snapshot_restore_py`` API, when installed."""
    try:
        from snapshot_restore_py import get_after_restore, get_before_snapshot
    except ImportError:
        return [], []
    return get_before_snapshot(), get_after_restore()


def _report(exc: BaseException) -> errors.ErrorReport:
    report = errors.describe(exc)
    logs.log_uncaught_error(report.body)
    return report
