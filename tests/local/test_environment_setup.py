"""What a function finds in its environment: Lambda's variables (with the local paths),
/tmp, the task root, and /opt built from its layers in order; Max Memory Used measured."""

from __future__ import annotations

import re
import zipfile
from pathlib import Path

from engine_helpers import FUNCTIONS, TEST_CREDENTIALS, Runtime, body, invoke, local_lambda, log_lines


async def test_runtime_gets_lambdas_environment_variables(tmp_path, runtime: Runtime):
    async with local_lambda(tmp_path, region="eu-west-1") as (service, _):
        function = service.put_function(runtime.function(
            "app.environment", memory_mb=512, environment={"MY_SETTING": "on", "LANG": "C.UTF-8"},
        ))
        variables = body(await invoke(service, function))
    assert variables["_HANDLER"] == "app.environment"
    assert variables["AWS_REGION"] == variables["AWS_DEFAULT_REGION"] == "eu-west-1"
    assert variables["AWS_LAMBDA_FUNCTION_NAME"] == function.name
    assert variables["AWS_LAMBDA_FUNCTION_MEMORY_SIZE"] == "512"
    assert variables["AWS_LAMBDA_FUNCTION_VERSION"] == "$LATEST"
    assert variables["AWS_LAMBDA_INITIALIZATION_TYPE"] == "on-demand"
    assert variables["AWS_LAMBDA_LOG_GROUP_NAME"] == f"/aws/lambda/{function.name}"
    assert re.fullmatch(r"\d{4}/\d\d/\d\d/\[\$LATEST\][0-9a-f]{32}", variables["AWS_LAMBDA_LOG_STREAM_NAME"])
    assert re.fullmatch(r"127\.0\.0\.1:\d+", variables["AWS_LAMBDA_RUNTIME_API"])
    assert variables["LAMBDA_TASK_ROOT"] == str(FUNCTIONS.resolve())
    assert Path(variables["LAMBDA_RUNTIME_DIR"]).is_dir()
    assert variables["TZ"] == ":UTC"
    assert variables["LANG"] == "C.UTF-8"  # LANG is not reserved: the function's own value wins
    assert variables["PATH"].endswith("/opt/bin") and ":/usr/local/bin:/usr/bin/:/bin:" in variables["PATH"]
    assert variables["LD_LIBRARY_PATH"].endswith("/opt/lib")
    assert Path(variables["TMPDIR"]).name == "tmp" and (tmp_path / "work" / "environments") in Path(variables["TMPDIR"]).parents
    assert variables["AWS_ACCESS_KEY_ID"] == TEST_CREDENTIALS.access_key_id
    assert variables["AWS_SECRET_ACCESS_KEY"] == TEST_CREDENTIALS.secret_access_key
    assert variables["AWS_SESSION_TOKEN"] == TEST_CREDENTIALS.session_token
    assert variables["MY_SETTING"] == "on"
    assert "AWS_LAMBDA_LOG_FORMAT" not in variables
    if runtime.name == "lamina":
        assert variables["AWS_EXECUTION_ENV"] == "AWS_Lambda_python3.12"
    else:
        assert "AWS_EXECUTION_ENV" not in variables  # not defined for OS-only runtimes


async def test_logging_configuration_becomes_log_format_and_level(tmp_path):
    async with local_lambda(tmp_path) as (service, _):
        function = service.put_function(Runtime("lamina").function("app.environment", log_format="JSON", log_level="debug"))
        variables = body(await invoke(service, function))
    assert variables["AWS_LAMBDA_LOG_FORMAT"] == "JSON" and variables["AWS_LAMBDA_LOG_LEVEL"] == "DEBUG"


async def test_each_environment_has_its_own_tmp(tmp_path, runtime: Runtime):
    import asyncio

    async with local_lambda(tmp_path) as (service, _):
        function = service.put_function(runtime.function("app.tmp_marker"))
        results = await asyncio.gather(*(invoke(service, function, {"seconds": 0.5}) for _ in range(2)))
    assert len({body(r)["tmp"] for r in results}) == 2


def _zip_layer(path: Path, files: dict[str, tuple[str, int]]) -> Path:
    with zipfile.ZipFile(path, "w") as archive:
        for name, (text, mode) in files.items():
            info = zipfile.ZipInfo(name)
            info.external_attr = (0o100000 | mode) << 16
            archive.writestr(info, text)
    return path


async def test_layers_are_extracted_in_order_zip_and_directory(tmp_path, runtime: Runtime):
    first = _zip_layer(tmp_path / "first.zip", {
        "bin/which-layer": ("#!/bin/sh\necho first\n", 0o755),
        "bin/only-first": ("#!/bin/sh\necho only\n", 0o755),
        "python/shared_module.py": ("VALUE = 'first'\n", 0o644),
    })
    second = tmp_path / "second"
    (second / "bin").mkdir(parents=True)
    (second / "python").mkdir()
    (second / "bin" / "which-layer").write_text("#!/bin/sh\necho second\n")
    (second / "bin" / "which-layer").chmod(0o755)
    (second / "python" / "shared_module.py").write_text("VALUE = 'second'\n")
    async with local_lambda(tmp_path) as (service, _):
        function = service.put_function(runtime.function("app.layers", layers=(first, second)))
        reversed_order = service.put_function(runtime.function("app.layers", layers=(second, first)))
        answer = body(await invoke(service, function))
        reversed_answer = body(await invoke(service, reversed_order))
    assert answer["tool"] == "second" and reversed_answer["tool"] == "first"
    assert answer["only_first"] is True  # from the zip, still executable
    if runtime.name == "lamina":  # <opt>/python is on PYTHONPATH for Python runtimes
        assert answer["python"] == "second" and reversed_answer["python"] == "first"


async def test_code_from_a_zip_is_extracted_into_the_task_root(tmp_path):
    archive = tmp_path / "code.zip"
    with zipfile.ZipFile(archive, "w") as zip_file:
        zip_file.write(FUNCTIONS / "app.py", "app.py")
    async with local_lambda(tmp_path) as (service, _):
        function = service.put_function(Runtime("lamina").function("app.environment", code_dir=archive))
        variables = body(await invoke(service, function))
    assert Path(variables["LAMBDA_TASK_ROOT"], "app.py").is_file()
    assert Path(variables["LAMBDA_TASK_ROOT"]) != FUNCTIONS


async def test_max_memory_used_follows_what_the_function_allocates(tmp_path, runtime: Runtime):
    async with local_lambda(tmp_path) as (service, _):
        function = service.put_function(runtime.function("app.allocate", memory_mb=1024, timeout_seconds=20))
        small = await invoke(service, function, {"megabytes": 1})
        large = await invoke(service, function, {"megabytes": 200})
        small_again = await invoke(service, function, {"megabytes": 1})
    assert large.max_memory_used_mb >= small.max_memory_used_mb + 150
    assert small_again.max_memory_used_mb < large.max_memory_used_mb - 150  # measured per invocation
    assert small.max_memory_used_mb < 1024  # measured, not the configured size
    report = log_lines(large)[-1]
    assert f"\tMax Memory Used: {large.max_memory_used_mb} MB\t" in report


async def test_exec_wrapper_wraps_python_runtimes(tmp_path):
    wrapper = tmp_path / "wrapper"
    wrapper.write_text('#!/bin/sh\nexport WRAPPED=yes\nexec "$@"\n')
    wrapper.chmod(0o755)
    async with local_lambda(tmp_path) as (service, _):
        function = service.put_function(Runtime("lamina").function(
            "app.environment", environment={"AWS_LAMBDA_EXEC_WRAPPER": str(wrapper)}
        ))
        variables = body(await invoke(service, function))
    assert variables["WRAPPED"] == "yes"


async def test_json_log_lines_reach_telemetry_as_objects(tmp_path):
    from engine_helpers import extension_layer, read_jsonl, wait_for

    records = tmp_path / "records"
    records.mkdir()
    code = tmp_path / "json-logging"
    code.mkdir()
    (code / "logs_json.py").write_text(
        "import logging\nlogger = logging.getLogger()\n"
        "def handler(event, context):\n    logger.info('structured', extra={'order': 7})\n    return 'ok'\n"
    )
    async with local_lambda(tmp_path) as (service, logs):
        function = service.put_function(Runtime("lamina").function(
            "logs_json.handler", code_dir=code, log_format="JSON", layers=(extension_layer(tmp_path),),
            environment={"RECORD_DIR": str(records)},
        ))
        result = await invoke(service, function)
        path = records / "recorder.telemetry-http.jsonl"
        await wait_for(lambda: any(e["type"] == "function" for e in read_jsonl(path)))
    record = next(e["record"] for e in read_jsonl(path) if e["type"] == "function")
    assert record["message"] == "structured" and record["order"] == 7 and record["requestId"] == result.request_id
    assert any('"message": "structured"' in line or '"message":"structured"' in line for line in logs.texts(function.name))
