"""The environments of one function version: warm ones are reused, a new one is made on
demand (cold start), idle ones are shut down after a while, and all of them go when the
function's code or configuration changes."""

from __future__ import annotations

import asyncio
import logging
from pathlib import Path
from typing import Callable

from lamina.local.environment import ExecutionEnvironment
from lamina.local.filesystem import FunctionFiles, prepare_function_files
from lamina.local.functions import FunctionConfig
from lamina.local.lifecycle import State
from lamina.local.logs import LogLine
from lamina.local.settings import LocalLambdaSettings

logger = logging.getLogger(__name__)

# Which environment an invocation gets: a warm one, then one reset after a failure (its init is
# then suppressed, as Lambda's), then one finishing its reset.
_PREFERENCE = {State.IDLE: 0, State.UNINITIALIZED: 1, State.RESETTING: 2}


class FunctionPool:
    """The execution environments of one configuration of one function version."""

    def __init__(
        self,
        config: FunctionConfig,
        generation: int,
        settings: LocalLambdaSettings,
        work_dir: Path,
        log_sink: Callable[[LogLine], None],
    ) -> None:
        self.config = config
        self.generation = generation
        self.settings = settings
        self.environments: list[ExecutionEnvironment] = []
        self.retired = False
        self._work_dir = work_dir
        self._log_sink = log_sink
        self._files: FunctionFiles | None = None
        self._files_lock = asyncio.Lock()
        self._counter = 0
        self._idle_timers: dict[str, asyncio.TimerHandle] = {}
        self._stopping: set[asyncio.Task[None]] = set()

    def take_available(self) -> ExecutionEnvironment | None:
        """Reserves the best environment that may run an invocation now, if any."""
        candidates = [e for e in self.environments if not e.reserved and e.state in _PREFERENCE]
        if not candidates:
            return None
        environment = min(candidates, key=lambda e: (_PREFERENCE[e.state], -e.last_used))
        self._reserve(environment)
        return environment

    async def create_environment(self) -> ExecutionEnvironment:
        """A new environment, reserved (its processes start with the invocation: cold start)."""
        files = await self._prepare_files()
        self._counter += 1
        environment_id = f"{self.config.name}-{self.generation}-{self._counter}-{id(self) & 0xFFFF:04x}"
        environment = ExecutionEnvironment(
            environment_id, self.config, files, self.settings, self._work_dir, self._log_sink
        )
        await environment.start()
        self._reserve(environment)
        self.environments.append(environment)
        return environment

    def release(self, environment: ExecutionEnvironment) -> None:
        """The invocation is over: keep the environment warm, or let it go."""
        environment.reserved = False
        if self.retired or environment.stopped:
            self.stop_environment(environment)
            return
        timer = asyncio.get_running_loop().call_later(
            self.settings.idle_timeout_seconds, self._idle_too_long, environment
        )
        self._idle_timers[environment.environment_id] = timer

    def idle_environments(self) -> list[ExecutionEnvironment]:
        return [e for e in self.environments if not e.reserved]

    def stop_environment(self, environment: ExecutionEnvironment) -> None:
        """Shuts ``environment`` down in the background."""
        if environment in self.environments:
            self.environments.remove(environment)
        timer = self._idle_timers.pop(environment.environment_id, None)
        if timer is not None:
            timer.cancel()
        task = asyncio.get_running_loop().create_task(environment.shutdown())
        self._stopping.add(task)
        task.add_done_callback(self._stopping.discard)

    def retire(self) -> None:
        """The function changed: idle environments go now, busy ones when their invocation ends."""
        self.retired = True
        for environment in self.idle_environments():
            self.stop_environment(environment)

    async def close(self) -> None:
        """Shuts every environment down and waits for it."""
        self.retired = True
        for environment in list(self.environments):
            self.stop_environment(environment)
        if self._stopping:
            await asyncio.gather(*self._stopping, return_exceptions=True)

    def _reserve(self, environment: ExecutionEnvironment) -> None:
        environment.reserved = True
        timer = self._idle_timers.pop(environment.environment_id, None)
        if timer is not None:
            timer.cancel()

    def _idle_too_long(self, environment: ExecutionEnvironment) -> None:
        self._idle_timers.pop(environment.environment_id, None)
        if not environment.reserved:
            self.stop_environment(environment)

    async def _prepare_files(self) -> FunctionFiles:
        async with self._files_lock:
            if self._files is None:
                directory = self._work_dir / "functions" / self.config.name / f"{_safe(self.config.version)}-{self.generation}"
                self._files = await asyncio.to_thread(prepare_function_files, self.config, directory)
            return self._files


def _safe(version: str) -> str:
    return version.replace("$", "")
