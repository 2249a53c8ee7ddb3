"""``lamina serve``: the Invoke API and the control plane on one loopback HTTP port, over one
LocalLambda; function log lines printed as they happen; a clean shutdown on Ctrl-C or
SIGTERM (execution environments shut down too)."""

from __future__ import annotations

import asyncio
import logging
import shutil
import signal
import sys
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import TextIO

from aiohttp import web

from lamina.local.control_plane import CREATE_FUNCTION_LIMIT, ControlPlane
from lamina.local.invoke_api import EventQueue, InvokeApi
from lamina.local.logs import LogLine
from lamina.local.sam import Template
from lamina.local.service import LocalLambda
from lamina.local.service_errors import service_error_middleware
from lamina.local.settings import LocalLambdaSettings

logger = logging.getLogger(__name__)

DEFAULT_HOST = "127.0.0.1"
DEFAULT_PORT = 9001
DEFAULT_CONCURRENCY = 1000  # Lambda's default account concurrency


@dataclass
class ServeOptions:
    host: str = DEFAULT_HOST
    port: int = DEFAULT_PORT  # 0: any free port (the one chosen is printed)
    concurrency: int = DEFAULT_CONCURRENCY
    template: Template | None = None
    log_output: TextIO = field(default_factory=lambda: sys.stdout)


def build_application(invoke_api: InvokeApi, control_plane: ControlPlane) -> web.Application:
    # Bodies are read by the handlers themselves, each against its operation's limit, so that
    # an oversized one is refused with Lambda's 413 before it is read whole.
    application = web.Application(middlewares=[service_error_middleware], client_max_size=CREATE_FUNCTION_LIMIT + 1)
    application.add_routes(invoke_api.routes())
    application.add_routes(control_plane.routes())
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
        self.events = EventQueue(self.service)
        self.control_plane = ControlPlane(self.service, self.storage, options.concurrency)
        self.invoke_api = InvokeApi(self.service, self.events)
        self._runner: web.AppRunner | None = None
        self.port: int | None = None

    async def start(self) -> None:
        await self.service.start()
        if self.options.template is not None:
            self.control_plane.add_template(self.options.template)
        self.events.start()
        # Client contexts may be up to 3,583 bytes of base64; larger ones get Lambda's error,
        # not the HTTP parser's.
        self._runner = web.AppRunner(
            build_application(self.invoke_api, self.control_plane),
            handle_signals=False,
            access_log=None,
            max_field_size=65536,
        )
        await self._runner.setup()
        site = web.TCPSite(self._runner, self.options.host, self.options.port, reuse_address=True)
        await site.start()
        sockets = site._server.sockets if site._server is not None else []  # type: ignore[union-attr]
        self.port = sockets[0].getsockname()[1] if sockets else self.options.port

    async def stop(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()
        await self.events.stop()
        await self.service.stop()
        shutil.rmtree(self.storage, ignore_errors=True)

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
