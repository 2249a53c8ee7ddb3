"""The runtime's configuration from Lambda's environment (runtime.md section 2)."""

import pytest

from lamina.runtime.config import ConfigurationError, RuntimeConfig

BASE = {"AWS_LAMBDA_RUNTIME_API": "127.0.0.1:9001"}


def test_handler_from_the_command_line_wins_over_the_environment():
    assert RuntimeConfig.from_environment(["cli.handler"], {**BASE, "_HANDLER": "env.handler"}).handler == "cli.handler"
    assert RuntimeConfig.from_environment([], {**BASE, "_HANDLER": "env.handler"}).handler == "env.handler"


@pytest.mark.parametrize(("value", "level"), [("TRACE", "DEBUG"), ("trace", "DEBUG"), ("info", "INFO"), ("", None), (None, None)])
def test_log_level(value, level):
    environ = {**BASE, "AWS_LAMBDA_LOG_LEVEL": value} if value is not None else BASE
    assert RuntimeConfig.from_environment([], environ).log_level == level


@pytest.mark.parametrize(("value", "is_json"), [("JSON", True), ("json", True), ("Text", False), (None, False)])
def test_log_format_is_case_insensitive(value, is_json):
    environ = {**BASE, "AWS_LAMBDA_LOG_FORMAT": value} if value else BASE
    assert RuntimeConfig.from_environment([], environ).json_logs is is_json


def test_missing_runtime_api_is_a_configuration_error():
    with pytest.raises(ConfigurationError, match="AWS_LAMBDA_RUNTIME_API"):
        RuntimeConfig.from_environment(["a.b"], {})


def test_non_numeric_concurrency_is_a_configuration_error():
    with pytest.raises(ConfigurationError, match="AWS_LAMBDA_MAX_CONCURRENCY"):
        RuntimeConfig.from_environment([], {**BASE, "AWS_LAMBDA_MAX_CONCURRENCY": "many"})


def test_snap_start_and_concurrency():
    config = RuntimeConfig.from_environment(
        [], {**BASE, "AWS_LAMBDA_INITIALIZATION_TYPE": "snap-start", "AWS_LAMBDA_MAX_CONCURRENCY": "4"}
    )
    assert config.snap_start and config.max_concurrency == 4
