"""Max Memory Used, measured: the resident memory of an environment's processes and their
children, from /proc (Lambda reports its sandbox's peak; RIE copies the configured size).

At the start of an invocation each process's peak (VmHWM) is reset to its current RSS
(``/proc/<pid>/clear_refs``); at the end the peaks are summed. Sampling the summed RSS in
between catches children that came and went during the invocation."""

from __future__ import annotations

import asyncio
import math
from pathlib import Path

PROC = Path("/proc")
SAMPLE_INTERVAL = 0.05


def process_tree(roots: list[int]) -> list[int]:
    """``roots`` and all their descendants that are alive now."""
    seen: list[int] = []
    pending = list(roots)
    while pending:
        pid = pending.pop()
        if pid in seen:
            continue
        seen.append(pid)
        try:
            for task in (PROC / str(pid) / "task").iterdir():
                pending += [int(child) for child in (task / "children").read_text().split()]
        except (OSError, ValueError):
            continue
    return seen


def _status_kb(pid: int, field: str) -> int:
    try:
        for line in (PROC / str(pid) / "status").read_text().splitlines():
            if line.startswith(field + ":"):
                return int(line.split()[1])
    except (OSError, ValueError, IndexError):
        pass
    return 0


def resident_kb(pids: list[int]) -> int:
    return sum(_status_kb(pid, "VmRSS") for pid in pids)


def peak_kb(pids: list[int]) -> int:
    return sum(_status_kb(pid, "VmHWM") for pid in pids)


def reset_peaks(pids: list[int]) -> None:
    for pid in pids:
        try:
            (PROC / str(pid) / "clear_refs").write_text("5")
        except OSError:
            pass  # the lifetime peak then counts: an overestimate, never an underestimate


def to_mb(kilobytes: int) -> int:
    return math.ceil(kilobytes / 1024)


class MemoryMonitor:
    """The peak memory of a set of process trees over one invocation."""

    def __init__(self, roots: list[int]) -> None:
        self._roots = roots
        self._peak_kb = 0
        self._task: asyncio.Task[None] | None = None

    def start(self) -> None:
        tree = process_tree(self._roots)
        reset_peaks(tree)
        self._peak_kb = resident_kb(tree)
        self._task = asyncio.get_running_loop().create_task(self._sample())

    async def _sample(self) -> None:
        while True:
            await asyncio.sleep(SAMPLE_INTERVAL)
            self._peak_kb = max(self._peak_kb, resident_kb(process_tree(self._roots)))

    def stop(self) -> int:
        """The peak, in MB (rounded up)."""
        if self._task is not None:
            self._task.cancel()
            self._task = None
        self._peak_kb = max(self._peak_kb, peak_kb(process_tree(self._roots)))
        return to_mb(self._peak_kb)
