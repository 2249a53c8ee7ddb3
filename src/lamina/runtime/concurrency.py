"""Lambda Managed Instances: ``AWS_LAMBDA_MAX_CONCURRENCY=N`` runs N worker processes, each
polling ``next`` on its own connection; one failing worker does not stop the others."""

from __future__ import annotations

import logging
import os
import signal
import socket
import sys
from typing import Callable

from lamina.runtime.config import RuntimeConfig


def run_workers(config: RuntimeConfig, run_worker: Callable[[RuntimeConfig, bool], None]) -> int:
    """Forks the workers, forwards SIGTERM to them, and returns the first failing worker's
    exit status (0 when all ended cleanly)."""
    workers = config.max_concurrency or 1
    logging.getLogger("lamina.runtime").debug(
        {"event": "runtime_worker_pool_initializing", "workerCount": workers,
         "executionEnvironmentMaxConcurrency": workers}
    )
    sys.stdout.flush()
    children = []
    for _ in range(workers):
        pid = os.fork()
        if pid == 0:
            os._exit(_run_one_worker(config, run_worker))
        children.append(pid)

    def forward(signum: int, frame: object) -> None:
        for pid in children:
            try:
                os.kill(pid, signum)
            except ProcessLookupError:
                pass

    signal.signal(signal.SIGTERM, forward)
    status = 0
    for pid in children:
        _, wait_status = os.waitpid(pid, 0)
        code = os.waitstatus_to_exitcode(wait_status)
        status = status or code
    return status


def _run_one_worker(config: RuntimeConfig, run_worker: Callable[[RuntimeConfig, bool], None]) -> int:
    try:
        if config.log_socket_path:
            _send_output_to(config.log_socket_path)
        run_worker(config, True)
        return 0
    except SystemExit as exc:
        return exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 1)
    except BaseException as exc:  # a worker must end with a status, not a traceback into the parent
        print(f"lamina: worker failed: {exc!r}", file=sys.stderr)
        return 1
    finally:
        sys.stdout.flush()
        sys.stderr.flush()


def _send_output_to(socket_path: str) -> None:
    """Managed Instances hands each worker a socket for its stdout and stderr."""
    for stream in (sys.stdout, sys.stderr):
        with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as connection:
            connection.connect(socket_path)
            os.dup2(connection.fileno(), stream.fileno())
