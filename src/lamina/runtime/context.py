"""The context object a handler receives, with the same attributes as awslambdaric's.

Compiled by Cython (``context.pxd`` makes these extension types) because one Context is
built per invocation; the same file runs interpreted where Cython is not available.
"""

from __future__ import annotations

import time

from lamina.runtime import logs

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any, Mapping

_W3C_FIELDS = ("traceparent", "tracestate", "baggage")


class CognitoIdentity:
    """The Amazon Cognito identity that authorized the request (mobile SDK invocations)."""

    cognito_identity_id: str | None
    cognito_identity_pool_id: str | None

    def __init__(self, cognito_identity_id: str | None = None, cognito_identity_pool_id: str | None = None) -> None:
        self.cognito_identity_id = cognito_identity_id
        self.cognito_identity_pool_id = cognito_identity_pool_id

    def __repr__(self) -> str:
        return (
            f"CognitoIdentity([cognito_identity_id={self.cognito_identity_id},"
            f"cognito_identity_pool_id={self.cognito_identity_pool_id}])"
        )


class Client:
    """The client application that invoked the function (mobile SDK client context)."""

    installation_id: str | None
    app_title: str | None
    app_version_name: str | None
    app_version_code: str | None
    app_package_name: str | None

    def __init__(
        self,
        installation_id: str | None = None,
        app_title: str | None = None,
        app_version_name: str | None = None,
        app_version_code: str | None = None,
        app_package_name: str | None = None,
    ) -> None:
        self.installation_id = installation_id
        self.app_title = app_title
        self.app_version_name = app_version_name
        self.app_version_code = app_version_code
        self.app_package_name = app_package_name

    def __repr__(self) -> str:
        return (
            f"Client([installation_id={self.installation_id},app_title={self.app_title},"
            f"app_version_name={self.app_version_name},app_version_code={self.app_version_code},"
            f"app_package_name={self.app_package_name}])"
        )


class ClientContext:
    """The client context the caller passed (``X-Amz-Client-Context``)."""

    client: Client | None
    custom: Any
    env: Any

    def __init__(self, client: Client | None = None, custom: Any = None, env: Any = None) -> None:
        self.client = client
        self.custom = custom
        self.env = env

    def __repr__(self) -> str:
        return f"ClientContext([custom={self.custom},env={self.env},client={self.client}])"


class Context:
    """Information about the invocation, the function and the execution environment.

    The runtime builds one per invocation; tests can build their own with keywords.
    ``client_context`` and ``identity`` accept the decoded header JSON (dicts) or the objects.
    """

    aws_request_id: str
    function_name: str | None
    function_version: str | None
    invoked_function_arn: str | None
    memory_limit_in_mb: str | None
    log_group_name: str | None
    log_stream_name: str | None
    client_context: ClientContext | None
    identity: CognitoIdentity
    tenant_id: str | None

    def __init__(
        self,
        aws_request_id: str = "",
        deadline_ms: int = 0,
        invoked_function_arn: str | None = None,
        client_context: ClientContext | Mapping[str, Any] | None = None,
        identity: CognitoIdentity | Mapping[str, Any] | None = None,
        tenant_id: str | None = None,
        function_name: str | None = None,
        function_version: str | None = None,
        memory_limit_in_mb: str | None = None,
        log_group_name: str | None = None,
        log_stream_name: str | None = None,
    ) -> None:
        self.aws_request_id = aws_request_id
        self._deadline_ms = deadline_ms
        self.invoked_function_arn = invoked_function_arn
        self.tenant_id = tenant_id
        self.function_name = function_name
        self.function_version = function_version
        self.memory_limit_in_mb = memory_limit_in_mb
        self.log_group_name = log_group_name
        self.log_stream_name = log_stream_name
        self._w3c = None
        if isinstance(client_context, dict):
            self._w3c = _pop_w3c(client_context)
            client_context = _client_context_from_json(client_context)
        self.client_context = client_context
        if identity is None:
            identity = CognitoIdentity()
        elif isinstance(identity, dict):
            identity = CognitoIdentity(identity.get("cognitoIdentityId"), identity.get("cognitoIdentityPoolId"))
        self.identity = identity

    def get_remaining_time_in_millis(self) -> int:
        """Milliseconds left before the invocation times out; never negative."""
        remaining = self._deadline_ms - int(time.time() * 1000)
        return remaining if remaining > 0 else 0

    def w3c(self) -> dict[str, str]:
        """The W3C trace context (traceparent, tracestate, baggage) the caller sent."""
        return dict(self._w3c) if self._w3c else {}

    def log(self, message: object) -> None:
        """Writes ``message`` to the function's log as is (no level, no newline added)."""
        logs.write(str(message))

    def __repr__(self) -> str:
        # awslambdaric's class name: log lines that print a context read the same on both.
        return (
            f"LambdaContext([aws_request_id={self.aws_request_id},log_group_name={self.log_group_name},"
            f"log_stream_name={self.log_stream_name},function_name={self.function_name},"
            f"memory_limit_in_mb={self.memory_limit_in_mb},function_version={self.function_version},"
            f"invoked_function_arn={self.invoked_function_arn},client_context={self.client_context},"
            f"identity={self.identity},tenant_id={self.tenant_id}])"
        )


def _client_context_from_json(fields: dict) -> ClientContext:
    client = fields.get("client")
    if isinstance(client, dict):
        client = Client(
            client.get("installation_id"),
            client.get("app_title"),
            client.get("app_version_name"),
            client.get("app_version_code"),
            client.get("app_package_name"),
        )
    return ClientContext(client, fields.get("custom"), fields.get("env"))


def _pop_w3c(fields: dict) -> dict | None:
    """Removes ``w3c`` from the client context (awslambdaric hides it there) and keeps its
    allowlisted string fields."""
    raw = fields.pop("w3c", None)
    if not isinstance(raw, dict):
        return None
    return {key: raw[key] for key in _W3C_FIELDS if isinstance(raw.get(key), str)}
