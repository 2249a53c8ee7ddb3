"""The processes of an execution environment: started in their own session (so that a signal
reaches their children too), their output read on the event loop, their exit noticed through
a pidfd — no thread per process."""

from __future__ import annotations

import asyncio
import errno
import logging
import os
import signal
import subprocess
from pathlib import Path
from typing import Callable

logger = logging.getLogger(__name__)

# Go's names for signals (Lambda's "Runtime exited with error: signal: killed").
_SIGNAL_NAMES = {
    1: "hangup", 2: "interrupt", 3: "quit", 4: "illegal instruction", 5: "trace/breakpoint trap",
    6: "aborted", 7: "bus error", 8: "floating point exception", 9: "killed", 10: "user defined signal 1",
    11: "segmentation fault", 12: "user defined signal 2", 13: "broken pipe", 14: "alarm clock", 15: "terminated",
}
_READ_SIZE = 65536
_DRAIN_BUDGET = 4 << 20


def describe_exit(returncode: int) -> str:
    """``exit status 1`` or ``signal: killed``, as Go's ProcessState prints it."""
    if returncode < 0:
        return "signal: " + _SIGNAL_NAMES.get(-returncode, f"signal {-returncode}")
    return f"exit status {returncode}"


def describe_start_error(path: Path | str, error: OSError) -> str:
    """``fork/exec /path/bootstrap: permission denied``, as Go's exec error reads."""
    reason = {
        errno.EACCES: "permission denied", errno.ENOENT: "no such file or directory", errno.ENOEXEC: "exec format error",
    }.get(error.errno or 0, (error.strerror or str(error)).lower())
    return f"fork/exec {path}: {reason}"


class OutputReader:
    """Reads a pipe on the event loop and hands the bytes to ``on_data``; :meth:`drain` reads
    what is already in the pipe right now (so that output written before an HTTP request is
    logged before the line that request causes)."""

    def __init__(self, fd: int, on_data: Callable[[bytes], None], loop: asyncio.AbstractEventLoop) -> None:
        self.fd = fd
        self._on_data = on_data
        self._loop = loop
        os.set_blocking(fd, False)
        loop.add_reader(fd, self._readable)
        self.closed = False

    def _readable(self) -> None:
        self.drain(_READ_SIZE)

    def drain(self, budget: int = _DRAIN_BUDGET) -> None:
        """Reads what is in the pipe, up to ``budget`` bytes (a process that never stops
        writing must not hold the event loop)."""
        while not self.closed and budget > 0:
            try:
                data = os.read(self.fd, min(_READ_SIZE, budget))
            except BlockingIOError:
                return
            except OSError:
                data = b""
            if not data:
                self.close()
                return
            budget -= len(data)
            self._on_data(data)

    def close(self) -> None:
        if not self.closed:
            self.closed = True
            self._loop.remove_reader(self.fd)
            os.close(self.fd)


class EnvironmentProcess:
    """One process of an environment (the runtime or an external extension)."""

    def __init__(
        self,
        name: str,
        argv: list[str],
        environment: dict[str, str],
        cwd: Path,
        on_output: Callable[[bytes], None],
        on_exit: Callable[[str], None],
        loop: asyncio.AbstractEventLoop,
        on_telemetry_log: Callable[[bytes], None] | None = None,
    ) -> None:
        """Starts the process (raises OSError when it cannot be executed). stdout and stderr go
        to one pipe, in order, as Lambda collects them. With ``on_telemetry_log``, a second pipe
        is the process's ``_LAMBDA_TELEMETRY_LOG_FD``."""
        self.name = name
        self._loop = loop
        self._on_exit = on_exit
        self.returncode: int | None = None
        output_read, output_write = os.pipe()
        pipes = [output_read, output_write]
        telemetry_read = telemetry_write = -1
        if on_telemetry_log is not None:
            telemetry_read, telemetry_write = os.pipe()
            pipes += [telemetry_read, telemetry_write]
            environment = dict(environment, _LAMBDA_TELEMETRY_LOG_FD=str(telemetry_write))
        try:
            self.popen = subprocess.Popen(
                argv, env=environment, cwd=cwd, stdin=subprocess.DEVNULL, stdout=output_write, stderr=output_write,
                start_new_session=True, pass_fds=(telemetry_write,) if telemetry_write >= 0 else (),
            )
        except BaseException:
            for fd in pipes:
                os.close(fd)
            raise
        os.close(output_write)
        self.readers = [OutputReader(output_read, on_output, loop)]
        if on_telemetry_log is not None:
            os.close(telemetry_write)
            self.readers.append(OutputReader(telemetry_read, on_telemetry_log, loop))
        self.pid = self.popen.pid
        self._pidfd: int | None = None
        try:
            self._pidfd = os.pidfd_open(self.pid)
            loop.add_reader(self._pidfd, self._exited)
        except (AttributeError, OSError):  # no pidfd: a thread waits instead
            future = loop.run_in_executor(None, self.popen.wait)
            future.add_done_callback(lambda _: self._exited())

    def drain(self) -> None:
        for reader in self.readers:
            reader.drain()

    def signal(self, signal_name: str) -> None:
        """SIGTERM goes to the process; SIGKILL to its whole session (its children too)."""
        if self.returncode is not None:
            return
        try:
            if signal_name == "SIGKILL":
                os.killpg(self.pid, signal.SIGKILL)
            else:
                os.kill(self.pid, getattr(signal, signal_name))
        except ProcessLookupError:
            pass

    def _exited(self) -> None:
        if self.returncode is not None:
            return
        if self._pidfd is not None:
            self._loop.remove_reader(self._pidfd)
            os.close(self._pidfd)
            self._pidfd = None
        # Children left behind (a bootstrap's curl, a daemon) go with the process; while it is
        # not reaped its pid, hence its process group's id, cannot be reused.
        try:
            os.killpg(self.pid, signal.SIGKILL)
        except (ProcessLookupError, PermissionError):
            pass
        self.returncode = self.popen.wait()
        self.drain()
        self._on_exit(describe_exit(self.returncode))

    def close(self) -> None:
        """Stops reading its output (after it exited and the output was logged)."""
        for reader in self.readers:
            reader.close()
