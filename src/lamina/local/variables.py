"""The environment variables a runtime and its extensions get ("Defined runtime environment
variables" in the developer guide), with Lambda's paths mapped to the local directories."""

from __future__ import annotations

import hashlib
import os
import secrets
import sys
import sysconfig
import time
from pathlib import Path

from lamina.local.filesystem import FunctionFiles
from lamina.local.functions import PYTHON_RUNTIMES, FunctionConfig
from lamina.local.settings import LocalLambdaSettings

try:
    from importlib.metadata import version as _package_version

    LAMINA_VERSION = _package_version("lamina")
except Exception:  # not installed as a distribution (tests from a source tree)
    LAMINA_VERSION = "0"


def is_python(config: FunctionConfig) -> bool:
    return config.runtime in PYTHON_RUNTIMES


def log_stream_name(version: str, now: float | None = None) -> str:
    """``2026/06/26/[$LATEST]<32 hex>``: one per environment."""
    return time.strftime("%Y/%m/%d/", time.gmtime(now)) + f"[{version}]" + secrets.token_hex(16)


def runtime_version(config: FunctionConfig, region: str) -> tuple[str, str]:
    """What INIT_START says: ``Runtime Version: python:3.12.lamina-0.1.0`` and its ARN."""
    family, _, release = config.runtime.partition(".") if not is_python(config) else ("python", "", config.runtime[6:])
    tag = f"lamina-{LAMINA_VERSION}" if is_python(config) else "local"
    version = f"{family}:{release}.{tag}"
    digest = hashlib.sha256(version.encode()).hexdigest()
    return version, f"arn:aws:lambda:{region}::runtime:{digest}"


def runtime_dir(config: FunctionConfig, work_dir: Path) -> Path:
    """LAMBDA_RUNTIME_DIR: where lamina is installed for python3.x (Lambda's /var/runtime holds
    its Python runtime); an empty directory for OS-only runtimes."""
    if is_python(config):
        import lamina

        return Path(lamina.__file__).resolve().parent.parent
    directory = work_dir / "runtime"
    directory.mkdir(parents=True, exist_ok=True)
    return directory


def function_environment(
    config: FunctionConfig,
    files: FunctionFiles,
    settings: LocalLambdaSettings,
    runtime_api: str,
    tmp: Path,
    stream_name: str,
    work_dir: Path,
) -> dict[str, str]:
    """Everything the runtime's process environment holds; nothing of the service's own
    environment leaks in except the credentials (when ``settings.credentials`` is None)."""
    task, opt, runtime = str(files.task_root), str(files.opt), str(runtime_dir(config, work_dir))
    python_bin = os.path.dirname(sys.executable)  # stands in for /var/lang/bin
    python_lib = sysconfig.get_config_var("LIBDIR") or "/var/lang/lib"
    environment = {
        "PATH": f"{python_bin}:/usr/local/bin:/usr/bin/:/bin:{opt}/bin",
        "LD_LIBRARY_PATH": f"{python_lib}:/lib64:/usr/lib64:{runtime}:{runtime}/lib:{task}:{task}/lib:{opt}/lib",
        "LANG": "en_US.UTF-8",
        "TZ": ":UTC",
        "TMPDIR": str(tmp),
        "_HANDLER": config.handler,
        "AWS_REGION": settings.region,
        "AWS_DEFAULT_REGION": settings.region,
        "AWS_LAMBDA_FUNCTION_NAME": config.name,
        "AWS_LAMBDA_FUNCTION_MEMORY_SIZE": str(config.memory_mb),
        "AWS_LAMBDA_FUNCTION_VERSION": config.version,
        "AWS_LAMBDA_INITIALIZATION_TYPE": "on-demand",
        "AWS_LAMBDA_LOG_GROUP_NAME": f"/aws/lambda/{config.name}",
        "AWS_LAMBDA_LOG_STREAM_NAME": stream_name,
        "AWS_LAMBDA_RUNTIME_API": runtime_api,
        "LAMBDA_TASK_ROOT": task,
        "LAMBDA_RUNTIME_DIR": runtime,
    }
    if is_python(config):
        environment["AWS_EXECUTION_ENV"] = f"AWS_Lambda_{config.runtime}"
        python_version = f"{sys.version_info.major}.{sys.version_info.minor}"
        environment["PYTHONPATH"] = f"{opt}/python/lib/python{python_version}/site-packages:{opt}/python"
    json_logs = bool(config.log_format) and config.log_format.upper() == "JSON"  # type: ignore[union-attr]
    if config.log_format:
        environment["AWS_LAMBDA_LOG_FORMAT"] = "JSON" if json_logs else "Text"
    if config.log_level or json_logs:  # ApplicationLogLevel defaults to INFO with JSON logs
        environment["AWS_LAMBDA_LOG_LEVEL"] = (config.log_level or "INFO").upper()
    from lamina.local.settings import Credentials

    credentials = settings.credentials or Credentials.from_environment()
    if credentials is not None:
        environment["AWS_ACCESS_KEY_ID"] = environment["AWS_ACCESS_KEY"] = credentials.access_key_id
        environment["AWS_SECRET_ACCESS_KEY"] = credentials.secret_access_key
        if credentials.session_token:
            environment["AWS_SESSION_TOKEN"] = credentials.session_token
    environment.update(config.environment)  # validated: never a reserved name
    return environment
