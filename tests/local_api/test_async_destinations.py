"""Asynchronous invocation through ``lamina serve`` (emulator.md "Asynchronous invocation"):
boto3 ``invoke(InvocationType="Event")`` in, retries and destinations per the event invoke
configuration, records read back with ``lamina queue receive`` — and a durable queue: a
server killed with SIGKILL loses no event, and no event is lost for what it carries.

Servers here run with ``--async-delay-scale 0.01``: Lambda's one- and two-minute retry delays
take 0.6 s and 1.2 s, its 60 s minimum event age 0.6 s. Nothing is asserted about time."""

from __future__ import annotations

import base64
import json
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest
from conftest import (
    LaminaServer,
    create_function,
    receive_at_least,
    receive_from_queue,
    unique_name,
    write_template,
)

FAST = ("--async-delay-scale", "0.01")
ARN = "arn:aws:lambda:us-east-1:123456789012:function:"


def queue_arn(name: str, service: str = "sqs") -> str:
    return f"arn:aws:{service}:us-east-1:123456789012:{name}"


@pytest.fixture(scope="module")
def fast_server():
    started = LaminaServer(*FAST)
    yield started
    assert started.stop() == 0, "\n".join(started.errors)


@pytest.fixture(scope="module")
def client(fast_server):
    return fast_server.client()


def send_event(client, name: str, event: object, **options) -> str:
    response = client.invoke(FunctionName=name, InvocationType="Event", Payload=json.dumps(event).encode(), **options)
    assert response["StatusCode"] == 202
    return response["ResponseMetadata"]["RequestId"]


def test_an_event_failing_twice_then_succeeding_is_delivered_three_times_and_lands_once(fast_server, client, tmp_path):
    name = create_function(client, "app.fails_until")
    successes, failures = unique_name("successes"), unique_name("failures")
    client.put_function_event_invoke_config(
        FunctionName=name,
        DestinationConfig={"OnSuccess": {"Destination": queue_arn(successes)}, "OnFailure": {"Destination": queue_arn(failures)}},
    )
    request_id = send_event(client, name, {"dir": str(tmp_path), "succeed_on": 3})

    [record] = receive_at_least(fast_server.state_dir, successes, 1)
    assert record["requestContext"] == {
        "requestId": request_id,
        "functionArn": f"{ARN}{name}:$LATEST",
        "condition": "Success",
        "approximateInvokeCount": 3,
    }
    assert record["requestPayload"] == {"dir": str(tmp_path), "succeed_on": 3}
    assert record["responseContext"] == {"statusCode": 200, "executedVersion": "$LATEST"}
    assert record["responsePayload"] == {"attempts": 3}
    # Three deliveries, all of the same invocation (the same request id), and one record only.
    attempts = sorted(tmp_path.glob("attempt-*"))
    assert [path.name for path in attempts] == ["attempt-1", "attempt-2", "attempt-3"]
    assert {path.read_text() for path in attempts} == {request_id}
    assert receive_from_queue(fast_server.state_dir, successes, wait=1) == []
    assert receive_from_queue(fast_server.state_dir, failures) == []
    starts = [line for line in fast_server.lines if line == f"{name} | START RequestId: {request_id} Version: $LATEST"]
    assert len(starts) == 3


def test_retries_exhausted_go_to_the_failure_destination_and_the_dead_letter_queue(fast_server, client):
    name = create_function(client, "app.fails")
    failures, dead_letters = unique_name("failures"), unique_name("dead-letters")
    client.update_function_configuration(FunctionName=name, DeadLetterConfig={"TargetArn": queue_arn(dead_letters, "sns")})
    assert client.get_function_configuration(FunctionName=name)["DeadLetterConfig"] == {"TargetArn": queue_arn(dead_letters, "sns")}
    client.put_function_event_invoke_config(
        FunctionName=name, MaximumRetryAttempts=1, DestinationConfig={"OnFailure": {"Destination": queue_arn(failures)}}
    )
    request_id = send_event(client, name, {"order": 7})

    [record] = receive_at_least(fast_server.state_dir, failures, 1)
    assert record["requestContext"]["requestId"] == request_id
    assert (record["requestContext"]["condition"], record["requestContext"]["approximateInvokeCount"]) == ("RetriesExhausted", 2)
    assert record["responseContext"] == {"statusCode": 200, "executedVersion": "$LATEST", "functionError": "Unhandled"}
    assert record["responsePayload"]["errorType"] == "ValueError"
    # The dead-letter queue gets the event only.
    assert receive_at_least(fast_server.state_dir, dead_letters, 1) == [{"order": 7}]


def test_reserved_concurrency_zero_sends_events_straight_to_the_failure_destination_and_the_dead_letter_queue(fast_server, client):
    name = create_function(client, "app.echo")
    failures, dead_letters = unique_name("failures"), unique_name("dead-letters")
    client.update_function_configuration(FunctionName=name, DeadLetterConfig={"TargetArn": queue_arn(dead_letters)})
    client.put_function_event_invoke_config(FunctionName=name, DestinationConfig={"OnFailure": {"Destination": queue_arn(failures)}})
    client.put_function_concurrency(FunctionName=name, ReservedConcurrentExecutions=0)
    request_id = send_event(client, name, {"n": 1})

    [record] = receive_at_least(fast_server.state_dir, failures, 1)
    assert record["requestContext"]["requestId"] == request_id
    assert record["requestContext"]["approximateInvokeCount"] == 0  # never run, not retried
    assert "responseContext" not in record
    assert receive_at_least(fast_server.state_dir, dead_letters, 1) == [{"n": 1}]
    assert not any(f"START RequestId: {request_id}" in line for line in fast_server.lines)


def test_an_alias_has_its_own_configuration_and_runs_its_version(fast_server, client):
    name = create_function(client, "app.echo")
    client.publish_version(FunctionName=name)
    client.create_alias(FunctionName=name, Name="live", FunctionVersion="1")
    on_alias, on_latest = unique_name("alias-results"), unique_name("latest-results")
    client.put_function_event_invoke_config(FunctionName=name, Qualifier="live", DestinationConfig={"OnSuccess": {"Destination": queue_arn(on_alias)}})
    client.put_function_event_invoke_config(FunctionName=name, DestinationConfig={"OnSuccess": {"Destination": queue_arn(on_latest)}})
    send_event(client, f"{name}:live", {"to": "alias"})
    send_event(client, name, {"to": "latest"})

    [through_alias] = receive_at_least(fast_server.state_dir, on_alias, 1)
    [through_latest] = receive_at_least(fast_server.state_dir, on_latest, 1)
    assert through_alias["requestContext"]["functionArn"] == f"{ARN}{name}:live"
    assert (through_alias["responseContext"]["executedVersion"], through_alias["responsePayload"]) == ("1", {"to": "alias"})
    assert (through_latest["responseContext"]["executedVersion"], through_latest["responsePayload"]) == ("$LATEST", {"to": "latest"})


def test_a_function_destination_is_invoked_with_the_record(fast_server, client, tmp_path):
    records = tmp_path / "records.jsonl"
    destination = create_function(client, "app.records_to_environment_path", Environment={"Variables": {"RECORD_PATH": str(records)}})
    name = create_function(client, "app.echo")
    client.put_function_event_invoke_config(FunctionName=name, DestinationConfig={"OnSuccess": {"Destination": ARN + destination}})
    request_id = send_event(client, name, {"chained": True})
    deadline = time.monotonic() + 60
    while not records.exists() and time.monotonic() < deadline:
        time.sleep(0.1)
    [record] = [json.loads(line) for line in records.read_text().splitlines()]
    assert record["requestContext"]["requestId"] == request_id
    assert record["responsePayload"] == {"chained": True}


def test_an_eventbridge_destination_gets_lambdas_event_with_the_record_as_detail(fast_server, client):
    name = create_function(client, "app.echo")
    bus = unique_name("bus")
    bus_arn = f"arn:aws:events:us-east-1:123456789012:event-bus/{bus}"
    client.put_function_event_invoke_config(FunctionName=name, DestinationConfig={"OnSuccess": {"Destination": bus_arn}})
    request_id = send_event(client, name, {"bus": True})
    [event] = receive_at_least(fast_server.state_dir, bus, 1)
    assert (event["source"], event["detail-type"]) == ("lambda", "Lambda Function Invocation Result - Success")
    assert event["resources"] == [f"{ARN}{name}:$LATEST", bus_arn]
    assert event["detail"]["requestContext"]["requestId"] == request_id


# -- Put/Get/Update/Delete/ListFunctionEventInvokeConfig ----------------------------------------


def test_event_invoke_config_round_trip_with_botocores_shapes(client):
    name = create_function(client)
    client.publish_version(FunctionName=name)
    with pytest.raises(client.exceptions.ResourceNotFoundException, match=f"The function {ARN}{name}:\\$LATEST doesn't have an EventInvokeConfig"):
        client.get_function_event_invoke_config(FunctionName=name)

    put = client.put_function_event_invoke_config(FunctionName=name, MaximumRetryAttempts=0)
    assert put["FunctionArn"] == f"{ARN}{name}:$LATEST"
    assert put["MaximumRetryAttempts"] == 0 and "MaximumEventAgeInSeconds" not in put  # only what was set
    assert put["DestinationConfig"] == {"OnSuccess": {}, "OnFailure": {}}
    assert put["LastModified"].year >= 2024  # a timestamp botocore parsed

    updated = client.update_function_event_invoke_config(
        FunctionName=name, MaximumEventAgeInSeconds=3600, DestinationConfig={"OnFailure": {"Destination": queue_arn("failed")}}
    )
    assert (updated["MaximumRetryAttempts"], updated["MaximumEventAgeInSeconds"]) == (0, 3600)
    assert updated["DestinationConfig"]["OnFailure"] == {"Destination": queue_arn("failed")}
    replaced = client.put_function_event_invoke_config(FunctionName=name, MaximumEventAgeInSeconds=60)
    assert "MaximumRetryAttempts" not in replaced and replaced["DestinationConfig"] == {"OnSuccess": {}, "OnFailure": {}}

    client.put_function_event_invoke_config(FunctionName=name, Qualifier="1", MaximumRetryAttempts=2)
    listed = client.list_function_event_invoke_configs(FunctionName=name)["FunctionEventInvokeConfigs"]
    assert sorted(config["FunctionArn"] for config in listed) == [f"{ARN}{name}:$LATEST", f"{ARN}{name}:1"]
    assert client.get_function_event_invoke_config(FunctionName=name, Qualifier="1")["MaximumRetryAttempts"] == 2

    client.delete_function_event_invoke_config(FunctionName=name, Qualifier="1")
    with pytest.raises(client.exceptions.ResourceNotFoundException):
        client.delete_function_event_invoke_config(FunctionName=name, Qualifier="1")
    with pytest.raises(client.exceptions.ResourceNotFoundException, match="doesn't have an EventInvokeConfig"):
        client.update_function_event_invoke_config(FunctionName=name, Qualifier="1", MaximumRetryAttempts=1)


def test_invalid_event_invoke_configs_are_refused(client):
    name = create_function(client)
    cases = [
        ({}, "InvalidParameterValueException", "You must specify at least one of error handling or destination setting."),
        ({"MaximumRetryAttempts": 3}, "ValidationException", "Member must have value less than or equal to 2"),
        ({"MaximumEventAgeInSeconds": 100000}, "ValidationException", "Member must have value less than or equal to 21600"),
        ({"DestinationConfig": {"OnSuccess": {"Destination": ARN + name}}}, "InvalidParameterValueException",
         "You can't specify the function as a destination for itself."),
        ({"DestinationConfig": {"OnSuccess": {"Destination": ARN + "no-such-function"}}}, "InvalidParameterValueException",
         "The destination ARN .* is invalid."),
        ({"DestinationConfig": {"OnFailure": {"Destination": "arn:aws:s3:::a-bucket"}}}, "InvalidParameterValueException", "is invalid"),
    ]
    for settings, code, message in cases:
        with pytest.raises(client.exceptions.ClientError, match=message) as refused:
            client.put_function_event_invoke_config(FunctionName=name, **settings)
        assert refused.value.response["Error"]["Code"] == code
    with pytest.raises(client.exceptions.ResourceNotFoundException, match="The function doesn't exist."):
        client.put_function_event_invoke_config(FunctionName=name, Qualifier="no-such-alias", MaximumRetryAttempts=1)
    with pytest.raises(client.exceptions.InvalidParameterValueException, match="not an SQS queue or an SNS topic"):
        client.update_function_configuration(FunctionName=name, DeadLetterConfig={"TargetArn": ARN + name})


def test_deleting_a_function_drops_its_queued_events_and_configuration(fast_server, client):
    name = create_function(client, "app.sleeps", Timeout=30)
    client.put_function_concurrency(FunctionName=name, ReservedConcurrentExecutions=1)
    client.put_function_event_invoke_config(FunctionName=name, MaximumRetryAttempts=0)
    for _ in range(3):
        send_event(client, name, {"seconds": 2})
    client.delete_function(FunctionName=name)
    create_function(client, "app.echo", name=name)
    with pytest.raises(client.exceptions.ResourceNotFoundException):
        client.get_function_event_invoke_config(FunctionName=name)
    listing = subprocess.run([sys.executable, "-m", "lamina.cli", "queue", "list", "--state-dir", str(fast_server.state_dir)],
                             capture_output=True, text=True, timeout=60)
    assert f"function {name}:" not in listing.stdout


# -- durability ---------------------------------------------------------------------------------

SLOW_TEMPLATE = """
    Resources:
      Slow:
        Type: AWS::Serverless::Function
        Properties:
          CodeUri: src/
          Handler: app.sleeps
          Runtime: python3.12
          Timeout: 30
          ReservedConcurrentExecutions: 1
          EventInvokeConfig:
            DestinationConfig:
              OnSuccess: {Type: SQS}
    """


def test_killing_lamina_serve_with_sigkill_mid_queue_loses_no_event(tmp_path):
    template = write_template(tmp_path, SLOW_TEMPLATE)
    state_dir = tmp_path / "state"
    arguments = ("--template", str(template), "--state-dir", str(state_dir), *FAST)
    first = LaminaServer(*arguments)
    try:
        client = first.client()
        accepted = {send_event(client, "Slow", {"seconds": 1}) for _ in range(5)}
        first.wait_for_line(lambda line: line.startswith("Slow | START RequestId:"), timeout=30)
    finally:
        first.kill()  # SIGKILL to the server and its runtimes: no shutdown of any kind
    waiting = subprocess.run([sys.executable, "-m", "lamina.cli", "queue", "list", "--state-dir", str(state_dir)],
                             capture_output=True, text=True, timeout=60)
    assert "function Slow:" in waiting.stdout  # still queued on disk

    second = LaminaServer(*arguments)
    try:
        second.wait_for_line(lambda line: "queued in" in line and "are delivered as their functions appear" in line)
        records = receive_at_least(state_dir, "SlowEventInvokeConfigOnSuccessQueue", len(accepted), timeout=120)
        assert {record["requestContext"]["requestId"] for record in records} == accepted
        assert all(record["requestContext"]["condition"] == "Success" for record in records)
    finally:
        assert second.stop() == 0


def test_a_second_server_on_the_same_state_directory_is_refused(fast_server):
    result = subprocess.run(
        [sys.executable, "-m", "lamina.cli", "serve", "--port", "0", "--state-dir", str(fast_server.state_dir)],
        capture_output=True, text=True, timeout=60,
    )
    assert result.returncode == 1
    assert f"the state directory {fast_server.state_dir.resolve()} is in use by another lamina serve (pid {fast_server.process.pid})" in result.stderr


def deep_json_runtime(directory: Path) -> Path:
    """A custom runtime answering every invocation with JSON nested 100,000 deep: valid, but
    too deep for Python's json module to read back."""
    directory.mkdir()
    bootstrap = directory / "bootstrap"
    bootstrap.write_text(f"""#!{sys.executable}
import os, urllib.request
api = "http://" + os.environ["AWS_LAMBDA_RUNTIME_API"] + "/2018-06-01/runtime/invocation/"
opener = urllib.request.build_opener(urllib.request.ProxyHandler({{}}))
while True:
    with opener.open(api + "next") as next_invocation:
        request_id = next_invocation.headers["Lambda-Runtime-Aws-Request-Id"]
        next_invocation.read()
    opener.open(urllib.request.Request(api + request_id + "/response", data=b"[" * 100000 + b"]" * 100000, method="POST")).read()
""")
    bootstrap.chmod(0o755)
    return directory


def test_records_that_cannot_be_written_as_is_still_land(fast_server, client, tmp_path):
    successes = unique_name("successes")
    deep = unique_name("deep")
    client.create_function(
        FunctionName=deep, Runtime="provided.al2023", Role="arn:aws:iam::123456789012:role/test", Handler="unused",
        Code={"S3Bucket": "hot-reload", "S3Key": str(deep_json_runtime(tmp_path / "deep"))},
    )
    large = create_function(client, "app.answers")
    for name in (deep, large):
        client.put_function_event_invoke_config(FunctionName=name, DestinationConfig={"OnSuccess": {"Destination": queue_arn(successes)}})
    deep_id = send_event(client, deep, {})
    large_id = send_event(client, large, {"size": 300_000})  # a record beyond SQS's 256 KB: kept whole

    records = {record["requestContext"]["requestId"]: record for record in receive_at_least(fast_server.state_dir, successes, 2)}
    assert base64.b64decode(records[deep_id]["responsePayload"]) == b"[" * 100000 + b"]" * 100000
    assert records[large_id]["responsePayload"] == "x" * 300_000
    # Each delivered once: the record's trouble did not make the queue run the function again.
    assert sum(f"START RequestId: {deep_id}" in line for line in fast_server.lines) == 1


def test_malformed_and_oversized_events_on_disk_are_delivered_or_routed_to_failure(tmp_path):
    template = write_template(tmp_path, """
        Resources:
          Echo:
            Type: AWS::Serverless::Function
            Properties:
              CodeUri: src/
              Handler: app.echo
              Runtime: python3.12
              EventInvokeConfig:
                MaximumRetryAttempts: 0
                MaximumEventAgeInSeconds: 60
                DestinationConfig:
                  OnSuccess: {Type: SQS}
                  OnFailure: {Type: SQS}
        """)
    state_dir = tmp_path / "state"
    arguments = ("--template", str(template), "--state-dir", str(state_dir), *FAST)
    LaminaServer(*arguments).stop()  # makes the database
    # Events no Invoke API call could have made: not JSON, over the 1 MB async limit, for a
    # function that is not there (any more). Written as the queue writes them.
    odd = {
        "not-json": ("Echo", b"\xff\xfe not json {"),
        "oversized": ("Echo", json.dumps({"blob": "y" * 2_000_000}).encode()),
        "no-function": ("Gone", b"{}"),
    }
    database = sqlite3.connect(state_dir / "async.sqlite3")
    now = time.time()
    with database:
        for request_id, (function, payload) in odd.items():
            database.execute(
                "INSERT INTO events (request_id, function_name, qualifier, payload, enqueued_at, due_at) VALUES (?, ?, NULL, ?, ?, ?)",
                (request_id, function, payload, now, now),
            )
        # The function that is gone had a configuration; its events age out to its failure queue.
        database.execute(
            "INSERT INTO event_invoke_configs VALUES ('Gone', '$LATEST', ?)",
            (json.dumps({"maximum_event_age_seconds": 60, "on_failure": queue_arn("gone-failures")}),),
        )
    database.close()

    server = LaminaServer(*arguments)
    try:
        outcomes = {}
        deadline = time.monotonic() + 90
        while len(outcomes) < 2 and time.monotonic() < deadline:
            for queue in ("EchoEventInvokeConfigOnSuccessQueue", "EchoEventInvokeConfigOnFailureQueue"):
                for record in receive_from_queue(state_dir, queue, wait=1):
                    outcomes[record["requestContext"]["requestId"]] = record
        [gone] = receive_at_least(state_dir, "gone-failures", 1)
    finally:
        assert server.stop() == 0
    assert set(outcomes) == {"not-json", "oversized"}
    # What could not be read as JSON travels as base64 text, byte for byte.
    assert base64.b64decode(outcomes["not-json"]["requestPayload"]) == odd["not-json"][1]
    assert outcomes["oversized"]["requestPayload"] == {"blob": "y" * 2_000_000}
    assert (gone["requestContext"]["requestId"], gone["requestContext"]["condition"]) == ("no-function", "EventAgeExceeded")


# -- lamina queue -------------------------------------------------------------------------------


def test_lamina_queue_receive_prints_json_lines_and_takes_the_messages(fast_server, client):
    name = create_function(client, "app.answers")
    results = unique_name("results")
    client.put_function_event_invoke_config(FunctionName=name, DestinationConfig={"OnSuccess": {"Destination": queue_arn(results)}})
    for number in range(3):
        send_event(client, name, {"answer": number})
    receive_at_least(fast_server.state_dir, results, 0)  # nothing asked, nothing taken
    listing = ""
    deadline = time.monotonic() + 60
    while f"queue {results}: 3 message(s)" not in listing and time.monotonic() < deadline:
        listing = subprocess.run([sys.executable, "-m", "lamina.cli", "queue", "list", "--state-dir", str(fast_server.state_dir)],
                                 capture_output=True, text=True, timeout=60).stdout
        time.sleep(0.2)
    assert f"queue {results}: 3 message(s)" in listing

    command = [sys.executable, "-m", "lamina.cli", "queue", "receive", results, "--state-dir", str(fast_server.state_dir), "--max", "2"]
    first = subprocess.run(command, capture_output=True, text=True, timeout=60)
    second = subprocess.run(command, capture_output=True, text=True, timeout=60)
    lines = first.stdout.splitlines() + second.stdout.splitlines()
    assert len(first.stdout.splitlines()) == 2 and len(lines) == 3
    assert sorted(json.loads(line)["responsePayload"] for line in lines) == [0, 1, 2]
    assert all(line == json.dumps(json.loads(line), separators=(",", ":")) for line in lines)  # one compact document a line


def test_lamina_queue_without_state_is_a_usage_error(tmp_path):
    result = subprocess.run([sys.executable, "-m", "lamina.cli", "queue", "receive", "anything", "--state-dir", str(tmp_path / "none")],
                            capture_output=True, text=True, timeout=60)
    assert result.returncode == 2
    assert "lamina queue: no lamina serve state in" in result.stderr
    assert not (tmp_path / "none").exists()


def test_events_accepted_are_committed_before_the_202(tmp_path):
    """The 202 means the event is on disk: a server killed right after answering still has it
    (the function takes 25 s, so none of them can have finished)."""
    state_dir = tmp_path / "state"
    server = LaminaServer("--state-dir", str(state_dir), *FAST)
    try:
        client = server.client()
        name = create_function(client, "app.sleeps", Timeout=30)
        accepted = {send_event(client, name, {"seconds": 25}) for _ in range(3)}
    finally:
        server.kill()
    database = sqlite3.connect(state_dir / "async.sqlite3")
    stored = {row[0] for row in database.execute("SELECT request_id FROM events WHERE function_name = ?", (name,))}
    database.close()
    assert stored == accepted


def test_a_function_declared_again_starts_without_the_configuration_an_earlier_run_left(tmp_path):
    state_dir = tmp_path / "state"
    configured = write_template(tmp_path / "before", SLOW_TEMPLATE)
    LaminaServer("--template", str(configured), "--state-dir", str(state_dir)).stop()
    unconfigured = write_template(tmp_path / "after", """
        Resources:
          Slow:
            Type: AWS::Serverless::Function
            Properties: {CodeUri: src/, Handler: app.sleeps, Runtime: python3.12}
        """)
    server = LaminaServer("--template", str(unconfigured), "--state-dir", str(state_dir))
    try:
        client = server.client()
        with pytest.raises(client.exceptions.ResourceNotFoundException):
            client.get_function_event_invoke_config(FunctionName="Slow")
    finally:
        assert server.stop() == 0
