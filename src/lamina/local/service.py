"""The local Lambda's engine: a registry of functions and the execution environments that run
them, behind two entry points, :meth:`LocalLambda.invoke` (the whole response) and
:meth:`LocalLambda.invoke_stream` (the response as it is produced). The Invoke API, function
URLs, the control plane and the CLI are built on it."""

from __future__ import annotations

import asyncio
import dataclasses
import logging
import random
import shutil
import tempfile
import uuid
import zipfile
from functools import partial
from pathlib import Path
from typing import Awaitable, Callable, TypeVar

from lamina.local.functions import (
    ConfigurationError, FunctionConfig, FunctionNotFound, InvocationRequest, InvocationResult, StreamedInvocation,
    Throttled,
)
from lamina.local.environment import ExecutionEnvironment
from lamina.local.logs import LogLine
from lamina.local.pool import FunctionPool
from lamina.local.settings import LocalLambdaSettings
from lamina.local.functions import Alias, is_version_number

logger = logging.getLogger(__name__)
LATEST = "$LATEST"


def _default_sink(line: LogLine) -> None:
    logging.getLogger(f"lamina.local.function.{line.function_name}").info("%s", line.text)


class LocalLambda:
    """Runs functions the way Lambda does: one execution environment per concurrent
    invocation, warm reuse, cold starts, idle shutdown, the Runtime/Extensions/Telemetry APIs.

    Use it as ``async with LocalLambda(settings) as service:`` (or ``await start()`` /
    ``await stop()``); register functions with :meth:`put_function`; call :meth:`invoke` or
    :meth:`invoke_stream`.
    """

    def __init__(self, settings: LocalLambdaSettings | None = None) -> None:
        self.settings = settings or LocalLambdaSettings()
        self._log_sink = self.settings.log_sink or _default_sink
        self._functions: dict[str, dict[str, FunctionConfig]] = {}  # name -> version -> config
        self._aliases: dict[str, dict[str, Alias]] = {}  # name -> alias name -> alias
        self._routing = random.Random()  # weighted aliases' draws
        self._pools: dict[tuple[str, str], FunctionPool] = {}
        self._generation = 0
        self._in_flight = 0
        self._in_flight_by_function: dict[str, int] = {}
        self._creating = 0  # environments being made (not yet in their pool)
        self._started = False
        self._work_dir: Path | None = None
        self._temporary_work_dir: str | None = None
        self._retired: list[FunctionPool] = []

    # ---------------------------------------------------------------------- lifetime

    async def start(self) -> None:
        if self._started:
            return
        if self.settings.work_dir is None:
            self._temporary_work_dir = tempfile.mkdtemp(prefix="lamina-local-")
            self._work_dir = Path(self._temporary_work_dir)
        else:
            self._work_dir = Path(self.settings.work_dir).resolve()
            self._work_dir.mkdir(parents=True, exist_ok=True)
        self._started = True

    async def stop(self) -> None:
        """Shuts every environment down (spindown: extensions get SHUTDOWN) and waits."""
        if not self._started:
            return
        self._started = False
        pools = list(self._pools.values()) + self._retired
        await asyncio.gather(*(pool.close() for pool in pools), return_exceptions=True)
        self._pools.clear()
        self._retired.clear()
        if self._temporary_work_dir is not None:
            shutil.rmtree(self._temporary_work_dir, ignore_errors=True)
            self._temporary_work_dir = None

    async def __aenter__(self) -> LocalLambda:
        await self.start()
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.stop()

    # ---------------------------------------------------------------------- registry

    def put_function(self, config: FunctionConfig) -> FunctionConfig:
        """Creates or replaces a function version (CreateFunction, UpdateFunctionCode,
        UpdateFunctionConfiguration, PublishVersion, PutFunctionConcurrency). Raises
        ConfigurationError. Environments of a replaced configuration are retired: idle ones
        now, busy ones after their invocation. A change of reserved concurrency alone keeps
        them."""
        config.validate()
        _check_files(config)
        versions = self._functions.setdefault(config.name, {})
        previous = versions.get(config.version)
        versions[config.version] = config
        key = (config.name, config.version)
        pool = self._pools.get(key)
        if previous is not None and pool is not None:
            if dataclasses.replace(previous, reserved_concurrency=config.reserved_concurrency) == config:
                pool.config = config
                return config
            self._retire(key)
        return config

    def get_function(self, name: str, qualifier: str | None = None) -> FunctionConfig:
        """The configuration of ``name`` at ``qualifier``: a version (default $LATEST) or an
        alias, which gives the version it points at (its main one, whatever its weights)."""
        name, qualifier = _split_name(name, qualifier)
        alias = self._alias_of(name, qualifier)
        version = self._functions.get(name, {}).get(alias.function_version if alias else qualifier or LATEST)
        if version is None:
            raise FunctionNotFound(_not_found_message(name, qualifier))
        return version

    def choose_version(self, name: str, qualifier: str | None = None) -> FunctionConfig:
        """The version one invocation of ``name`` at ``qualifier`` runs: an alias with
        weights picks one of its two versions at random, each with its share."""
        name, qualifier = _split_name(name, qualifier)
        alias = self._alias_of(name, qualifier)
        if alias is None:
            return self.get_function(name, qualifier)
        version = self._functions.get(name, {}).get(alias.choose_version(self._routing.random()))
        if version is None:
            raise FunctionNotFound(_not_found_message(name, qualifier))
        return version

    def delete_function(self, name: str, qualifier: str | None = None) -> None:
        """Deletes a version, or (no qualifier) the function and all its versions."""
        name, qualifier = _split_name(name, qualifier)
        versions = self._functions.get(name)
        if not versions or (qualifier and qualifier not in versions):
            raise FunctionNotFound(_not_found_message(name, qualifier))
        for version in [qualifier] if qualifier else list(versions):
            del versions[version]
            self._retire((name, version))
        if not versions:
            del self._functions[name]
        if not qualifier:
            self._aliases.pop(name, None)

    def list_functions(self) -> list[FunctionConfig]:
        """Every function's $LATEST (or, lacking one, its newest version), by name."""
        listed = []
        for name in sorted(self._functions):
            versions = self._functions[name]
            listed.append(versions.get(LATEST) or versions[max(versions, key=_version_key)])
        return listed

    def list_versions(self, name: str) -> list[FunctionConfig]:
        versions = self._functions.get(name)
        if not versions:
            raise FunctionNotFound(_not_found_message(name, None))
        return [versions[v] for v in sorted(versions, key=_version_key)]

    # ---------------------------------------------------------------------- aliases

    def put_alias(self, alias: Alias) -> None:
        """Creates or replaces an alias (CreateAlias, UpdateAlias). Raises FunctionNotFound
        when a version it points at does not exist."""
        versions = self._functions.get(alias.function_name, {})
        for version in alias.versions():
            if version not in versions:
                raise FunctionNotFound(_not_found_message(alias.function_name, version))
        self._aliases.setdefault(alias.function_name, {})[alias.name] = alias

    def get_alias(self, function_name: str, alias_name: str) -> Alias | None:
        return self._aliases.get(function_name, {}).get(alias_name)

    def list_aliases(self, function_name: str) -> list[Alias]:
        aliases = self._aliases.get(function_name, {})
        return [aliases[name] for name in sorted(aliases)]

    def delete_alias(self, function_name: str, alias_name: str) -> None:
        self._aliases.get(function_name, {}).pop(alias_name, None)

    def reserved_concurrency(self, name: str) -> int | None:
        """The function's reserved concurrency, shared by all its versions and aliases."""
        return self._reserved_concurrency(name)

    def _alias_of(self, name: str, qualifier: str | None) -> Alias | None:
        """The alias `qualifier` names; FunctionNotFound for an unknown one."""
        if qualifier is None or qualifier == LATEST or is_version_number(qualifier):
            return None
        alias = self._aliases.get(name, {}).get(qualifier)
        if alias is None:
            raise FunctionNotFound(_not_found_message(name, qualifier))
        return alias

    # ---------------------------------------------------------------------- invoke

    async def invoke(self, name: str, qualifier: str | None, request: InvocationRequest) -> InvocationResult:
        """One synchronous invocation. ``name`` may also be ``name:qualifier`` or an ARN.
        Raises FunctionNotFound, or Throttled when no environment may be started (reserved
        concurrency of the function, or the service's concurrency, all in use). A streamed
        response comes gathered (at most 6 MB, as Invoke's), its error trailers as the
        function's error."""
        return await self._invoke(name, qualifier, request.request_id, partial(_run_buffered, request))

    async def invoke_stream(self, name: str, qualifier: str | None, request: InvocationRequest) -> StreamedInvocation:
        """One synchronous invocation whose response is relayed as it is produced
        (InvokeWithResponseStream). Returns as soon as the response starts: iterate the
        chunks of the returned :class:`StreamedInvocation`; its ``result`` and ``error`` are
        set when they end; ``aclose()`` it to abandon the invocation (its environment is then
        reset). The invocation counts against concurrency until it ends. Raises as
        :meth:`invoke`."""
        return await self._invoke(name, qualifier, request.request_id, partial(_run_streamed, request))

    async def _invoke(self, name: str, qualifier: str | None, request_id: str | None, run: _Run[Outcome]) -> Outcome:
        """Finds (or starts) an environment within the concurrency limits and runs ``run`` in
        it; the environment stays reserved until the invocation is over."""
        if not self._started:
            raise RuntimeError("LocalLambda is not started: use 'async with LocalLambda(...)' or await start()")
        name, qualifier = _split_name(name, qualifier)
        config = self.choose_version(name, qualifier)
        reserved = self._reserved_concurrency(name)
        in_flight = self._in_flight_by_function.get(name, 0)
        if reserved is not None and in_flight >= reserved:
            raise Throttled("ReservedFunctionConcurrentInvocationLimitExceeded", "Rate Exceeded.")
        if self._in_flight >= self.settings.concurrency:
            raise Throttled("ConcurrentInvocationLimitExceeded", "Rate Exceeded.")
        pool = self._pool(config)
        self._in_flight += 1
        self._in_flight_by_function[name] = in_flight + 1
        environment: ExecutionEnvironment | None = None
        released = False

        def release() -> None:
            # Once the invocation is over, which may be after the caller stopped waiting.
            nonlocal released
            if released:
                return
            released = True
            self._in_flight -= 1
            self._in_flight_by_function[name] -= 1
            if environment is not None:
                pool.release(environment)

        handed_over = False
        try:
            environment = pool.take_available()
            if environment is None:
                self._make_room()
                self._creating += 1
                try:
                    environment = await pool.create_environment()
                finally:
                    self._creating -= 1
                if not self._started:  # stop() ran meanwhile
                    raise RuntimeError("LocalLambda stopped")
            invoked_arn = config.invoked_arn(qualifier, self.settings.region)
            handed_over = True  # the environment calls release() when it is done
            return await run(environment, request_id or str(uuid.uuid4()), invoked_arn, release)
        finally:
            if not handed_over:
                release()

    # ---------------------------------------------------------------------- helpers

    def _pool(self, config: FunctionConfig) -> FunctionPool:
        key = (config.name, config.version)
        pool = self._pools.get(key)
        if pool is None:
            self._generation += 1
            assert self._work_dir is not None
            pool = FunctionPool(config, self._generation, self.settings, self._work_dir, self._log_sink)
            self._pools[key] = pool
        return pool

    def _retire(self, key: tuple[str, str]) -> None:
        pool = self._pools.pop(key, None)
        if pool is not None:
            pool.retire()
            self._retired = [p for p in self._retired if p.environments] + [pool]

    def _reserved_concurrency(self, name: str) -> int | None:
        versions = self._functions.get(name, {})
        config = versions.get(LATEST) or next(iter(versions.values()), None)
        return config.reserved_concurrency if config is not None else None

    def _make_room(self) -> None:
        """Keeps the environments alive at most ``concurrency``: the least recently used idle
        one (of any function) goes to make room for a new one."""
        pools = list(self._pools.values()) + self._retired
        alive = sum(len(pool.environments) for pool in pools) + self._creating
        if alive < self.settings.concurrency:
            return
        idle = [(environment, pool) for pool in pools for environment in pool.idle_environments()]
        if idle:
            environment, pool = min(idle, key=lambda pair: pair[0].last_used)
            pool.stop_environment(environment)


Outcome = TypeVar("Outcome")
_Run = Callable[[ExecutionEnvironment, str, str, Callable[[], None]], Awaitable[Outcome]]


async def _run_buffered(
    request: InvocationRequest, environment: ExecutionEnvironment, request_id: str, invoked_arn: str,
    release: Callable[[], None],
) -> InvocationResult:
    return await environment.invoke(request_id, request, invoked_arn, on_finished=release)


async def _run_streamed(
    request: InvocationRequest, environment: ExecutionEnvironment, request_id: str, invoked_arn: str,
    release: Callable[[], None],
) -> StreamedInvocation:
    return await environment.invoke_streaming(request_id, request, invoked_arn, on_finished=release)


def _check_files(config: FunctionConfig) -> None:
    """The code and layers must exist (as directories or zips) when the function is created."""
    for kind, path in [("Code", Path(config.code_dir))] + [("Layer", Path(layer)) for layer in config.layers]:
        if not (path.is_dir() or zipfile.is_zipfile(path)):
            raise ConfigurationError(f"{kind} {path} is neither a directory nor a zip file")


def _split_name(name: str, qualifier: str | None) -> tuple[str, str | None]:
    """``name``, ``name:qualifier`` or an ARN -> (name, qualifier)."""
    if name.startswith("arn:"):
        parts = name.split(":")
        name = parts[6] if len(parts) > 6 else name
        if len(parts) > 7 and not qualifier:
            qualifier = parts[7]
    elif ":" in name:
        name, _, embedded = name.partition(":")
        qualifier = qualifier or embedded
    return name, qualifier or None


def _version_key(version: str) -> tuple[int, int]:
    return (1, 0) if version == LATEST else (0, int(version) if version.isdigit() else 0)


def _not_found_message(name: str, qualifier: str | None) -> str:
    from lamina.local.functions import ACCOUNT_ID, REGION

    arn = f"arn:aws:lambda:{REGION}:{ACCOUNT_ID}:function:{name}" + (f":{qualifier}" if qualifier else "")
    return f"Function not found: {arn}"
