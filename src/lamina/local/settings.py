"""The local Lambda's settings: where it keeps its files, how many environments it runs, and
what it tells functions about the account they run in."""

from __future__ import annotations

import os
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Mapping

from lamina.local.functions import REGION
from lamina.local.logs import LogLine


@dataclass(frozen=True)
class Credentials:
    """What functions get as AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY, AWS_SESSION_TOKEN."""

    access_key_id: str
    secret_access_key: str
    session_token: str | None = None

    @classmethod
    def from_environment(cls, environ: Mapping[str, str] | None = None) -> Credentials | None:
        """The service's own credentials, when its environment has them."""
        variables: Mapping[str, str] = os.environ if environ is None else environ
        key, secret = variables.get("AWS_ACCESS_KEY_ID"), variables.get("AWS_SECRET_ACCESS_KEY")
        if not key or not secret:
            return None
        return cls(key, secret, variables.get("AWS_SESSION_TOKEN") or None)


@dataclass(frozen=True)
class LocalLambdaSettings:
    """Settings of a :class:`~lamina.local.service.LocalLambda`.

    ``work_dir`` holds each environment's /tmp, extracted code and layers. ``concurrency``
    bounds the invocations in flight (and the environments alive) across all functions.
    ``credentials`` None passes the service's own AWS_* credentials through, if any.
    ``log_sink`` receives every log line of every function (None: the ``logging`` logger
    ``lamina.local.function.<name>``). ``python_command`` runs python3.x functions.
    ``max_response_stream_bytes`` bounds a streamed response (Lambda's documented default,
    20 MiB): a stream that goes past it is cut, and its caller gets
    ``Function.ResponseSizeTooLarge``.
    """

    work_dir: Path | None = None  # None: a temporary directory, removed at stop()
    concurrency: int = 10
    idle_timeout_seconds: float = 300.0
    init_timeout_seconds: float = 10.0
    region: str = REGION
    credentials: Credentials | None = None
    log_sink: Callable[[LogLine], None] | None = None
    python_command: tuple[str, ...] = field(default_factory=lambda: (sys.executable, "-m", "lamina"))
    max_response_stream_bytes: int = 20 * 1024 * 1024
