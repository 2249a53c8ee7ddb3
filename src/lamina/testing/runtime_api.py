"""A scripted Lambda Runtime API server for testing runtimes.

It plays Lambda's side of the Runtime API (2018-06-01) on a real loopback socket: each
``next`` hands out the next queued :class:`ScriptedInvocation`, every request the runtime
makes is recorded, and each answer can be scripted, including the ones a well-behaved Lambda
never sends (truncated or garbage responses, closed connections, 410/413/500 answers).
lamina's own tests and ``lamina invoke`` use it; it works with any runtime interface client.
"""

from __future__ import annotations

import http.server
import queue
import socket
import socketserver
import threading
import time
import uuid
from dataclasses import dataclass, field

_RUNTIME = "/2018-06-01/runtime"
_ACCEPTED = b'{"status":"OK"}'


@dataclass
class RecordedRequest:
    """One request a runtime made, as it arrived."""

    method: str
    path: str
    headers: list[tuple[str, str]]
    body: bytes
    trailers: list[tuple[str, str]] = field(default_factory=list)
    chunked: bool = False
    connection_id: int = 0

    def header(self, name: str) -> str | None:
        """The first header called ``name`` (case-insensitive), or None."""
        lowered = name.lower()
        return next((v for k, v in self.headers if k.lower() == lowered), None)

    def trailer(self, name: str) -> str | None:
        lowered = name.lower()
        return next((v for k, v in self.trailers if k.lower() == lowered), None)

    @property
    def request_id(self) -> str | None:
        """The request id in a ``/invocation/{id}/...`` path."""
        parts = self.path.split("/")
        return parts[4] if len(parts) > 5 and parts[3] == "invocation" else None


@dataclass
class ScriptedInvocation:
    """What ``next`` delivers, and how the server answers the runtime's reply to it."""

    event: bytes = b"{}"
    request_id: str = field(default_factory=lambda: str(uuid.uuid4()))
    deadline_ms: int | None = None  # default: 30 s from the moment it is handed out
    invoked_function_arn: str | None = "arn:aws:lambda:us-east-1:123456789012:function:test"
    trace_id: str | None = "Root=1-5759e988-bd862e3fe1be46a994272793;Parent=53995c3f42cd8ad8;Sampled=1"
    content_type: str | None = "application/json"
    client_context: str | None = None
    cognito_identity: str | None = None
    tenant_id: str | None = None
    invocation_id: str | None = None
    extra_headers: list[tuple[str, str]] = field(default_factory=list)
    chunked: bool = False  # send the event with Transfer-Encoding: chunked
    raw_next: bytes | None = None  # send these bytes instead of a well-formed answer, then close
    next_status: int = 200  # e.g. 500: Lambda tells the runtime to exit
    answer_status: int = 202  # what /response or /error gets (410, 413, 500 ...)
    answer_body: bytes = _ACCEPTED
    raw_answer: bytes | None = None  # send these bytes instead of the /response or /error answer, then close
    close_after_answer: bool = False  # close the connection after answering, without saying so (an idle-timeout close)
    lowercase_headers: bool = False  # header names as an HTTP/2-minded proxy would send them

    def next_headers(self) -> list[tuple[str, str]]:
        deadline = self.deadline_ms if self.deadline_ms is not None else int(time.time() * 1000) + 30_000
        optional = [
            ("Lambda-Runtime-Invoked-Function-Arn", self.invoked_function_arn),
            ("Lambda-Runtime-Trace-Id", self.trace_id),
            ("Lambda-Runtime-Client-Context", self.client_context),
            ("Lambda-Runtime-Cognito-Identity", self.cognito_identity),
            ("Lambda-Runtime-Aws-Tenant-Id", self.tenant_id),
            ("Lambda-Runtime-Invocation-Id", self.invocation_id),
            ("Content-Type", self.content_type),
        ]
        headers = [("Lambda-Runtime-Aws-Request-Id", self.request_id), ("Lambda-Runtime-Deadline-Ms", str(deadline))]
        headers += [(name, value) for name, value in optional if value is not None]
        headers += self.extra_headers
        if self.lowercase_headers:
            headers = [(name.lower(), value) for name, value in headers]
        return headers


class ScriptedRuntimeApi:
    """A Runtime API on ``127.0.0.1`` at a random port; use as a context manager.

    ``address`` is what a runtime gets as ``AWS_LAMBDA_RUNTIME_API``. Queue invocations with
    :meth:`push`, then wait for the runtime's reply with :meth:`wait_for_reply`.
    """

    def __init__(self, *, init_error_status: int = 202, restore_next_status: int = 200) -> None:
        self.init_error_status = init_error_status
        self.restore_next_status = restore_next_status
        self.requests: list[RecordedRequest] = []
        self.streamed_chunks: dict[str, list[bytes]] = {}  # request id -> chunks, as they arrive
        self.connection_count = 0
        self._pending: queue.Queue[ScriptedInvocation | None] = queue.Queue()
        self._handed_out: dict[str, ScriptedInvocation] = {}
        self._changed = threading.Condition()
        self._server = _Server(("127.0.0.1", 0), _Handler)
        self._server.api = self
        self._thread = threading.Thread(
            target=self._server.serve_forever,
            kwargs={"poll_interval": 0.05},  # how long close() waits for the accept loop to notice
            name="scripted-runtime-api",
            daemon=True,
        )

    @property
    def address(self) -> str:
        host, port = self._server.server_address[:2]
        return f"{host}:{port}"

    def __enter__(self) -> ScriptedRuntimeApi:
        self._thread.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def close(self) -> None:
        self._pending.put(None)  # wakes a `next` that is waiting, which then closes
        self._server.shutdown()
        self._server.close_all()
        self._server.server_close()

    def push(self, invocation: ScriptedInvocation | bytes) -> ScriptedInvocation:
        """Queue an invocation (or a bare event) for the next ``next``."""
        if isinstance(invocation, bytes):
            invocation = ScriptedInvocation(event=invocation)
        self._pending.put(invocation)
        return invocation

    def wait_for(self, predicate, timeout: float = 10.0) -> RecordedRequest:
        """The first recorded request matching ``predicate``, waiting up to ``timeout`` s."""
        deadline = time.monotonic() + timeout
        with self._changed:
            while True:
                found = next((r for r in self.requests if predicate(r)), None)
                if found is not None:
                    return found
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    paths = [f"{r.method} {r.path}" for r in self.requests]
                    raise TimeoutError(f"no matching request within {timeout} s; got {paths}")
                self._changed.wait(remaining)

    def wait_for_reply(self, invocation: ScriptedInvocation, timeout: float = 10.0) -> RecordedRequest:
        """The runtime's ``/response`` or ``/error`` post for ``invocation``."""
        return self.wait_for(lambda r: r.method == "POST" and r.request_id == invocation.request_id, timeout)

    def wait_for_chunks(self, invocation: ScriptedInvocation, count: int, timeout: float = 10.0) -> list[bytes]:
        """The first ``count`` chunks of a streamed reply, as soon as they have arrived (before
        the runtime ends the stream)."""
        deadline = time.monotonic() + timeout
        with self._changed:
            while len(self.streamed_chunks.get(invocation.request_id, [])) < count:
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    raise TimeoutError(f"{count} chunks of {invocation.request_id} did not arrive within {timeout} s")
                self._changed.wait(remaining)
            return self.streamed_chunks[invocation.request_id][:count]

    def _chunk_arrived(self, request_id: str, chunk: bytes) -> None:
        with self._changed:
            self.streamed_chunks.setdefault(request_id, []).append(chunk)
            self._changed.notify_all()

    def wait_for_path(self, path_suffix: str, timeout: float = 10.0) -> RecordedRequest:
        return self.wait_for(lambda r: r.path.endswith(path_suffix), timeout)

    def _record(self, request: RecordedRequest) -> None:
        with self._changed:
            self.requests.append(request)
            self._changed.notify_all()

    def _next_invocation(self) -> ScriptedInvocation | None:
        invocation = self._pending.get()
        if invocation is None:
            self._pending.put(None)  # keep waking every other waiter
            return None
        self._handed_out[invocation.request_id] = invocation
        return invocation


class _Server(socketserver.ThreadingMixIn, http.server.HTTPServer):
    daemon_threads = True
    allow_reuse_address = True
    api: ScriptedRuntimeApi

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self._open: set = set()
        self._open_lock = threading.Lock()

    def process_request_thread(self, request, client_address) -> None:
        with self._open_lock:
            self._open.add(request)
        try:
            super().process_request_thread(request, client_address)
        finally:
            with self._open_lock:
                self._open.discard(request)

    def handle_error(self, request, client_address) -> None:
        pass  # a runtime that is killed mid-request resets its connection: expected in tests

    def close_all(self) -> None:
        with self._open_lock:
            for sock in self._open:
                try:
                    sock.shutdown(2)
                except OSError:
                    pass


class _Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server: _Server

    def setup(self) -> None:
        super().setup()
        # Like Lambda's own (Go) server: heads and bodies are separate writes here, and with Nagle
        # on, the body would wait ~40 ms for the runtime's delayed ACK.
        self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        api = self.server.api
        with api._changed:
            api.connection_count += 1
            self.connection_id = api.connection_count

    def log_message(self, format: str, *args: object) -> None:  # keep test output quiet
        pass

    def do_GET(self) -> None:
        request = self._read_request()
        api = self.server.api
        api._record(request)
        if self.path == f"{_RUNTIME}/invocation/next":
            invocation = api._next_invocation()
            if invocation is None:
                self.close_connection = True
                return
            self._send_next(invocation)
        elif self.path == f"{_RUNTIME}/restore/next":
            self._answer(api.restore_next_status, b"")
        else:
            self._answer(404, b'{"errorMessage":"Not found","errorType":"NotFound"}')

    def do_POST(self) -> None:
        request = self._read_request()
        api = self.server.api
        api._record(request)
        if self.path in (f"{_RUNTIME}/init/error", f"{_RUNTIME}/restore/error"):
            self._answer(api.init_error_status, _ACCEPTED)
            return
        invocation = api._handed_out.get(request.request_id or "")
        if invocation is None:
            self._answer(400, b'{"errorMessage":"Invalid request ID","errorType":"InvalidRequestID"}')
        elif invocation.raw_answer is not None:
            self.wfile.write(invocation.raw_answer)
            self.wfile.flush()
            self.close_connection = True
        else:
            self._answer(invocation.answer_status, invocation.answer_body)
            self.close_connection = invocation.close_after_answer

    def _read_request(self) -> RecordedRequest:
        headers = list(self.headers.items())
        trailers: list[tuple[str, str]] = []
        chunked = "chunked" in (self.headers.get("Transfer-Encoding") or "").lower()
        if chunked:
            body, trailers = self._read_chunked()
        else:
            body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        return RecordedRequest(self.command, self.path, headers, body, trailers, chunked, self.connection_id)

    def _read_chunked(self) -> tuple[bytes, list[tuple[str, str]]]:
        body = bytearray()
        request_id = RecordedRequest(self.command, self.path, [], b"").request_id
        while True:
            size = int(self.rfile.readline().split(b";")[0].strip(), 16)
            if size == 0:
                break
            chunk = self.rfile.read(size)
            body += chunk
            self.rfile.readline()
            if request_id:
                self.server.api._chunk_arrived(request_id, chunk)
        trailers = []
        while (line := self.rfile.readline()) not in (b"\r\n", b"\n", b""):
            name, _, value = line.decode("latin-1").partition(":")
            trailers.append((name.strip(), value.strip()))
        return bytes(body), trailers

    def _send_next(self, invocation: ScriptedInvocation) -> None:
        if invocation.raw_next is not None:
            self.wfile.write(invocation.raw_next)
            self.wfile.flush()
            self.close_connection = True
            return
        self.send_response(invocation.next_status)
        for name, value in invocation.next_headers():
            self.send_header(name, value)
        if invocation.chunked:
            self.send_header("Transfer-Encoding", "chunked")
            self.end_headers()
            event = invocation.event
            step = max(1, len(event) // 3)
            for start in range(0, len(event), step):
                piece = event[start : start + step]
                self.wfile.write(b"%x\r\n%s\r\n" % (len(piece), piece))
            self.wfile.write(b"0\r\n\r\n")
        else:
            self.send_header("Content-Length", str(len(invocation.event)))
            self.end_headers()
            self.wfile.write(invocation.event)
        self.wfile.flush()

    def _answer(self, status: int, body: bytes) -> None:
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)
        self.wfile.flush()
