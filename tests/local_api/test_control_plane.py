"""The control plane (emulator.md, "Enough of the control plane"): boto3 and the AWS CLI
create, read, update and delete functions and layers on a real ``lamina serve``."""

from __future__ import annotations

import base64
import hashlib
import io
import json
import shutil
import urllib.request
import zipfile

import pytest
from conftest import FUNCTIONS, LAYER, create_function, invoke_json, unique_name, zip_directory

ROLE = "arn:aws:iam::123456789012:role/test"


def test_create_function_from_a_zip_returns_its_configuration(client):
    package = zip_directory(FUNCTIONS)
    name = unique_name()
    created = client.create_function(
        FunctionName=name, Runtime="python3.12", Role=ROLE, Handler="app.echo", Code={"ZipFile": package},
        Description="an echo", Timeout=7, MemorySize=512, Environment={"Variables": {"GREETING": "hi"}},
        Architectures=["x86_64"], Tags={"team": "lamina"},
    )
    assert created["ResponseMetadata"]["HTTPStatusCode"] == 201
    assert created["FunctionName"] == name
    assert created["FunctionArn"] == f"arn:aws:lambda:us-east-1:123456789012:function:{name}"
    assert created["CodeSize"] == len(package)
    assert created["CodeSha256"] == base64.b64encode(hashlib.sha256(package).digest()).decode()
    assert (created["Runtime"], created["Handler"], created["Role"]) == ("python3.12", "app.echo", ROLE)
    assert (created["Timeout"], created["MemorySize"], created["Description"]) == (7, 512, "an echo")
    assert created["Environment"] == {"Variables": {"GREETING": "hi"}}
    assert (created["Version"], created["State"], created["LastUpdateStatus"], created["PackageType"]) == (
        "$LATEST", "Active", "Successful", "Zip")
    assert created["Architectures"] == ["x86_64"]
    assert created["RevisionId"] and created["LastModified"].endswith("+0000")
    assert invoke_json(client, name, {"created": True})[1] == {"created": True}

    fetched = client.get_function(FunctionName=name)
    configuration = client.get_function_configuration(FunctionName=name)
    configuration.pop("ResponseMetadata")
    assert fetched["Configuration"] == configuration
    assert configuration["CodeSha256"] == created["CodeSha256"]
    assert fetched["Tags"] == {"team": "lamina"}
    with urllib.request.urlopen(fetched["Code"]["Location"]) as download:
        assert download.read() == package


def test_waiters_see_the_function_active_and_updated(client):
    name = create_function(client)
    client.get_waiter("function_active_v2").wait(FunctionName=name)
    client.update_function_configuration(FunctionName=name, Timeout=9)
    client.get_waiter("function_updated_v2").wait(FunctionName=name)


def test_create_function_from_a_local_directory_uses_it_in_place(client, tmp_path):
    code = tmp_path / "code"
    shutil.copytree(FUNCTIONS, code)
    name = unique_name()
    created = client.create_function(
        FunctionName=name, Runtime="python3.12", Role=ROLE, Handler="app.version",
        Code={"S3Bucket": "hot-reload", "S3Key": str(code)},
    )
    assert created["CodeSize"] > 0
    assert invoke_json(client, name)[1] == "v1"
    # A change to the directory reaches new execution environments once the code is updated.
    (code / "app.py").write_text((code / "app.py").read_text().replace('VERSION = "v1"', 'VERSION = "v2"'))
    updated = client.update_function_code(FunctionName=name, S3Bucket="hot-reload", S3Key=str(code))
    assert updated["CodeSha256"] != created["CodeSha256"]
    assert invoke_json(client, name)[1] == "v2"


def test_a_directory_must_be_an_absolute_existing_path(client, tmp_path):
    for key in ["relative/path", str(tmp_path / "missing")]:
        with pytest.raises(client.exceptions.InvalidParameterValueException, match="absolute path of a directory"):
            create_function(client, Code={"S3Bucket": "hot-reload", "S3Key": key})


def test_code_in_s3_is_refused_with_an_explanation(client):
    with pytest.raises(client.exceptions.InvalidParameterValueException, match="cannot read S3"):
        create_function(client, Code={"S3Bucket": "my-bucket", "S3Key": "code.zip"})


def test_a_zip_that_is_not_a_zip_is_refused(client):
    with pytest.raises(client.exceptions.InvalidParameterValueException, match="Could not unzip uploaded file"):
        create_function(client, Code={"ZipFile": b"not a zip"})


def test_a_zip_that_escapes_its_directory_is_refused(client):
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("../escaped.py", "x = 1")
    with pytest.raises(client.exceptions.InvalidParameterValueException, match="outside the package"):
        create_function(client, Code={"ZipFile": buffer.getvalue()})


def test_a_bootstrap_keeps_its_executable_bit(client, tmp_path):
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        info = zipfile.ZipInfo("bootstrap")
        info.external_attr = 0o100755 << 16
        archive.writestr(info, BOOTSTRAP)
    name = unique_name()
    client.create_function(FunctionName=name, Runtime="provided.al2023", Role=ROLE, Handler="any.thing",
                           Code={"ZipFile": buffer.getvalue()})
    assert invoke_json(client, name, {"from": "bootstrap"})[1] == {"echoed": {"from": "bootstrap"}}


BOOTSTRAP = """#!/usr/bin/env python3
# A custom runtime in a few lines: the Runtime API by hand.
import json, os, urllib.request
api = "http://" + os.environ["AWS_LAMBDA_RUNTIME_API"] + "/2018-06-01/runtime/invocation/"
while True:
    with urllib.request.urlopen(api + "next") as answer:
        request_id = answer.headers["Lambda-Runtime-Aws-Request-Id"]
        event = json.loads(answer.read())
    body = json.dumps({"echoed": event}).encode()
    urllib.request.urlopen(urllib.request.Request(api + request_id + "/response", data=body, method="POST")).read()
"""


def test_creating_a_function_twice_is_a_conflict(client):
    name = create_function(client)
    with pytest.raises(client.exceptions.ResourceConflictException, match=f"Function already exist: {name}"):
        create_function(client, name=name)


def test_invalid_configuration_is_invalid_parameter_value(client):
    cases = [
        ({"MemorySize": 20000}, "MemorySize"),
        ({"Timeout": 901}, "Timeout"),
        ({"Environment": {"Variables": {"AWS_REGION": "x"}}}, "reserved"),
        ({"Environment": {"Variables": {"BIG": "y" * 5000}}}, "4096"),
        ({"Runtime": "nodejs22.x"}, "nodejs22.x"),
        ({"Architectures": ["mips"]}, "mips"),
    ]
    for options, message in cases:
        runtime = options.pop("Runtime", "python3.12")
        with pytest.raises(client.exceptions.InvalidParameterValueException, match=message):
            client.create_function(FunctionName=unique_name(), Runtime=runtime, Role=ROLE, Handler="app.echo",
                                   Code={"ZipFile": zip_directory(FUNCTIONS)}, **options)


def test_list_functions_pages_with_marker(start_server):
    server = start_server()
    client = server.client()
    names = sorted(create_function(client) for _ in range(3))
    listed = client.list_functions()["Functions"]
    assert [function["FunctionName"] for function in listed] == names
    first = client.list_functions(MaxItems=2)
    assert len(first["Functions"]) == 2 and "NextMarker" in first
    rest = client.list_functions(MaxItems=2, Marker=first["NextMarker"])
    assert [function["FunctionName"] for function in first["Functions"] + rest["Functions"]] == names
    assert "NextMarker" not in rest
    paged = [function["FunctionName"] for page in client.get_paginator("list_functions").paginate(PaginationConfig={"PageSize": 1})
             for function in page["Functions"]]
    assert paged == names


def test_update_function_code_changes_what_runs(client):
    name = create_function(client, "app.version")
    assert invoke_json(client, name)[1] == "v1"
    before = client.get_function_configuration(FunctionName=name)
    new_source = (FUNCTIONS / "app.py").read_text().replace('VERSION = "v1"', 'VERSION = "v2"')
    updated = client.update_function_code(FunctionName=name, ZipFile=zip_directory(FUNCTIONS, {"app.py": new_source}))
    assert updated["CodeSha256"] != before["CodeSha256"] and updated["RevisionId"] != before["RevisionId"]
    assert invoke_json(client, name)[1] == "v2"


def test_update_function_configuration_changes_what_runs(client):
    name = create_function(client, "app.environment", Environment={"Variables": {"FIRST": "1", "SECOND": "2"}})
    assert invoke_json(client, name, {"names": ["FIRST", "SECOND"]})[1] == {"FIRST": "1", "SECOND": "2"}
    updated = client.update_function_configuration(
        FunctionName=name, Environment={"Variables": {"FIRST": "changed"}}, MemorySize=256, Timeout=5, Description="new"
    )
    assert (updated["MemorySize"], updated["Timeout"], updated["Description"]) == (256, 5, "new")
    assert updated["Environment"] == {"Variables": {"FIRST": "changed"}}
    assert invoke_json(client, name, {"names": ["FIRST", "SECOND"]})[1] == {"FIRST": "changed", "SECOND": None}
    client.update_function_configuration(FunctionName=name, Handler="app.context_fields")
    assert invoke_json(client, name)[1]["memory_limit_in_mb"] == "256"


def test_logging_config_sets_the_log_format_and_level(client):
    name = create_function(client, "app.logs_with_logging", LoggingConfig={"LogFormat": "JSON", "ApplicationLogLevel": "DEBUG"})
    configuration = client.get_function_configuration(FunctionName=name)
    assert configuration["LoggingConfig"] == {
        "LogFormat": "JSON", "ApplicationLogLevel": "DEBUG", "SystemLogLevel": "INFO", "LogGroup": f"/aws/lambda/{name}"}
    log = base64.b64decode(client.invoke(FunctionName=name, LogType="Tail")["LogResult"]).decode()
    records = [json.loads(line) for line in log.splitlines() if line.startswith("{")]
    assert [(record["level"], record["message"]) for record in records] == [("DEBUG", "a debug line"), ("WARNING", "a warning line")]

    updated = client.update_function_configuration(FunctionName=name, LoggingConfig={"LogFormat": "Text"})
    assert updated["LoggingConfig"] == {"LogFormat": "Text", "LogGroup": f"/aws/lambda/{name}"}
    log = base64.b64decode(client.invoke(FunctionName=name, LogType="Tail")["LogResult"]).decode()
    assert "[WARNING]\t" in log and "a debug line" not in log
    with pytest.raises(client.exceptions.InvalidParameterValueException, match="requires LogFormat JSON"):
        client.update_function_configuration(FunctionName=name, LoggingConfig={"ApplicationLogLevel": "ERROR"})


def test_updates_with_a_stale_revision_id_fail(client):
    name = create_function(client)
    revision = client.get_function(FunctionName=name)["Configuration"]["RevisionId"]
    client.update_function_configuration(FunctionName=name, Timeout=4, RevisionId=revision)
    with pytest.raises(client.exceptions.PreconditionFailedException):
        client.update_function_configuration(FunctionName=name, Timeout=5, RevisionId=revision)


def test_update_of_an_unknown_function_is_resource_not_found(client):
    with pytest.raises(client.exceptions.ResourceNotFoundException):
        client.update_function_configuration(FunctionName="no-such-function", Timeout=4)
    with pytest.raises(client.exceptions.ResourceNotFoundException):
        client.update_function_code(FunctionName="no-such-function", ZipFile=zip_directory(FUNCTIONS))


def test_delete_function(client):
    name = create_function(client)
    deleted = client.delete_function(FunctionName=name)
    assert deleted["ResponseMetadata"]["HTTPStatusCode"] == 204
    with pytest.raises(client.exceptions.ResourceNotFoundException):
        client.get_function(FunctionName=name)
    with pytest.raises(client.exceptions.ResourceNotFoundException):
        client.invoke(FunctionName=name)
    with pytest.raises(client.exceptions.ResourceNotFoundException):
        client.delete_function(FunctionName=name)
    create_function(client, name=name)  # the name is free again


def test_function_concurrency_round_trip(client):
    name = create_function(client)
    assert client.get_function_concurrency(FunctionName=name).get("ReservedConcurrentExecutions") is None
    assert client.put_function_concurrency(FunctionName=name, ReservedConcurrentExecutions=3)["ReservedConcurrentExecutions"] == 3
    assert client.get_function_concurrency(FunctionName=name)["ReservedConcurrentExecutions"] == 3
    assert client.get_function(FunctionName=name)["Concurrency"] == {"ReservedConcurrentExecutions": 3}
    client.delete_function_concurrency(FunctionName=name)
    assert "Concurrency" not in client.get_function(FunctionName=name)


def test_reserved_concurrency_cannot_exceed_the_service_concurrency(start_server):
    client = start_server("--concurrency", "4").client()
    first, second = create_function(client), create_function(client)
    client.put_function_concurrency(FunctionName=first, ReservedConcurrentExecutions=3)
    with pytest.raises(client.exceptions.InvalidParameterValueException, match="UnreservedConcurrentExecution"):
        client.put_function_concurrency(FunctionName=second, ReservedConcurrentExecutions=2)
    settings = client.get_account_settings()
    assert settings["AccountLimit"]["ConcurrentExecutions"] == 4
    assert settings["AccountLimit"]["UnreservedConcurrentExecutions"] == 1


# -- layers -------------------------------------------------------------------------------------


def test_publish_a_layer_and_use_it_in_a_function(client):
    package = zip_directory(LAYER)
    layer_name = unique_name("layer")
    published = client.publish_layer_version(
        LayerName=layer_name, Content={"ZipFile": package}, CompatibleRuntimes=["python3.12"], Description="greeting"
    )
    assert published["ResponseMetadata"]["HTTPStatusCode"] == 201
    assert published["Version"] == 1
    assert published["LayerArn"] == f"arn:aws:lambda:us-east-1:123456789012:layer:{layer_name}"
    assert published["LayerVersionArn"] == published["LayerArn"] + ":1"
    assert published["Content"]["CodeSize"] == len(package)
    assert published["Content"]["CodeSha256"] == base64.b64encode(hashlib.sha256(package).digest()).decode()

    name = create_function(client, "app.uses_layer", Layers=[published["LayerVersionArn"]])
    assert invoke_json(client, name)[1] == "hello from the layer"
    configuration = client.get_function_configuration(FunctionName=name)
    assert configuration["Layers"] == [{"Arn": published["LayerVersionArn"], "CodeSize": len(package)}]

    second = client.publish_layer_version(LayerName=layer_name, Content={"ZipFile": package})
    assert second["Version"] == 2
    assert client.get_layer_version(LayerName=layer_name, VersionNumber=1)["Description"] == "greeting"
    assert client.get_layer_version_by_arn(Arn=second["LayerVersionArn"])["Version"] == 2
    versions = client.list_layer_versions(LayerName=layer_name)["LayerVersions"]
    assert [version["Version"] for version in versions] == [2, 1]
    layers = {layer["LayerName"]: layer for layer in client.list_layers()["Layers"]}
    assert layers[layer_name]["LatestMatchingVersion"]["Version"] == 2
    with urllib.request.urlopen(published["Content"]["Location"]) as download:
        assert download.read() == package

    client.delete_layer_version(LayerName=layer_name, VersionNumber=1)
    with pytest.raises(client.exceptions.ResourceNotFoundException):
        client.get_layer_version(LayerName=layer_name, VersionNumber=1)
    # A function keeps the version it was created with, as on Lambda.
    assert invoke_json(client, name)[1] == "hello from the layer"


def test_a_layer_from_a_directory(client):
    layer = client.publish_layer_version(LayerName=unique_name("layer"), Content={"S3Bucket": "hot-reload", "S3Key": str(LAYER)})
    name = create_function(client, "app.uses_layer", Layers=[layer["LayerVersionArn"]])
    assert invoke_json(client, name)[1] == "hello from the layer"


def test_layers_can_be_changed_by_update_function_configuration(client):
    layer = client.publish_layer_version(LayerName=unique_name("layer"), Content={"ZipFile": zip_directory(LAYER)})
    name = create_function(client, "app.uses_layer")
    assert invoke_json(client, name)[0]["FunctionError"] == "Unhandled"  # no module named layered
    client.update_function_configuration(FunctionName=name, Layers=[layer["LayerVersionArn"]])
    assert invoke_json(client, name)[1] == "hello from the layer"
    client.update_function_configuration(FunctionName=name, Layers=[])
    assert "Layers" not in client.get_function_configuration(FunctionName=name)


def test_an_unknown_layer_version_is_refused(client):
    with pytest.raises(client.exceptions.InvalidParameterValueException, match="does not exist"):
        create_function(client, Layers=["arn:aws:lambda:us-east-1:123456789012:layer:nothing:1"])


# -- the AWS CLI --------------------------------------------------------------------------------


def test_aws_cli_round_trip(server, tmp_path):
    package = tmp_path / "function.zip"
    package.write_bytes(zip_directory(FUNCTIONS))
    layer = tmp_path / "layer.zip"
    layer.write_bytes(zip_directory(LAYER))
    name = unique_name("cli")

    def aws(*arguments: str) -> dict:
        output = server.aws(*arguments).stdout
        return json.loads(output) if output.strip() else {}

    created = aws("create-function", "--function-name", name, "--runtime", "python3.12", "--handler", "app.version",
                  "--role", ROLE, "--zip-file", f"fileb://{package}", "--timeout", "5")
    assert (created["FunctionName"], created["Timeout"], created["State"]) == (name, 5, "Active")

    response_file = tmp_path / "response.json"
    invoked = aws("invoke", "--function-name", name, "--payload", "{}", "--log-type", "Tail", str(response_file))
    assert invoked["StatusCode"] == 200 and invoked["ExecutedVersion"] == "$LATEST"
    assert json.loads(response_file.read_text()) == "v1"
    assert "START RequestId:" in base64.b64decode(invoked["LogResult"]).decode()

    new_source = (FUNCTIONS / "app.py").read_text().replace('VERSION = "v1"', 'VERSION = "v2"')
    package.write_bytes(zip_directory(FUNCTIONS, {"app.py": new_source}))
    aws("update-function-code", "--function-name", name, "--zip-file", f"fileb://{package}")
    aws("invoke", "--function-name", name, str(response_file))
    assert json.loads(response_file.read_text()) == "v2"

    published = aws("publish-layer-version", "--layer-name", f"{name}-layer", "--zip-file", f"fileb://{layer}")
    updated = aws("update-function-configuration", "--function-name", name, "--handler", "app.uses_layer",
                  "--memory-size", "256", "--environment", "Variables={STAGE=test}", "--layers", published["LayerVersionArn"])
    assert (updated["Handler"], updated["MemorySize"], updated["Environment"]) == ("app.uses_layer", 256, {"Variables": {"STAGE": "test"}})
    aws("invoke", "--function-name", name, str(response_file))
    assert json.loads(response_file.read_text()) == "hello from the layer"

    assert aws("put-function-concurrency", "--function-name", name, "--reserved-concurrent-executions", "2") == {
        "ReservedConcurrentExecutions": 2}
    assert aws("get-function", "--function-name", name)["Concurrency"] == {"ReservedConcurrentExecutions": 2}
    aws("delete-function-concurrency", "--function-name", name)
    assert name in [function["FunctionName"] for function in aws("list-functions")["Functions"]]

    bad_payload = server.aws("invoke", "--function-name", name, "--payload", "value", str(response_file), check=False)
    assert bad_payload.returncode != 0
    assert "InvalidRequestContentException" in bad_payload.stderr and "Could not parse request body into json" in bad_payload.stderr

    aws("delete-function", "--function-name", name)
    missing = server.aws("get-function", "--function-name", name, check=False)
    assert missing.returncode != 0 and "ResourceNotFoundException" in missing.stderr


def test_aws_cli_creates_a_function_from_a_directory(server, tmp_path):
    name = unique_name("cli")
    created = server.aws("create-function", "--function-name", name, "--runtime", "python3.12", "--handler", "app.echo",
                         "--role", ROLE, "--code", f"S3Bucket=hot-reload,S3Key={FUNCTIONS}")
    assert json.loads(created.stdout)["FunctionName"] == name
    response_file = tmp_path / "response.json"
    server.aws("invoke", "--function-name", name, "--payload", '{"from": "cli"}', str(response_file))
    assert json.loads(response_file.read_text()) == {"from": "cli"}
