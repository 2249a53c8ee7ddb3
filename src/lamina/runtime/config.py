"""The runtime's configuration, read once from the environment Lambda sets up
(../shared/spec/runtime.md section 2)."""

from __future__ import annotations

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Mapping, Sequence


class ConfigurationError(Exception):
    """The environment does not describe a runtime that can start."""


class RuntimeConfig:
    """What the runtime process was started with. A plain class rather than a dataclass:
    importing dataclasses (and inspect with it) costs milliseconds of every cold start."""

    __slots__ = (
        "handler", "runtime_api", "task_root", "function_name", "function_version", "memory_size",
        "log_group_name", "log_stream_name", "json_logs", "log_level", "telemetry_fd", "snap_start",
        "max_concurrency", "log_socket_path",
    )

    def __init__(
        self,
        handler: str,
        runtime_api: str,
        task_root: str | None = None,
        function_name: str | None = None,
        function_version: str | None = None,
        memory_size: str | None = None,
        log_group_name: str | None = None,
        log_stream_name: str | None = None,
        json_logs: bool = False,
        log_level: str | None = None,
        telemetry_fd: int | None = None,
        snap_start: bool = False,
        max_concurrency: int | None = None,
        log_socket_path: str | None = None,  # Managed Instances: where each worker sends its output
    ) -> None:
        self.handler = handler
        self.runtime_api = runtime_api
        self.task_root = task_root
        self.function_name = function_name
        self.function_version = function_version
        self.memory_size = memory_size
        self.log_group_name = log_group_name
        self.log_stream_name = log_stream_name
        self.json_logs = json_logs
        self.log_level = log_level
        self.telemetry_fd = telemetry_fd
        self.snap_start = snap_start
        self.max_concurrency = max_concurrency
        self.log_socket_path = log_socket_path

    def __repr__(self) -> str:
        fields = ", ".join(f"{name}={getattr(self, name)!r}" for name in self.__slots__)
        return f"RuntimeConfig({fields})"

    @classmethod
    def from_environment(cls, arguments: Sequence[str], environ: Mapping[str, str]) -> RuntimeConfig:
        """``arguments`` are the command line after the program: ``[HANDLER]``."""
        runtime_api = environ.get("AWS_LAMBDA_RUNTIME_API")
        if not runtime_api:
            raise ConfigurationError("AWS_LAMBDA_RUNTIME_API is not set: run the runtime inside Lambda or a local Lambda")
        handler = arguments[0] if arguments else environ.get("_HANDLER", "")
        return cls(
            handler=handler,
            runtime_api=runtime_api,
            task_root=environ.get("LAMBDA_TASK_ROOT"),
            function_name=environ.get("AWS_LAMBDA_FUNCTION_NAME"),
            function_version=environ.get("AWS_LAMBDA_FUNCTION_VERSION"),
            memory_size=environ.get("AWS_LAMBDA_FUNCTION_MEMORY_SIZE"),
            log_group_name=environ.get("AWS_LAMBDA_LOG_GROUP_NAME"),
            log_stream_name=environ.get("AWS_LAMBDA_LOG_STREAM_NAME"),
            json_logs=(environ.get("AWS_LAMBDA_LOG_FORMAT") or "").upper() == "JSON",
            log_level=_log_level(environ.get("AWS_LAMBDA_LOG_LEVEL")),
            telemetry_fd=_optional_int(environ, "_LAMBDA_TELEMETRY_LOG_FD"),
            snap_start=environ.get("AWS_LAMBDA_INITIALIZATION_TYPE") == "snap-start",
            max_concurrency=_optional_int(environ, "AWS_LAMBDA_MAX_CONCURRENCY"),
            log_socket_path=environ.get("_LAMBDA_TELEMETRY_LOG_FD_PROVIDER_SOCKET"),
        )


def _log_level(value: str | None) -> str | None:
    if not value:
        return None
    level = value.upper()
    return "DEBUG" if level == "TRACE" else level


def _optional_int(environ: Mapping[str, str], name: str) -> int | None:
    value = environ.get(name)
    if value is None or value == "":
        return None
    try:
        return int(value)
    except ValueError:
        raise ConfigurationError(f"{name} must be an integer, not {value!r}") from None
