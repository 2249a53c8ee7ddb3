"""What the local Lambda knows about functions and layers: their configuration, and the
shape of an invocation and its outcome. Shared by the execution environments (which run
functions) and the Invoke API (which configures and invokes them)."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, AsyncIterator

DEFAULT_TIMEOUT_SECONDS = 3.0
DEFAULT_MEMORY_MB = 128
MAX_ENVIRONMENT_BYTES = 4096
PYTHON_RUNTIMES = ("python3.10", "python3.11", "python3.12", "python3.13", "python3.14")
CUSTOM_RUNTIMES = ("provided.al2023", "provided.al2")
ARCHITECTURES = ("x86_64", "arm64")
ACCOUNT_ID = "123456789012"
REGION = "us-east-1"

# Variables Lambda sets itself; a function may not define them (emulator.md).
RESERVED_VARIABLES = frozenset(
    {
        "_HANDLER", "_X_AMZN_TRACE_ID", "AWS_DEFAULT_REGION", "AWS_REGION", "AWS_EXECUTION_ENV",
        "AWS_LAMBDA_FUNCTION_NAME", "AWS_LAMBDA_FUNCTION_MEMORY_SIZE", "AWS_LAMBDA_FUNCTION_VERSION",
        "AWS_LAMBDA_INITIALIZATION_TYPE", "AWS_LAMBDA_LOG_GROUP_NAME", "AWS_LAMBDA_LOG_STREAM_NAME",
        "AWS_ACCESS_KEY", "AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN",
        "AWS_LAMBDA_RUNTIME_API", "LAMBDA_TASK_ROOT", "LAMBDA_RUNTIME_DIR",
    }
)
_VARIABLE_NAME = re.compile(r"[a-zA-Z][a-zA-Z0-9_]+")


class ConfigurationError(ValueError):
    """A function configuration Lambda would refuse; the message says why."""


@dataclass(frozen=True)
class FunctionConfig:
    """One version of a function: everything needed to start its execution environments."""

    name: str
    handler: str
    code_dir: Path  # the task root: a directory, or where the function's zip was extracted
    runtime: str = "python3.12"
    memory_mb: int = DEFAULT_MEMORY_MB
    timeout_seconds: float = DEFAULT_TIMEOUT_SECONDS
    environment: dict[str, str] = field(default_factory=dict)
    layers: tuple[Path, ...] = ()  # directories or zips, extracted to /opt in this order
    architecture: str = "x86_64"
    description: str = ""
    version: str = "$LATEST"
    reserved_concurrency: int | None = None  # None: limited only by the service's concurrency
    log_format: str | None = None  # LoggingConfig.LogFormat: "Text" or "JSON" -> AWS_LAMBDA_LOG_FORMAT
    log_level: str | None = None  # LoggingConfig.ApplicationLogLevel -> AWS_LAMBDA_LOG_LEVEL

    @property
    def arn(self) -> str:
        return f"arn:aws:lambda:{REGION}:{ACCOUNT_ID}:function:{self.name}"

    def invoked_arn(self, qualifier: str | None = None, region: str = REGION) -> str:
        """The ARN the runtime sees as invoked_function_arn: qualified when the caller was."""
        base = f"arn:aws:lambda:{region}:{ACCOUNT_ID}:function:{self.name}"
        return f"{base}:{qualifier}" if qualifier else base

    def validate(self) -> None:
        """Raises ConfigurationError for what CreateFunction would refuse."""
        if self.runtime not in PYTHON_RUNTIMES + CUSTOM_RUNTIMES:
            raise ConfigurationError(f"Runtime {self.runtime!r} is not supported: use one of {', '.join(PYTHON_RUNTIMES + CUSTOM_RUNTIMES)}")
        if self.architecture not in ARCHITECTURES:
            raise ConfigurationError(f"Architecture {self.architecture!r} is not one of {', '.join(ARCHITECTURES)}")
        if not 128 <= self.memory_mb <= 10240:
            raise ConfigurationError(f"MemorySize {self.memory_mb} is outside 128-10240 MB")
        if not 0 < self.timeout_seconds <= 900:
            raise ConfigurationError(f"Timeout {self.timeout_seconds} is outside 1-900 seconds")
        if self.reserved_concurrency is not None and self.reserved_concurrency < 0:
            raise ConfigurationError(f"ReservedConcurrentExecutions {self.reserved_concurrency} is negative")
        if self.log_format is not None and self.log_format.upper() not in ("TEXT", "JSON"):
            raise ConfigurationError(f"LogFormat {self.log_format!r} is not one of Text, JSON")
        for key in self.environment:
            if not _VARIABLE_NAME.fullmatch(key):
                raise ConfigurationError(
                    f"Environment variable name {key!r} must start with a letter and have at least 2 "
                    "characters: letters, digits and underscores"
                )
            if key in RESERVED_VARIABLES:
                raise ConfigurationError(f"Environment variable {key} is reserved by Lambda")
        size = sum(len(k.encode()) + len(v.encode()) for k, v in self.environment.items())
        if size > MAX_ENVIRONMENT_BYTES:
            raise ConfigurationError(
                f"Environment variables take {size} bytes; Lambda allows at most {MAX_ENVIRONMENT_BYTES}"
            )


@dataclass(frozen=True)
class Alias:
    """A function alias: a name that points at a published version (or $LATEST), optionally
    sending a share of its invocations to a second version (weighted routing)."""

    function_name: str
    name: str
    function_version: str
    additional_version_weights: tuple[tuple[str, float], ...] = ()  # at most one (version, weight), weight in [0, 1)
    description: str = ""
    revision_id: str = ""

    @property
    def arn(self) -> str:
        return f"arn:aws:lambda:{REGION}:{ACCOUNT_ID}:function:{self.function_name}:{self.name}"

    def versions(self) -> tuple[str, ...]:
        """Every version the alias may run."""
        return (self.function_version, *(version for version, _ in self.additional_version_weights))

    def choose_version(self, draw: float) -> str:
        """The version one invocation runs, for `draw` uniform in [0, 1): Lambda's simple
        probabilistic model, each additional version taking its weight's share."""
        for version, weight in self.additional_version_weights:
            if draw < weight:
                return version
            draw -= weight
        return self.function_version


def is_version_number(qualifier: str) -> bool:
    """A published version ("1", "42"), as opposed to $LATEST or an alias."""
    return qualifier.isascii() and qualifier.isdigit()


@dataclass(frozen=True)
class InvocationRequest:
    """One synchronous invocation, as the Invoke API received it."""

    payload: bytes
    client_context: str | None = None  # the decoded X-Amz-Client-Context JSON text
    tail_log: bool = False  # X-Amz-Log-Type: Tail
    trace_id: str | None = None  # X-Amzn-Trace-Id; one is made up when absent, as Lambda does
    request_id: str | None = None  # None: a new one; async retries pass the original one again
    cognito_identity: str | None = None  # JSON text -> Lambda-Runtime-Cognito-Identity
    tenant_id: str | None = None  # -> Lambda-Runtime-Aws-Tenant-Id


@dataclass(frozen=True)
class InvocationResult:
    """What the caller gets back. `function_error` is "Unhandled" when the function failed
    (the payload is then the error JSON), as Lambda's X-Amz-Function-Error says."""

    request_id: str
    payload: bytes
    executed_version: str
    function_error: str | None = None
    content_type: str = "application/json"
    log_tail: bytes = b""  # the last 4 KB of this invocation's log, START … REPORT
    # What the REPORT line says; the Invoke API needs none of it, the CLI shows it.
    status: str = "success"  # success | error (the function's) | failure (the environment's) | timeout
    error_type: str | None = None  # e.g. "Sandbox.Timedout", "Runtime.ExitError", the handler's class
    duration_ms: float = 0.0
    billed_duration_ms: int = 0
    max_memory_used_mb: int = 0
    init_duration_ms: float | None = None  # only on a cold start's first invocation


@dataclass
class StreamedInvocation:
    """A synchronous invocation whose response is relayed as it is produced
    (InvokeWithResponseStream, RESPONSE_STREAM function URLs), from the moment it starts.

    ``content_type`` is the stream's (the runtime's ``Content-Type``). Iterate ``chunks`` to
    its end: each chunk comes as the runtime sends it. When the chunks end, ``result`` is the
    invocation's outcome (its log tail and REPORT figures; its payload the error JSON when the
    function failed, else empty: the body went out as chunks) and ``error`` the function's
    error as a dict (``errorType``, ``errorMessage``, ...), or None. A function that answered
    with a buffered ``/response`` comes as one chunk; one that failed before its first byte,
    as no chunk and the error. ``aclose()`` before the end abandons the invocation: its
    execution environment is reset."""

    content_type: str
    chunks: AsyncIterator[bytes]
    error: dict[str, Any] | None = None
    result: InvocationResult | None = None
    request_id: str = ""
    executed_version: str = "$LATEST"

    def finish(self, result: InvocationResult) -> None:
        """Records the outcome (the engine calls this as the chunks end)."""
        self.result = result
        self.error = error_of(result) if result.function_error else None

    async def aclose(self) -> None:
        """Stops reading the chunks (nothing happens when they already ended)."""
        close = getattr(self.chunks, "aclose", None)
        if close is not None:
            await close()


def error_of(result: InvocationResult) -> dict[str, Any]:
    """A failed invocation's error as a dict: its payload's JSON object, else built from what
    is known (a runtime may post any bytes as an error)."""
    try:
        error = json.loads(result.payload)
    except ValueError:
        error = None
    if isinstance(error, dict):
        return error
    return {"errorType": result.error_type or "Runtime.Unknown", "errorMessage": result.payload.decode("utf-8", "replace")}


class FunctionNotFound(LookupError):
    """No function (or version) by that name: ResourceNotFoundException."""


class Throttled(Exception):
    """No execution environment may be started: TooManyRequestsException with `reason`
    ReservedFunctionConcurrentInvocationLimitExceeded or ConcurrentInvocationLimitExceeded."""

    def __init__(self, reason: str, message: str) -> None:
        super().__init__(message)
        self.reason = reason
