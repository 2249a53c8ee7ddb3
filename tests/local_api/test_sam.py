"""SAM templates (emulator.md: functions "declared in a SAM template.yaml"): what is read from
a template, what is refused and why, and templates served by ``lamina serve``."""

from __future__ import annotations

import json
import re
import subprocess
import sys
import urllib.request
import zipfile
from pathlib import Path

import pytest
from conftest import FUNCTIONS, invoke_json, receive_at_least, write_template

from lamina.local.sam import TemplateError, load_template


def test_functions_are_read_with_their_properties(tmp_path):
    template = load_template(write_template(tmp_path, """
        Resources:
          Echo:
            Type: AWS::Serverless::Function
            Properties:
              CodeUri: src/
              Handler: app.echo
              Runtime: python3.12
              MemorySize: 512
              Timeout: 10
              Description: echoes
              Architectures: [arm64]
              ReservedConcurrentExecutions: 2
              LoggingConfig: {LogFormat: JSON, ApplicationLogLevel: DEBUG}
              Environment:
                Variables:
                  STAGE: test
                  DEBUG: true
                  RETRIES: 3
          Table:
            Type: AWS::DynamoDB::Table
        """))
    function = template.functions["Echo"]
    assert (function.handler, function.runtime, function.code) == ("app.echo", "python3.12", tmp_path / "src")
    assert (function.memory_mb, function.timeout_seconds, function.description) == (512, 10.0, "echoes")
    assert (function.architecture, function.reserved_concurrency) == ("arm64", 2)
    assert (function.log_format, function.log_level) == ("JSON", "DEBUG")
    assert function.environment == {"STAGE": "test", "DEBUG": "true", "RETRIES": "3"}
    assert list(template.functions) == ["Echo"] and template.warnings == []


def test_globals_function_apply_with_sams_merge_rules(tmp_path):
    template = load_template(write_template(tmp_path, """
        Globals:
          Function:
            Runtime: python3.11
            Timeout: 20
            Handler: app.echo
            Environment:
              Variables: {SHARED: global, OVERRIDDEN: global}
            Layers: [layer/]
        Resources:
          First:
            Type: AWS::Serverless::Function
            Properties:
              CodeUri: src/
              Timeout: 5
              Environment:
                Variables: {OVERRIDDEN: own, OWN: own}
          Second:
            Type: AWS::Serverless::Function
            Properties: {CodeUri: src/, Handler: app.version}
        """))
    first, second = template.functions["First"], template.functions["Second"]
    assert (first.runtime, first.timeout_seconds, first.handler) == ("python3.11", 5.0, "app.echo")
    assert first.environment == {"SHARED": "global", "OVERRIDDEN": "own", "OWN": "own"}
    assert (second.timeout_seconds, second.handler) == (20.0, "app.version")
    assert [layer.content for layer in first.layers] == [tmp_path / "layer"]


def test_short_form_intrinsics_parameters_and_conditions_are_resolved(tmp_path):
    path = write_template(tmp_path, """
        Parameters:
          Stage: {Type: String, Default: dev, AllowedValues: [dev, prod]}
          Memory: {Type: Number, Default: 256}
          Secret: {Type: String}
        Conditions:
          IsProd: !Equals [!Ref Stage, prod]
          NotProd: !Not [!Condition IsProd]
        Mappings:
          Limits:
            dev: {Timeout: 7}
            prod: {Timeout: 30}
        Resources:
          Api:
            Type: AWS::Serverless::Function
            Properties:
              CodeUri: src/
              Handler: app.echo
              Runtime: python3.12
              MemorySize: !Ref Memory
              Timeout: !FindInMap [Limits, !Ref Stage, Timeout]
              Environment:
                Variables:
                  NAME: !Sub "api-${Stage}-${AWS::Region}"
                  LITERAL: !Sub "${!NotSubstituted}"
                  WITH_VARIABLES: !Sub ["${Prefix}-${Stage}", {Prefix: pre}]
                  JOINED: !Join [":", [a, !Ref Stage, !Ref "AWS::AccountId"]]
                  MODE: !If [IsProd, fast, careful]
                  SELECTED: !Select [1, !Split [",", "x,y,z"]]
                  PEER: !Ref Peer
                  PEER_ARN: !GetAtt Peer.Arn
                  ENCODED: !Base64 hi
                  OPTIONAL: !If [NotProd, !Ref "AWS::NoValue", set]
          Peer:
            Type: AWS::Serverless::Function
            Condition: IsProd
            Properties: {CodeUri: src/, Handler: app.echo, Runtime: python3.12}
        """)
    template = load_template(path, {"Secret": "s"})
    api = template.functions["Api"]
    assert (api.memory_mb, api.timeout_seconds) == (256, 7.0)
    assert api.environment == {
        "NAME": "api-dev-us-east-1",
        "LITERAL": "${NotSubstituted}",
        "WITH_VARIABLES": "pre-dev",
        "JOINED": "a:dev:123456789012",
        "MODE": "careful",
        "SELECTED": "y",
        "PEER": "Peer",
        "PEER_ARN": "arn:aws:lambda:us-east-1:123456789012:function:Peer",
        "ENCODED": "aGk=",
    }
    assert "Peer" not in template.functions  # its condition is false

    production = load_template(path, {"Stage": "prod", "Secret": "s"})
    assert production.functions["Api"].timeout_seconds == 30.0
    assert production.functions["Api"].environment["MODE"] == "fast"
    assert production.functions["Api"].environment["OPTIONAL"] == "set"
    assert "Peer" in production.functions

    with pytest.raises(TemplateError, match="AllowedValues"):
        load_template(path, {"Stage": "staging"})
    with pytest.raises(TemplateError, match="Unknown is not declared"):
        load_template(path, {"Unknown": "x"})


def test_values_only_aws_knows_leave_environment_variables_unset_with_a_warning(tmp_path):
    path = write_template(tmp_path, """
        Parameters:
          FromSsm: {Type: "AWS::SSM::Parameter::Value<String>", Default: /config/table}
        Resources:
          Table:
            Type: AWS::DynamoDB::Table
          Fn:
            Type: AWS::Serverless::Function
            Properties:
              CodeUri: src/
              Handler: app.echo
              Runtime: python3.12
              Environment:
                Variables:
                  TABLE: !Ref Table
                  STREAM: !GetAtt Table.StreamArn
                  IMPORTED: !ImportValue shared-bucket
                  CONFIG: !Ref FromSsm
                  KEPT: value
        """)
    template = load_template(path)
    assert template.functions["Fn"].environment == {"KEPT": "value"}
    warnings = "\n".join(template.warnings)
    for expected in ["TABLE is left unset: !Ref Table (type AWS::DynamoDB::Table)", "STREAM is left unset: !GetAtt Table.StreamArn",
                     "IMPORTED is left unset: Fn::ImportValue", "CONFIG is left unset: parameter FromSsm is read from SSM"]:
        assert expected in warnings
    # SAM CLI's environment file gives them values.
    overridden = load_template(path, environment_overrides={"Fn": {"TABLE": "local-table"}, "Parameters": {"CONFIG": "c"}})
    assert overridden.functions["Fn"].environment == {"TABLE": "local-table", "CONFIG": "c", "KEPT": "value"}


@pytest.mark.parametrize(
    "properties, message",
    [
        ("PackageType: Image\n      ImageUri: repo:tag", "PackageType Image is not supported"),
        ("CodeUri: s3://bucket/code.zip\n      Handler: app.echo\n      Runtime: python3.12", "is in S3"),
        ("CodeUri: {Bucket: b, Key: k}\n      Handler: app.echo\n      Runtime: python3.12", "points at S3"),
        ("CodeUri: missing/\n      Handler: app.echo\n      Runtime: python3.12", "missing/ does not exist"),
        ("CodeUri: src/\n      Runtime: python3.12", "property Handler is required"),
        ("CodeUri: src/\n      Handler: app.echo\n      Runtime: nodejs22.x", "Runtime 'nodejs22.x' is not supported"),
        ("CodeUri: src/\n      Handler: app.echo\n      Runtime: python3.12\n      Timeout: 1000", "Timeout 1000.0 is outside"),
        ("CodeUri: src/\n      Handler: !ImportValue handler\n      Runtime: python3.12", "Handler cannot be resolved locally: Fn::ImportValue"),
        ("CodeUri: src/\n      Handler: app.echo\n      Runtime: python3.12\n      MemorySize: lots", "MemorySize must be an integer"),
    ],
)
def test_what_lamina_cannot_run_is_refused_clearly(tmp_path, properties, message):
    path = write_template(tmp_path, f"""
Resources:
  Fn:
    Type: AWS::Serverless::Function
    Properties:
      {properties}
""")
    with pytest.raises(TemplateError, match=message) as raised:
        load_template(path)
    assert str(raised.value).startswith("Fn: ")


def test_unsupported_features_are_ignored_with_a_warning(tmp_path):
    template = load_template(write_template(tmp_path, """
        Resources:
          Fn:
            Type: AWS::Serverless::Function
            Properties:
              CodeUri: src/
              Handler: app.echo
              Runtime: python3.12
              SnapStart: {ApplyOn: PublishedVersions}
              FileSystemConfigs: [{Arn: arn:aws:elasticfilesystem:us-east-1:123456789012:access-point/fsap-1, LocalMountPath: /mnt/efs}]
              Layers: [arn:aws:lambda:us-east-1:017000801446:layer:AWSLambdaPowertoolsPythonV3-python312-x86_64:7]
              Events:
                Api: {Type: Api, Properties: {Path: /, Method: get}}
        """))
    warnings = "\n".join(template.warnings)
    assert "Fn: SnapStart is ignored" in warnings
    assert "Fn: FileSystemConfigs is ignored" in warnings
    assert "layer arn:aws:lambda:us-east-1:017000801446:layer:AWSLambdaPowertoolsPythonV3" in warnings
    assert template.functions["Fn"].layers == ()


def test_a_template_that_is_not_yaml_or_not_sam_is_refused(tmp_path):
    broken = tmp_path / "broken.yaml"
    broken.write_text("Resources: [unclosed")
    with pytest.raises(TemplateError, match="not valid YAML"):
        load_template(broken)
    empty = tmp_path / "empty.yaml"
    empty.write_text("Description: nothing\n")
    with pytest.raises(TemplateError, match="no Resources section"):
        load_template(empty)


def test_json_templates_are_read_too(tmp_path):
    write_template(tmp_path, "Resources: {}")
    path = tmp_path / "template.json"
    path.write_text(json.dumps({"Resources": {"Fn": {"Type": "AWS::Serverless::Function", "Properties": {
        "CodeUri": "src", "Handler": "app.echo", "Runtime": "python3.12",
        "Environment": {"Variables": {"REGION": {"Fn::Sub": "${AWS::Region}"}}}}}}}))
    assert load_template(path).functions["Fn"].environment == {"REGION": "us-east-1"}


# -- served ---------------------------------------------------------------------------------------

SERVED = """
Parameters:
  Stage: {Type: String, Default: dev}
Globals:
  Function:
    Runtime: python3.12
    CodeUri: src/
    Environment:
      Variables:
        STAGE: !Ref Stage
Resources:
  Echo:
    Type: AWS::Serverless::Function
    Properties:
      Handler: app.echo
  Environment:
    Type: AWS::Serverless::Function
    Properties:
      Handler: app.environment
      MemorySize: 256
      Environment:
        Variables:
          PEER: !Ref Echo
          TABLE: !Ref Table
  WithLayer:
    Type: AWS::Serverless::Function
    Properties:
      Handler: app.uses_layer
      Layers: [!Ref Shared]
  FromZip:
    Type: AWS::Serverless::Function
    Properties:
      CodeUri: package.zip
      Handler: app.version
  Inline:
    Type: AWS::Serverless::Function
    Properties:
      CodeUri: !Ref AWS::NoValue
      InlineCode: |
        def handler(event, context):
            return "inline"
      Handler: index.handler
  Shared:
    Type: AWS::Serverless::LayerVersion
    Properties:
      LayerName: shared-layer
      ContentUri: layer/
  Table:
    Type: AWS::DynamoDB::Table
"""


@pytest.fixture
def served_template(tmp_path) -> Path:
    path = write_template(tmp_path, SERVED)
    with zipfile.ZipFile(tmp_path / "package.zip", "w") as archive:
        archive.write(FUNCTIONS / "app.py", "app.py")
    return path


def test_serve_a_template(start_server, served_template, tmp_path):
    env_vars = tmp_path / "env.json"
    env_vars.write_text(json.dumps({"Environment": {"TABLE": "local-table"}}))
    server = start_server("--template", str(served_template), "--parameter", "Stage=test", "--env-vars", str(env_vars))
    server.wait_for_line(lambda line: line == "lamina serve: functions Echo, Environment, FromZip, Inline, WithLayer")
    client = server.client()

    assert invoke_json(client, "Echo", {"hello": "sam"})[1] == {"hello": "sam"}
    assert invoke_json(client, "Environment", {"names": ["STAGE", "PEER", "TABLE"]})[1] == {
        "STAGE": "test", "PEER": "Echo", "TABLE": "local-table"}
    assert invoke_json(client, "WithLayer")[1] == "hello from the layer"
    assert invoke_json(client, "FromZip")[1] == "v1"
    assert invoke_json(client, "Inline")[1] == "inline"

    configuration = client.get_function_configuration(FunctionName="Environment")
    assert (configuration["MemorySize"], configuration["Handler"], configuration["Runtime"]) == (256, "app.environment", "python3.12")
    layered = client.get_function_configuration(FunctionName="WithLayer")
    assert layered["Layers"][0]["Arn"] == "arn:aws:lambda:us-east-1:123456789012:layer:shared-layer:1"
    assert [layer["LayerName"] for layer in client.list_layers()["Layers"]] == ["shared-layer"]
    assert sorted(function["FunctionName"] for function in client.list_functions()["Functions"]) == [
        "Echo", "Environment", "FromZip", "Inline", "WithLayer"]
    server.wait_for_line(lambda line: line.startswith("Echo | START RequestId:"))


def test_serve_reports_template_warnings_and_errors(tmp_path):
    path = write_template(tmp_path, """
        Resources:
          Fn:
            Type: AWS::Serverless::Function
            Properties: {CodeUri: src/, Handler: app.echo, Runtime: nodejs22.x}
        """)
    result = subprocess.run([sys.executable, "-m", "lamina.cli", "serve", "--port", "0", "--template", str(path),
                             "--state-dir", str(tmp_path / "state")], capture_output=True, text=True, timeout=60)
    assert result.returncode == 2
    assert "lamina serve: Fn: Runtime 'nodejs22.x' is not supported" in result.stderr


def test_invoke_a_template_function_from_the_cli(served_template):
    result = subprocess.run(
        [sys.executable, "-m", "lamina.cli", "invoke", "--template", str(served_template), "Environment",
         "--event", '{"names": ["STAGE", "PEER"]}', "--parameter-overrides", "ParameterKey=Stage,ParameterValue=cli"],
        capture_output=True, text=True, timeout=60,
    )
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout) == {"STAGE": "cli", "PEER": "Echo"}
    assert "START RequestId:" in result.stderr and "REPORT RequestId:" in result.stderr
    assert "warning: Environment: environment variable TABLE is left unset" in result.stderr


# -- AutoPublishAlias, FunctionUrlConfig, EventInvokeConfig, DeadLetterQueue ---------------------

DEPLOYMENT = """
    Resources:
      Api:
        Type: AWS::Serverless::Function
        Properties:
          CodeUri: src/
          Handler: app.http_echo
          Runtime: python3.12
          AutoPublishAlias: live
          VersionDescription: first release
          FunctionUrlConfig:
            AuthType: NONE
            Cors: {AllowOrigins: ["*"], MaxAge: 60}
      Worker:
        Type: AWS::Serverless::Function
        Properties:
          CodeUri: src/
          Handler: app.fails_until
          Runtime: python3.12
          AutoPublishAlias: live
          DeadLetterQueue: {Type: SQS, TargetArn: !GetAtt DeadLetters.Arn}
          EventInvokeConfig:
            MaximumRetryAttempts: 2
            MaximumEventAgeInSeconds: 3600
            DestinationConfig:
              OnSuccess: {Type: SQS, Destination: !GetAtt Results.Arn}
              OnFailure: {Type: SNS}
      Chained:
        Type: AWS::Serverless::Function
        Properties:
          CodeUri: src/
          Handler: app.echo
          Runtime: python3.12
          EventInvokeConfig:
            DestinationConfig:
              OnSuccess: {Type: Lambda, Destination: !GetAtt Worker.Arn}
              OnFailure: {Type: EventBridge, Destination: !GetAtt Bus.Arn}
      Results:
        Type: AWS::SQS::Queue
        Properties: {QueueName: worker-results}
      DeadLetters:
        Type: AWS::SQS::Queue
      Bus:
        Type: AWS::Events::EventBus
        Properties: {Name: local-bus}
    """


def test_aliases_urls_and_async_settings_are_read_from_a_template(tmp_path):
    template = load_template(write_template(tmp_path, DEPLOYMENT))
    api, worker, chained = template.functions["Api"], template.functions["Worker"], template.functions["Chained"]
    assert (api.auto_publish_alias, api.version_description, api.qualifier) == ("live", "first release", "live")
    assert (api.function_url.auth_type, api.function_url.invoke_mode) == ("NONE", "BUFFERED")
    assert api.function_url.cors == {"AllowOrigins": ["*"], "MaxAge": 60}
    assert worker.dead_letter_target == "arn:aws:sqs:us-east-1:123456789012:DeadLetters"
    settings = worker.event_invoke_config
    assert (settings.maximum_retry_attempts, settings.maximum_event_age_seconds) == (2, 3600)
    assert settings.on_success == "arn:aws:sqs:us-east-1:123456789012:worker-results"
    # No Destination: the topic SAM would create, under SAM's name for it.
    assert settings.on_failure == "arn:aws:sns:us-east-1:123456789012:WorkerEventInvokeConfigOnFailureTopic"
    assert chained.qualifier is None
    assert chained.event_invoke_config.on_success == "arn:aws:lambda:us-east-1:123456789012:function:Worker"
    assert chained.event_invoke_config.on_failure == "arn:aws:events:us-east-1:123456789012:event-bus/local-bus"
    assert template.warnings == []


@pytest.mark.parametrize(
    ("properties", "message"),
    [
        ("AutoPublishAlias: '42'", "AutoPublishAlias '42' is not an alias name"),
        ("FunctionUrlConfig: {AuthType: OPEN}", "FunctionUrlConfig.AuthType must be one of NONE, AWS_IAM"),
        ("FunctionUrlConfig: {AuthType: NONE, InvokeMode: EVENTUALLY}", "FunctionUrlConfig.InvokeMode must be one of"),
        ("EventInvokeConfig: {MaximumRetryAttempts: 5}", "MaximumRetryAttempts 5 is outside 0-2"),
        ("EventInvokeConfig: {DestinationConfig: {OnSuccess: {Type: S3}}}", "'Type: S3' must be one of"),
        ("EventInvokeConfig: {DestinationConfig: {OnFailure: {Type: Lambda}}}", "Destination is required if Type is not [SQS, SNS]"),
        ("DeadLetterQueue: {Type: Kinesis, TargetArn: arn:aws:kinesis:us-east-1:123456789012:stream/s}", "DeadLetterQueue.Type must be SQS or SNS"),
        ("EventInvokeConfig: {DestinationConfig: {OnSuccess: {Type: SQS, Destination: !GetAtt Table.Arn}}}", "cannot be resolved locally"),
    ],
)
def test_invalid_deployment_settings_are_refused_clearly(tmp_path, properties, message):
    path = write_template(tmp_path, f"""
        Resources:
          Fn:
            Type: AWS::Serverless::Function
            Properties:
              CodeUri: src/
              Handler: app.echo
              Runtime: python3.12
              {properties}
          Table:
            Type: AWS::DynamoDB::Table
        """)
    with pytest.raises(TemplateError, match=re.escape(message)):
        load_template(path)


def test_serve_a_template_with_an_alias_a_function_url_and_destinations(start_server, tmp_path):
    server = start_server("--template", str(write_template(tmp_path, DEPLOYMENT)), "--async-delay-scale", "0.01")
    client = server.client()
    server.wait_for_line(lambda line: line == "lamina serve: alias Api:live -> version 1")
    url_line = server.wait_for_line(lambda line: line.startswith("lamina serve: function URL of Api:live (NONE): http://127.0.0.1:"))
    server.wait_for_line(lambda line: line == "lamina serve: async on success of Worker:live -> queue worker-results "
                                              "(lamina queue receive worker-results)")

    # AutoPublishAlias: version 1 published at load, the alias on it.
    assert client.get_alias(FunctionName="Api", Name="live")["FunctionVersion"] == "1"
    assert client.get_function_configuration(FunctionName="Api", Qualifier="1")["Description"] == "first release"
    # FunctionUrlConfig: on the alias, as SAM attaches it.
    url = client.get_function_url_config(FunctionName="Api", Qualifier="live")
    assert url["FunctionArn"] == "arn:aws:lambda:us-east-1:123456789012:function:Api:live"
    assert url_line.endswith(url["FunctionUrl"]) and url["Cors"] == {"AllowOrigins": ["*"], "MaxAge": 60}
    with urllib.request.build_opener(urllib.request.ProxyHandler({})).open(url["FunctionUrl"] + "hello", timeout=60) as answer:
        assert answer.status == 201 and json.loads(answer.read())["version"] == "1"
    # EventInvokeConfig: on the alias too; DeadLetterQueue: the function's (and its versions') configuration.
    settings = client.get_function_event_invoke_config(FunctionName="Worker", Qualifier="live")
    assert (settings["MaximumRetryAttempts"], settings["MaximumEventAgeInSeconds"]) == (2, 3600)
    assert settings["DestinationConfig"]["OnFailure"]["Destination"].endswith(":WorkerEventInvokeConfigOnFailureTopic")
    assert client.get_function_configuration(FunctionName="Worker", Qualifier="live")["DeadLetterConfig"] == {
        "TargetArn": "arn:aws:sqs:us-east-1:123456789012:DeadLetters"}

    attempts = tmp_path / "attempts"
    attempts.mkdir()
    response = client.invoke(FunctionName="Worker", Qualifier="live", InvocationType="Event",
                             Payload=json.dumps({"dir": str(attempts), "succeed_on": 2}).encode())
    [record] = receive_at_least(server.state_dir, "worker-results", 1)
    assert record["requestContext"]["requestId"] == response["ResponseMetadata"]["RequestId"]
    assert record["requestContext"]["functionArn"] == "arn:aws:lambda:us-east-1:123456789012:function:Worker:live"
    assert (record["requestContext"]["approximateInvokeCount"], record["responseContext"]["executedVersion"]) == (2, "1")


def test_a_directory_function_published_at_load_keeps_its_code(start_server, tmp_path):
    path = write_template(tmp_path, """
        Resources:
          Fn:
            Type: AWS::Serverless::Function
            Properties: {CodeUri: src/, Handler: app.version, Runtime: python3.12, AutoPublishAlias: live}
        """)
    server = start_server("--template", str(path))
    source = tmp_path / "src" / "app.py"
    source.write_text(source.read_text().replace('VERSION = "v1"', 'VERSION = "edited"'))
    client = server.client()
    assert invoke_json(client, "Fn")[1] == "edited"  # $LATEST is the directory, in place
    response, answer = invoke_json(client, "Fn", Qualifier="live")
    assert (response["ExecutedVersion"], answer) == ("1", "v1")  # the version is what was loaded


def test_lamina_invoke_runs_latest_without_publishing(tmp_path):
    path = write_template(tmp_path, DEPLOYMENT)
    result = subprocess.run(
        [sys.executable, "-m", "lamina.cli", "invoke", "--template", str(path), "Chained", "--event", '{"hello": 1}'],
        capture_output=True, text=True, timeout=60,
    )
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout) == {"hello": 1}
    assert "Version: $LATEST" in result.stderr
