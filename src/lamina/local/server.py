"""``lamina serve``: the Invoke API and the control plane on one loopback HTTP port, over one
LocalLambda; each function URL on a loopback port of its own; asynchronous invocations in a
durable queue under the state directory; function log lines printed as they happen; a clean
shutdown on Ctrl-C or SIGTERM (execution environments shut down too).

The state directory (``--state-dir``, default ``.lamina`` in the working directory) is what
survives the server, even a SIGKILL::

    .lamina/lamina-serve.lock   held by the running server (one server per state directory)
    .lamina/async.sqlite3       queued async events, event invoke configurations, and the
                                local queues standing in for SQS/SNS/EventBridge destinations

Functions themselves are not kept: declare them again (``--template``, or the same API calls)
and the events queued for them are delivered.
"""

from __future__ import annotations

import asyncio
import fcntl
import logging
import os
import shutil
import signal
import sys
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import TextIO

from aiohttp import web

from lamina.local.aliases import AliasesApi
from lamina.local.async_invocations import DATABASE_NAME, AsyncInvocations, RetryTiming
from lamina.local.control_plane import CREATE_FUNCTION_LIMIT, ControlPlane
from lamina.local.event_invoke_configs import EventInvokeConfigApi
from lamina.local.function_url_api import FunctionUrlApi
from lamina.local.function_urls import Credentials
from lamina.local.functions import ConfigurationError
from lamina.local.invoke_api import InvokeApi
from lamina.local.logs import LogLine
from lamina.local.sam import Template
from lamina.local.service import LocalLambda
from lamina.local.service_errors import service_error_middleware
from lamina.local.settings import LocalLambdaSettings

logger = logging.getLogger(__name__)

DEFAULT_HOST = "127.0.0.1"
DEFAULT_PORT = 9001
DEFAULT_CONCURRENCY = 1000  # Lambda's default account concurrency
DEFAULT_STATE_DIR = Path(".lamina")
LOCK_NAME = "lamina-serve.lock"


@dataclass
class ServeOptions:
    host: str = DEFAULT_HOST
    port: int = DEFAULT_PORT  # 0: any free port (the one chosen is printed)
    concurrency: int = DEFAULT_CONCURRENCY
    template: Template | None = None
    log_output: TextIO = field(default_factory=lambda: sys.stdout)
    state_dir: Path = DEFAULT_STATE_DIR
    async_delay_scale: float = 1.0  # Lambda's async retry delays and event ages, multiplied by this
    url_credentials: Credentials | None = None  # what AWS_IAM function URLs check signatures against


class StateDirectoryInUse(ConfigurationError):
    """Another ``lamina serve`` holds the state directory."""


class StateDirectory:
    """The state directory, locked for one server: two servers delivering the same queue
    would run each event twice. The lock goes with the process, however it ends."""

    def __init__(self, path: Path) -> None:
        self.path = path.resolve()
        self.path.mkdir(parents=True, exist_ok=True)
        self._lock_file = open(self.path / LOCK_NAME, "a+")
        try:
            fcntl.flock(self._lock_file, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            self._lock_file.seek(0)
            holder = self._lock_file.read().strip() or "another process"
            self._lock_file.close()
            raise StateDirectoryInUse(
                f"the state directory {self.path} is in use by another lamina serve (pid {holder}): "
                "stop it, or give this one its own --state-dir"
            ) from None
        self._lock_file.seek(0)
        self._lock_file.truncate()
        self._lock_file.write(f"{os.getpid()}\n")
        self._lock_file.flush()

    @property
    def database(self) -> Path:
        return self.path / DATABASE_NAME

    def release(self) -> None:
        if not self._lock_file.closed:
            fcntl.flock(self._lock_file, fcntl.LOCK_UN)
            self._lock_file.close()


def build_application(*route_sources: object) -> web.Application:
    """The API server: each source's ``routes()``."""
    # Bodies are read by the handlers themselves, each against its operation's limit, so that
    # an oversized one is refused with Lambda's 413 before it is read whole.
    application = web.Application(middlewares=[service_error_middleware], client_max_size=CREATE_FUNCTION_LIMIT + 1)
    for source in route_sources:
        application.add_routes(source.routes())  # type: ignore[attr-defined]
    return application


class LocalServer:
    """The running server: start() binds and starts everything, stop() undoes it in reverse."""

    def __init__(self, options: ServeOptions) -> None:
        self.options = options
        self.storage = Path(tempfile.mkdtemp(prefix="lamina-serve-"))
        self.service = LocalLambda(
            LocalLambdaSettings(
                work_dir=self.storage / "environments",
                concurrency=options.concurrency,
                log_sink=lambda line: print_log_line(line, options.log_output),
            )
        )
        self.control_plane = ControlPlane(self.service, self.storage, options.concurrency)
        self.aliases = AliasesApi(self.control_plane)
        # RESPONSE_STREAM function URLs relay the engine's stream chunk by chunk.
        self.function_urls = FunctionUrlApi(
            self.control_plane, options.host, options.url_credentials, self.service.settings.region,
            self.service.invoke_stream, self.announce,
        )
        self.state: StateDirectory | None = None
        self.events: AsyncInvocations | None = None
        self._runner: web.AppRunner | None = None
        self.port: int | None = None
        self._announcements: list[str] | None = []  # held back until the server has said where it listens

    def announce(self, message: str) -> None:
        """A line for the user (a URL created, a queue to read)."""
        if self._announcements is not None:
            self._announcements.append(message)
        else:
            print(f"lamina serve: {message}", file=self.options.log_output, flush=True)

    def flush_announcements(self) -> None:
        held, self._announcements = self._announcements or [], None
        for message in held:
            self.announce(message)

    async def start(self) -> None:
        self.state = StateDirectory(self.options.state_dir)
        await self.service.start()
        self.events = AsyncInvocations(
            self.state.database,
            self.service.invoke,
            reserved_concurrency=self.service.reserved_concurrency,
            timing=RetryTiming(scale=self.options.async_delay_scale),
            dead_letter_target=self.control_plane.dead_letter_target,
        )
        event_invoke_configs = EventInvokeConfigApi(self.control_plane, self.events)
        invoke_api = InvokeApi(self.service, self.events)
        template = self.options.template
        if template is not None:
            await self.control_plane.add_template(template)
            event_invoke_configs.apply_template(template)
            await self.function_urls.apply_template(template)
            self._announce_template(template)
        waiting = self.events.pending_count()
        if waiting:
            self.announce(f"{waiting} async event(s) queued in {self.state.database} are delivered as their functions appear")
        # Client contexts may be up to 3,583 bytes of base64; larger ones get Lambda's error,
        # not the HTTP parser's.
        self._runner = web.AppRunner(
            build_application(invoke_api, self.control_plane, self.aliases, event_invoke_configs, self.function_urls),
            handle_signals=False,
            access_log=None,
            max_field_size=65536,
        )
        await self._runner.setup()
        site = web.TCPSite(self._runner, self.options.host, self.options.port, reuse_address=True)
        await site.start()
        sockets = getattr(site._server, "sockets", None) or []
        self.port = sockets[0].getsockname()[1] if sockets else self.options.port
        await self.events.start()

    def _announce_template(self, template: Template) -> None:
        assert self.events is not None
        for function in template.functions.values():
            qualified = f"{function.name}:{function.qualifier}" if function.qualifier else function.name
            if function.auto_publish_alias is not None:
                alias = self.service.get_alias(function.name, function.auto_publish_alias)
                if alias is not None:
                    self.announce(f"alias {qualified} -> version {alias.function_version}")
            settings = function.event_invoke_config
            targets = [] if settings is None else [("on success", settings.on_success), ("on failure", settings.on_failure)]
            targets.append(("dead letters", function.dead_letter_target))
            for outcome, target in targets:
                if target and target.split(":")[2] in ("sqs", "sns", "events"):
                    queue = target.split(":")[5].removeprefix("event-bus/")
                    self.announce(f"async {outcome} of {qualified} -> queue {queue} (lamina queue receive {queue})")

    async def stop(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()
        await self.function_urls.stop()
        if self.events is not None:
            await self.events.stop()
        await self.service.stop()
        shutil.rmtree(self.storage, ignore_errors=True)
        if self.state is not None:
            self.state.release()

    @property
    def url(self) -> str:
        host = self.options.host if ":" not in self.options.host else f"[{self.options.host}]"
        return f"http://{host}:{self.port}"


async def serve(options: ServeOptions) -> None:
    """Runs until SIGINT or SIGTERM."""
    server = LocalServer(options)
    stopping = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signal_number in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(signal_number, stopping.set)
    try:
        await server.start()
        output = options.log_output
        print(f"lamina serve: listening on {server.url}", file=output, flush=True)
        names = server.control_plane.function_names()
        if names:
            print(f"lamina serve: functions {', '.join(names)}", file=output, flush=True)
        server.flush_announcements()
        await stopping.wait()
        print("lamina serve: shutting down", file=output, flush=True)
    finally:
        await server.stop()
        for signal_number in (signal.SIGINT, signal.SIGTERM):
            loop.remove_signal_handler(signal_number)


def print_log_line(line: LogLine, output: TextIO) -> None:
    """A function's log line, prefixed with the function's name; an error's lines (joined by
    "\r" in one CloudWatch event) shown one under the other."""
    prefix = f"{line.function_name} | "
    text = line.text.rstrip("\n").replace("\r\n", "\n").replace("\r", "\n")
    output.write("".join(prefix + part + "\n" for part in text.split("\n")))
    output.flush()
