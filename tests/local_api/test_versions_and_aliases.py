"""Function versions and aliases (seed: "Lambda function versions", "Lambda function aliases",
"Alias routing configuration"): PublishVersion snapshots code and configuration, version
numbers are never reused, qualifiers name versions and aliases everywhere, and a weighted
alias splits invocations between two versions — through ``lamina serve``, boto3 and the AWS
CLI."""

from __future__ import annotations

import json
import math
import shutil
import threading

import pytest
from conftest import FUNCTIONS, create_function, invoke_json, unique_name, zip_directory

ARN = "arn:aws:lambda:us-east-1:123456789012:function:"


def second_code() -> bytes:
    """The test handlers with VERSION = "v2"."""
    source = (FUNCTIONS / "app.py").read_text().replace('VERSION = "v1"', 'VERSION = "v2"')
    return zip_directory(FUNCTIONS, {"app.py": source})


def two_versions(client) -> str:
    """A function whose version 1 runs VERSION v1 with STAGE=1, and version 2 VERSION v2 with STAGE=2."""
    name = create_function(client, "app.describe", Environment={"Variables": {"STAGE": "1"}})
    client.publish_version(FunctionName=name)
    client.update_function_code(FunctionName=name, ZipFile=second_code())
    client.update_function_configuration(FunctionName=name, Environment={"Variables": {"STAGE": "2"}})
    client.publish_version(FunctionName=name)
    return name


# -- PublishVersion ---------------------------------------------------------------------------


def test_a_published_version_keeps_its_code_and_configuration_after_latest_changes(client):
    name = create_function(client, "app.describe", Environment={"Variables": {"STAGE": "1"}}, Description="the function")
    published = client.publish_version(FunctionName=name, Description="first release")
    assert published["ResponseMetadata"]["HTTPStatusCode"] == 201
    assert (published["Version"], published["FunctionArn"]) == ("1", f"{ARN}{name}:1")
    assert published["Description"] == "first release"
    latest = client.get_function_configuration(FunctionName=name)
    assert published["CodeSha256"] == latest["CodeSha256"] and published["RevisionId"] != latest["RevisionId"]

    client.update_function_code(FunctionName=name, ZipFile=second_code())
    client.update_function_configuration(FunctionName=name, Environment={"Variables": {"STAGE": "2"}})

    _, now = invoke_json(client, name)
    _, then = invoke_json(client, name, Qualifier="1")
    assert (now["code"], now["variable"], now["function_version"]) == ("v2", "2", "$LATEST")
    assert (then["code"], then["variable"], then["function_version"]) == ("v1", "1", "1")
    version = client.get_function_configuration(FunctionName=name, Qualifier="1")
    assert version["Environment"] == {"Variables": {"STAGE": "1"}}
    assert version["CodeSha256"] == published["CodeSha256"] != client.get_function_configuration(FunctionName=name)["CodeSha256"]


def test_a_directory_function_is_copied_when_published(client, tmp_path):
    code = tmp_path / "code"
    shutil.copytree(FUNCTIONS, code)
    name = unique_name()
    client.create_function(
        FunctionName=name, Runtime="python3.12", Role="arn:aws:iam::123456789012:role/test", Handler="app.describe",
        Code={"S3Bucket": "hot-reload", "S3Key": str(code)},
    )
    client.publish_version(FunctionName=name)
    (code / "app.py").write_text((code / "app.py").read_text().replace('VERSION = "v1"', 'VERSION = "edited"'))

    assert invoke_json(client, name)[1]["code"] == "edited"  # the directory is $LATEST's, in place
    assert invoke_json(client, name, Qualifier="1")[1]["code"] == "v1"  # the version has the copy
    # The edit is a change: the next publish makes version 2, with the edited code.
    assert client.publish_version(FunctionName=name)["Version"] == "2"
    assert invoke_json(client, name, Qualifier="2")[1]["code"] == "edited"


def test_publishing_an_unchanged_function_returns_the_last_version(client):
    name = create_function(client)
    first = client.publish_version(FunctionName=name)
    again = client.publish_version(FunctionName=name)
    assert again["Version"] == first["Version"] == "1"
    assert [version["Version"] for version in client.list_versions_by_function(FunctionName=name)["Versions"]] == ["$LATEST", "1"]


def test_publish_checks_code_sha256_and_revision_id(client):
    name = create_function(client)
    latest = client.get_function_configuration(FunctionName=name)
    with pytest.raises(client.exceptions.InvalidParameterValueException, match="is different from current CodeSHA256 in \\$LATEST"):
        client.publish_version(FunctionName=name, CodeSha256="not-the-code")
    with pytest.raises(client.exceptions.PreconditionFailedException):
        client.publish_version(FunctionName=name, RevisionId="stale")
    published = client.publish_version(FunctionName=name, CodeSha256=latest["CodeSha256"], RevisionId=latest["RevisionId"])
    assert published["Version"] == "1"
    # Publishing changed $LATEST's revision: the old one is stale now.
    with pytest.raises(client.exceptions.PreconditionFailedException):
        client.update_function_configuration(FunctionName=name, Timeout=5, RevisionId=latest["RevisionId"])


def test_version_numbers_are_never_reused(client):
    name = create_function(client, Environment={"Variables": {"STEP": "0"}})
    for step in (1, 2):
        client.update_function_configuration(FunctionName=name, Environment={"Variables": {"STEP": str(step)}})
        client.publish_version(FunctionName=name)
    client.delete_function(FunctionName=name, Qualifier="2")
    client.update_function_configuration(FunctionName=name, Environment={"Variables": {"STEP": "3"}})
    assert client.publish_version(FunctionName=name)["Version"] == "3"
    # Not even after the function is deleted and made again (seed: "Lambda never reuses version numbers").
    client.delete_function(FunctionName=name)
    create_function(client, name=name)
    assert client.publish_version(FunctionName=name)["Version"] == "4"


def test_create_function_and_update_code_with_publish(client):
    name = unique_name()
    created = client.create_function(
        FunctionName=name, Runtime="python3.12", Role="arn:aws:iam::123456789012:role/test", Handler="app.version",
        Code={"ZipFile": zip_directory(FUNCTIONS)}, Publish=True,
    )
    assert (created["Version"], created["FunctionArn"]) == ("1", f"{ARN}{name}:1")
    updated = client.update_function_code(FunctionName=name, ZipFile=second_code(), Publish=True)
    assert updated["Version"] == "2"
    assert invoke_json(client, name, Qualifier="1")[1] == "v1"
    assert invoke_json(client, name, Qualifier="2")[1] == "v2"


def test_list_versions_by_function_pages(client):
    name = two_versions(client)
    versions = client.list_versions_by_function(FunctionName=name)["Versions"]
    assert [(version["Version"], version["FunctionArn"]) for version in versions] == [
        ("$LATEST", f"{ARN}{name}:$LATEST"), ("1", f"{ARN}{name}:1"), ("2", f"{ARN}{name}:2"),
    ]
    first = client.list_versions_by_function(FunctionName=name, MaxItems=2)
    rest = client.list_versions_by_function(FunctionName=name, Marker=first["NextMarker"])
    assert [version["Version"] for version in first["Versions"] + rest["Versions"]] == ["$LATEST", "1", "2"]
    assert "NextMarker" not in rest
    paginated = client.get_paginator("list_versions_by_function").paginate(FunctionName=name, PaginationConfig={"PageSize": 1})
    assert [version["Version"] for page in paginated for version in page["Versions"]] == ["$LATEST", "1", "2"]
    everything = client.list_functions(FunctionVersion="ALL")["Functions"]
    assert {function["FunctionArn"] for function in everything if function["FunctionName"] == name} == {
        f"{ARN}{name}:$LATEST", f"{ARN}{name}:1", f"{ARN}{name}:2",
    }


def test_get_function_by_qualifier_name_and_arn(client):
    name = two_versions(client)
    client.create_alias(FunctionName=name, Name="live", FunctionVersion="1")
    for options in ({"FunctionName": name, "Qualifier": "1"}, {"FunctionName": f"{name}:1"}, {"FunctionName": f"{ARN}{name}:1"}):
        configuration = client.get_function(**options)["Configuration"]
        assert (configuration["Version"], configuration["FunctionArn"]) == ("1", f"{ARN}{name}:1")
        assert configuration["Environment"] == {"Variables": {"STAGE": "1"}}
    by_alias = client.get_function_configuration(FunctionName=name, Qualifier="live")
    assert (by_alias["Version"], by_alias["FunctionArn"]) == ("1", f"{ARN}{name}:live")
    code = client.get_function(FunctionName=name, Qualifier="2")["Code"]
    assert code["Location"].endswith("?Qualifier=2")
    for qualifier in ("7", "no-such-alias"):
        with pytest.raises(client.exceptions.ResourceNotFoundException, match=f"Function not found: {ARN}{name}:{qualifier}"):
            client.get_function(FunctionName=name, Qualifier=qualifier)


def test_delete_function_with_a_qualifier_deletes_that_version_only(client):
    name = two_versions(client)
    client.create_alias(FunctionName=name, Name="live", FunctionVersion="2")
    with pytest.raises(client.exceptions.ResourceConflictException, match=r"aliases reference it: \[live\]"):
        client.delete_function(FunctionName=name, Qualifier="2")
    with pytest.raises(client.exceptions.InvalidParameterValueException, match="\\$LATEST version cannot be deleted"):
        client.delete_function(FunctionName=name, Qualifier="$LATEST")
    client.delete_function(FunctionName=name, Qualifier="1")
    with pytest.raises(client.exceptions.ResourceNotFoundException):
        client.invoke(FunctionName=name, Qualifier="1")
    with pytest.raises(client.exceptions.ResourceNotFoundException):
        client.delete_function(FunctionName=name, Qualifier="1")
    assert invoke_json(client, name, Qualifier="live")[1]["code"] == "v2"
    client.delete_function(FunctionName=name)  # the function, its versions and its aliases
    with pytest.raises(client.exceptions.ResourceNotFoundException):
        client.get_alias(FunctionName=name, Name="live")


# -- aliases ----------------------------------------------------------------------------------


def test_alias_lifecycle_with_botocores_shapes(client):
    name = two_versions(client)
    created = client.create_alias(FunctionName=name, Name="live", FunctionVersion="1", Description="production")
    assert created["ResponseMetadata"]["HTTPStatusCode"] == 201
    assert (created["AliasArn"], created["Name"], created["FunctionVersion"], created["Description"]) == (
        f"{ARN}{name}:live", "live", "1", "production",
    )
    assert "RoutingConfig" not in created and created["RevisionId"]
    client.create_alias(FunctionName=name, Name="beta", FunctionVersion="2")
    client.create_alias(FunctionName=name, Name="edge", FunctionVersion="$LATEST")
    with pytest.raises(client.exceptions.ResourceConflictException, match=f"Alias already exists: {ARN}{name}:live"):
        client.create_alias(FunctionName=name, Name="live", FunctionVersion="2")

    assert client.get_alias(FunctionName=name, Name="live")["FunctionVersion"] == "1"
    assert [alias["Name"] for alias in client.list_aliases(FunctionName=name)["Aliases"]] == ["beta", "edge", "live"]
    assert [alias["Name"] for alias in client.list_aliases(FunctionName=name, FunctionVersion="2")["Aliases"]] == ["beta"]

    updated = client.update_alias(FunctionName=name, Name="live", FunctionVersion="2", RevisionId=created["RevisionId"])
    assert updated["FunctionVersion"] == "2" and updated["Description"] == "production"
    with pytest.raises(client.exceptions.PreconditionFailedException):
        client.update_alias(FunctionName=name, Name="live", FunctionVersion="1", RevisionId=created["RevisionId"])
    assert invoke_json(client, name, Qualifier="live")[1]["code"] == "v2"

    client.delete_alias(FunctionName=name, Name="live")
    with pytest.raises(client.exceptions.ResourceNotFoundException, match=f"Cannot find alias arn: {ARN}{name}:live"):
        client.get_alias(FunctionName=name, Name="live")
    with pytest.raises(client.exceptions.ResourceNotFoundException):
        client.invoke(FunctionName=name, Qualifier="live")
    client.delete_alias(FunctionName=name, Name="live")  # again: nothing to delete, no error (as Lambda)


def test_an_alias_to_a_missing_version_is_refused(client):
    name = two_versions(client)
    with pytest.raises(client.exceptions.ResourceNotFoundException, match=f"Function not found: {ARN}{name}:9"):
        client.create_alias(FunctionName=name, Name="live", FunctionVersion="9")
    with pytest.raises(client.exceptions.ResourceNotFoundException, match=f"Function not found: {ARN}{name}:9"):
        client.create_alias(FunctionName=name, Name="live", FunctionVersion="1", RoutingConfig={"AdditionalVersionWeights": {"9": 0.5}})
    client.create_alias(FunctionName=name, Name="live", FunctionVersion="1")
    with pytest.raises(client.exceptions.ResourceNotFoundException, match=f"Function not found: {ARN}{name}:9"):
        client.update_alias(FunctionName=name, Name="live", FunctionVersion="9")
    assert client.get_alias(FunctionName=name, Name="live")["FunctionVersion"] == "1"  # unchanged
    with pytest.raises(client.exceptions.ResourceNotFoundException, match=f"Function not found: {ARN}no-such-function"):
        client.create_alias(FunctionName="no-such-function", Name="live", FunctionVersion="1")


@pytest.mark.parametrize(
    ("function_version", "weights", "error", "message"),
    [
        ("$LATEST", {"1": 0.5}, "InvalidParameterValueException", "\\$LATEST is not supported for an alias pointing to more than 1 version"),
        ("1", {"1": 0.5}, "InvalidParameterValueException", "Function version 1 is already included in routing configuration"),
        ("1", {"2": 0.5, "3": 0.1}, "InvalidParameterValueException", "cannot be greater than 1"),
        ("1", {"2": 1.5}, "ValidationException", "Member must have value less than or equal to 1.0"),
    ],
)
def test_invalid_routing_configurations_are_refused(client, function_version, weights, error, message):
    name = two_versions(client)
    client.publish_version(FunctionName=name)  # the same as version 2: no version 3
    with pytest.raises(client.exceptions.ClientError, match=message) as refused:
        client.create_alias(FunctionName=name, Name="live", FunctionVersion=function_version, RoutingConfig={"AdditionalVersionWeights": weights})
    assert refused.value.response["Error"]["Code"] == error


def test_a_weighted_alias_splits_invocations_between_its_versions(client):
    """400 invocations at weight 0.3: version 2's share is binomial(400, 0.3) — checked within
    5 standard deviations (mean 120, sd 9.2), a bound a correct split misses once in millions
    of runs and a wrong weight (0 or 0.5, say) cannot meet."""
    name = two_versions(client)
    client.create_alias(FunctionName=name, Name="canary", FunctionVersion="1", RoutingConfig={"AdditionalVersionWeights": {"2": 0.3}})
    invocations, weight = 400, 0.3
    ran = {"1": 0, "2": 0}
    for _ in range(invocations):
        response, answer = invoke_json(client, name, Qualifier="canary")
        version = response["ExecutedVersion"]
        ran[version] += 1
        # What ran is the version the header names: its code, its configuration.
        assert (answer["code"], answer["variable"], answer["function_version"]) == ({"1": "v1", "2": "v2"}[version], version, version)
        assert answer["invoked_function_arn"] == f"{ARN}{name}:canary"
    mean, deviation = invocations * weight, math.sqrt(invocations * weight * (1 - weight))
    assert abs(ran["2"] - mean) <= 5 * deviation, ran
    assert ran["1"] + ran["2"] == invocations

    # Weights are changed in place, and cleared with an empty map.
    client.update_alias(FunctionName=name, Name="canary", RoutingConfig={"AdditionalVersionWeights": {}})
    assert "RoutingConfig" not in client.get_alias(FunctionName=name, Name="canary")
    assert {invoke_json(client, name, Qualifier="canary")[0]["ExecutedVersion"] for _ in range(20)} == {"1"}


def test_executed_version_and_the_start_line_follow_the_version_that_ran(server, client):
    name = two_versions(client)
    client.create_alias(FunctionName=name, Name="live", FunctionVersion="2")
    for qualifier, version in (("live", "2"), ("1", "1"), (None, "$LATEST")):
        response, answer = invoke_json(client, name, **({"Qualifier": qualifier} if qualifier else {}))
        request_id = response["ResponseMetadata"]["RequestId"]
        assert response["ExecutedVersion"] == version == answer["function_version"]
        server.wait_for_line(lambda line: line == f"{name} | START RequestId: {request_id} Version: {version}")


def test_qualifiers_by_name_arn_and_parameter_reach_the_same_version(client):
    name = two_versions(client)
    client.create_alias(FunctionName=name, Name="live", FunctionVersion="1")
    for options in (
        {"FunctionName": f"{name}:live"},
        {"FunctionName": f"{ARN}{name}:live"},
        {"FunctionName": f"123456789012:function:{name}:live"},
        {"FunctionName": name, "Qualifier": "live"},
        {"FunctionName": f"{ARN}{name}", "Qualifier": "1"},
        {"FunctionName": f"{name}:1"},
    ):
        response = client.invoke(Payload=b"{}", **options)
        assert response["ExecutedVersion"] == "1"
        assert json.loads(response["Payload"].read())["code"] == "v1"
    with pytest.raises(client.exceptions.InvalidParameterValueException):
        client.invoke(FunctionName=f"{name}:live", Qualifier="1")


def test_reserved_concurrency_is_shared_by_all_versions_of_a_function(server, client):
    name = create_function(client, "app.sleeps", Timeout=30)
    client.publish_version(FunctionName=name)
    client.create_alias(FunctionName=name, Name="live", FunctionVersion="1")
    client.put_function_concurrency(FunctionName=name, ReservedConcurrentExecutions=1)
    start = len(server.lines)
    slow = threading.Thread(target=invoke_json, args=(server.client(), name, {"seconds": 3}), kwargs={"Qualifier": "live"})
    slow.start()
    try:
        server.wait_for_line(lambda line: line.startswith(f"{name} | START RequestId: ") and line.endswith("Version: 1"), start=start)
        for qualifier in ("$LATEST", "1", "live"):
            with pytest.raises(client.exceptions.TooManyRequestsException) as throttled:
                client.invoke(FunctionName=name, Qualifier=qualifier, Payload=b"{}")
            assert throttled.value.response["Reason"] == "ReservedFunctionConcurrentInvocationLimitExceeded"
    finally:
        slow.join()


def test_aws_cli_publishes_and_routes_as_the_seed_shows(server, tmp_path):
    client = server.client()
    name = two_versions(client)
    # The seed's commands but for the names, as the shell passes them (its quotes removed).
    server.aws("create-alias", "--name", "routing-alias", "--function-name", name, "--function-version", "1",
               "--routing-config", "AdditionalVersionWeights={2=0.03}")
    alias = json.loads(server.aws("get-alias", "--function-name", name, "--name", "routing-alias").stdout)
    assert alias["RoutingConfig"] == {"AdditionalVersionWeights": {"2": 0.03}}
    server.aws("update-alias", "--name", "routing-alias", "--function-name", name, "--routing-config", "AdditionalVersionWeights={2=0.05}")
    server.aws("update-alias", "--name", "routing-alias", "--function-name", name, "--function-version", "2",
               "--routing-config", "AdditionalVersionWeights={}")
    alias = json.loads(server.aws("get-alias", "--function-name", name, "--name", "routing-alias").stdout)
    assert alias["FunctionVersion"] == "2" and "RoutingConfig" not in alias
    published = json.loads(server.aws("publish-version", "--function-name", name).stdout)
    assert published["Version"] == "2"  # unchanged since version 2
    output = tmp_path / "out.json"
    invoked = json.loads(server.aws("invoke", "--function-name", name, "--qualifier", "routing-alias", str(output)).stdout)
    assert invoked["ExecutedVersion"] == "2" and json.loads(output.read_text())["code"] == "v2"
    versions = json.loads(server.aws("list-versions-by-function", "--function-name", name).stdout)["Versions"]
    assert [version["Version"] for version in versions] == ["$LATEST", "1", "2"]
    server.aws("delete-alias", "--function-name", name, "--name", "routing-alias")
    server.aws("delete-function", "--function-name", name, "--qualifier", "1")
