"""Function URLs served by ``lamina serve`` (emulator.md "Function URLs"):
Create/Get/Update/Delete/ListFunctionUrlConfig(s) with boto3 and the AWS CLI, each URL an
HTTP endpoint on a loopback port of its own, requests mapped to payload-2.0 events and
answers back to HTTP, CORS, and AWS_IAM URLs that take botocore-signed requests only."""

from __future__ import annotations

import http.client
import json
import urllib.error
import urllib.parse
import urllib.request

import pytest
from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials
from conftest import create_function

ARN = "arn:aws:lambda:us-east-1:123456789012:function:"
NO_PROXY = urllib.request.build_opener(urllib.request.ProxyHandler({}))


def request(url: str, method: str = "GET", body: bytes | None = None, headers: dict[str, str] | None = None):
    """(status, headers, body) of one HTTP request; error statuses are answers too."""
    try:
        with NO_PROXY.open(urllib.request.Request(url, data=body, method=method, headers=headers or {}), timeout=60) as response:
            return response.status, response.headers, response.read()
    except urllib.error.HTTPError as error:
        return error.code, error.headers, error.read()


def signed(url: str, body: bytes, access_key: str = "testing", secret_key: str = "testing") -> dict[str, str]:
    """The headers botocore's SigV4Auth adds for service lambda, as AWS's own examples sign
    requests to AWS_IAM function URLs."""
    prepared = AWSRequest(method="POST", url=url, data=body, headers={"Content-Type": "application/json"})
    SigV4Auth(Credentials(access_key, secret_key), "lambda", "us-east-1").add_auth(prepared)
    return dict(prepared.headers.items())


def test_create_a_function_url_and_call_it(server, client):
    name = create_function(client, "app.http_echo")
    created = client.create_function_url_config(FunctionName=name, AuthType="NONE")
    assert created["ResponseMetadata"]["HTTPStatusCode"] == 201
    url = created["FunctionUrl"]
    assert url.startswith("http://127.0.0.1:") and url.endswith("/")
    assert (created["FunctionArn"], created["AuthType"], created["InvokeMode"]) == (ARN + name, "NONE", "BUFFERED")
    assert created["CreationTime"].endswith("Z")
    server.wait_for_line(lambda line: line == f"lamina serve: function URL of {name} (NONE): {url}")

    status, headers, body = request(url + "orders/7?expand=items&expand=lines", "POST", b'{"qty": 2}',
                                    {"Content-Type": "application/json", "Cookie": "session=abc"})
    assert status == 201
    assert headers["X-Method"] == "POST"
    assert headers.get_all("Set-Cookie") == ["flavour=oat", "size=large"]
    event = json.loads(body)["event"]
    assert (event["version"], event["routeKey"], event["rawPath"]) == ("2.0", "$default", "/orders/7")
    assert event["queryStringParameters"] == {"expand": "items,lines"}
    assert (event["body"], event["isBase64Encoded"], event["cookies"]) == ('{"qty": 2}', False, ["session=abc"])
    assert event["requestContext"]["http"]["method"] == "POST"
    assert "authorizer" not in event["requestContext"]


def test_answers_that_are_not_http_responses_and_function_errors(client):
    plain = create_function(client, "app.echo")
    url = client.create_function_url_config(FunctionName=plain, AuthType="NONE")["FunctionUrl"]
    status, headers, body = request(url, "POST", b'{"just": "json"}', {"Content-Type": "application/json"})
    # The event itself comes back: any JSON answer is a 200 application/json body.
    assert (status, headers["Content-Type"]) == (200, "application/json")
    assert json.loads(body)["body"] == '{"just": "json"}'

    failing = create_function(client, "app.fails")
    url = client.create_function_url_config(FunctionName=failing, AuthType="NONE")["FunctionUrl"]
    assert request(url)[0] == 502


def test_cors_preflight_and_response_headers(client):
    name = create_function(client, "app.http_echo")
    cors = {"AllowOrigins": ["https://example.com"], "AllowMethods": ["post"], "AllowHeaders": ["x-custom"],
            "ExposeHeaders": ["x-method"], "MaxAge": 300}
    created = client.create_function_url_config(FunctionName=name, AuthType="NONE", Cors=cors)
    assert created["Cors"] == cors
    url = created["FunctionUrl"]

    status, headers, _ = request(url, "OPTIONS", headers={"Origin": "https://example.com", "Access-Control-Request-Method": "POST"})
    assert status == 200
    assert headers["Access-Control-Allow-Origin"] == "https://example.com"
    assert headers["Access-Control-Allow-Methods"] == "POST"
    assert (headers["Access-Control-Allow-Headers"], headers["Access-Control-Max-Age"]) == ("x-custom", "300")
    status, headers, _ = request(url, "OPTIONS", headers={"Origin": "https://elsewhere.example", "Access-Control-Request-Method": "POST"})
    assert "Access-Control-Allow-Origin" not in headers

    status, headers, _ = request(url, "POST", b"{}", {"Origin": "https://example.com"})
    assert (status, headers["Access-Control-Allow-Origin"], headers["Access-Control-Expose-Headers"]) == (201, "https://example.com", "x-method")


def test_aws_iam_urls_take_botocore_signed_requests_only(client):
    name = create_function(client, "app.http_echo")
    url = client.create_function_url_config(FunctionName=name, AuthType="AWS_IAM")["FunctionUrl"]
    body = b'{"signed": true}'

    assert request(url, "POST", body, {"Content-Type": "application/json"})[0] == 403  # unsigned
    assert request(url, "POST", body, signed(url, body, secret_key="wrong"))[0] == 403
    assert request(url, "POST", body, signed(url, body, access_key="someone-else"))[0] == 403
    assert request(url, "POST", b'{"tampered": 1}', signed(url, body))[0] == 403

    status, _, answer = request(url, "POST", body, signed(url, body))
    assert status == 201
    event = json.loads(answer)["event"]
    assert event["requestContext"]["authorizer"]["iam"]["accessKey"] == "testing"
    assert event["body"] == '{"signed": true}'


def test_credentials_given_on_the_command_line(start_server):
    server = start_server("--access-key-id", "AKIALOCAL", "--secret-access-key", "local-secret")
    client = server.client()
    name = create_function(client, "app.http_echo")
    url = client.create_function_url_config(FunctionName=name, AuthType="AWS_IAM")["FunctionUrl"]
    assert request(url, "POST", b"{}", signed(url, b"{}"))[0] == 403  # the environment's testing/testing no longer
    assert request(url, "POST", b"{}", signed(url, b"{}", "AKIALOCAL", "local-secret"))[0] == 201


def test_update_get_list_and_delete(client):
    name = create_function(client, "app.http_echo")
    created = client.create_function_url_config(FunctionName=name, AuthType="NONE")
    url = created["FunctionUrl"]
    with pytest.raises(client.exceptions.ResourceConflictException, match="FunctionUrlConfig exists for this Lambda function"):
        client.create_function_url_config(FunctionName=name, AuthType="NONE")

    updated = client.update_function_url_config(FunctionName=name, AuthType="AWS_IAM", Cors={"AllowOrigins": ["*"]})
    assert (updated["FunctionUrl"], updated["AuthType"], updated["Cors"]) == (url, "AWS_IAM", {"AllowOrigins": ["*"]})
    assert updated["CreationTime"] == created["CreationTime"] and updated["LastModifiedTime"]
    assert request(url, "POST", b"{}")[0] == 403  # the same URL, the new configuration, from the next request

    got = client.get_function_url_config(FunctionName=name)
    assert (got["FunctionUrl"], got["AuthType"], got["InvokeMode"]) == (url, "AWS_IAM", "BUFFERED")
    assert [config["FunctionUrl"] for config in client.list_function_url_configs(FunctionName=name)["FunctionUrlConfigs"]] == [url]

    client.delete_function_url_config(FunctionName=name)
    with pytest.raises(client.exceptions.ResourceNotFoundException, match="The resource you requested does not exist."):
        client.get_function_url_config(FunctionName=name)
    with pytest.raises(urllib.error.URLError):
        NO_PROXY.open(url, timeout=10)  # nothing listens there any more
    assert client.list_function_url_configs(FunctionName=name)["FunctionUrlConfigs"] == []


def test_a_url_on_an_alias_runs_the_aliased_version(client):
    name = create_function(client, "app.http_echo")
    client.publish_version(FunctionName=name)
    client.create_alias(FunctionName=name, Name="live", FunctionVersion="1")
    created = client.create_function_url_config(FunctionName=name, Qualifier="live", AuthType="NONE")
    assert created["FunctionArn"] == f"{ARN}{name}:live"
    latest = client.create_function_url_config(FunctionName=name, AuthType="NONE")
    assert latest["FunctionUrl"] != created["FunctionUrl"]

    assert json.loads(request(created["FunctionUrl"])[2])["version"] == "1"
    assert json.loads(request(latest["FunctionUrl"])[2])["version"] == "$LATEST"
    listed = client.list_function_url_configs(FunctionName=name)["FunctionUrlConfigs"]
    assert sorted(config["FunctionArn"] for config in listed) == [ARN + name, f"{ARN}{name}:live"]

    for qualifier in ("1", "$LATEST"):
        with pytest.raises(client.exceptions.ClientError, match="failed to satisfy constraint") as refused:
            client.create_function_url_config(FunctionName=name, Qualifier=qualifier, AuthType="NONE")
        assert refused.value.response["Error"]["Code"] == "ValidationException"
    with pytest.raises(client.exceptions.ResourceNotFoundException):
        client.create_function_url_config(FunctionName=name, Qualifier="no-such-alias", AuthType="NONE")

    client.delete_alias(FunctionName=name, Name="live")  # its URL goes with it
    with pytest.raises(client.exceptions.ResourceNotFoundException):
        client.get_function_url_config(FunctionName=name, Qualifier="live")
    with pytest.raises(urllib.error.URLError):
        NO_PROXY.open(created["FunctionUrl"], timeout=10)


def test_deleting_the_function_deletes_its_url(client):
    name = create_function(client, "app.http_echo")
    url = client.create_function_url_config(FunctionName=name, AuthType="NONE")["FunctionUrl"]
    client.delete_function(FunctionName=name)
    with pytest.raises(urllib.error.URLError):
        NO_PROXY.open(url, timeout=10)
    with pytest.raises(client.exceptions.ResourceNotFoundException, match="Function does not exist"):
        client.create_function_url_config(FunctionName=name, AuthType="NONE")


def test_response_stream_mode_is_accepted(client):
    """RESPONSE_STREAM URLs answer: relayed as the engine streams the response, or whole where
    the engine has no streaming entry point (the server's seam)."""
    name = create_function(client, "app.http_echo")
    created = client.create_function_url_config(FunctionName=name, AuthType="NONE", InvokeMode="RESPONSE_STREAM")
    assert created["InvokeMode"] == "RESPONSE_STREAM"
    status, _, body = request(created["FunctionUrl"] + "streamed")
    assert status in (200, 201) and '"rawPath": "/streamed"' in body.decode().replace('\\"', '"')
    with pytest.raises(client.exceptions.ClientError, match="Member must satisfy enum value set"):
        client.update_function_url_config(FunctionName=name, InvokeMode="SOMETIMES")


def test_aws_cli_creates_and_reads_a_function_url(server):
    name = create_function(server.client(), "app.http_echo")
    created = json.loads(server.aws("create-function-url-config", "--function-name", name, "--auth-type", "NONE",
                                    "--cors", "AllowOrigins=https://example.com,AllowMethods=GET").stdout)
    assert created["Cors"] == {"AllowOrigins": ["https://example.com"], "AllowMethods": ["GET"]}
    got = json.loads(server.aws("get-function-url-config", "--function-name", name).stdout)
    assert got["FunctionUrl"] == created["FunctionUrl"]
    assert request(created["FunctionUrl"] + "from-cli")[0] == 201
    server.aws("delete-function-url-config", "--function-name", name)


def test_response_stream_url_sends_its_first_bytes_before_the_handler_returns(client, tmp_path):
    name = create_function(client, "streaming.url_gated")
    url = client.create_function_url_config(FunctionName=name, AuthType="NONE", InvokeMode="RESPONSE_STREAM")["FunctionUrl"]
    go = tmp_path / "go"
    address = urllib.parse.urlsplit(url)
    connection = http.client.HTTPConnection(address.hostname, address.port, timeout=60)
    connection.request("GET", "/?" + urllib.parse.urlencode({"go": str(go)}))
    response = connection.getresponse()
    assert (response.status, response.getheader("Content-Type"), response.getheader("Set-Cookie")) == (200, "text/plain", "stream=1")
    # The handler waits for `go` after its first chunk: a buffered relay would never deliver it.
    assert response.read(len(b"first|")) == b"first|"
    go.touch()
    assert response.read() == b"second"
    connection.close()
