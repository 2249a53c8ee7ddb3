"""lamina.Context as a user's tests build it (runtime.md section 4)."""

import time

import lamina
from lamina.runtime import context as context_module


def test_context_is_compiled_by_cython():
    assert context_module.__file__.endswith(".so")
    assert not hasattr(lamina.Context(), "__dict__")


def test_context_built_with_keywords():
    context = lamina.Context(
        aws_request_id="r-1",
        deadline_ms=int(time.time() * 1000) + 10_000,
        function_name="orders",
        memory_limit_in_mb="512",
    )
    assert context.aws_request_id == "r-1"
    assert context.function_name == "orders"
    assert 9_000 < context.get_remaining_time_in_millis() <= 10_000
    assert context.identity.cognito_identity_id is None
    assert context.client_context is None


def test_client_context_from_header_json_hides_w3c_fields():
    header = {
        "client": {"app_title": "Shop"},
        "custom": {"a": 1},
        "env": None,
        "w3c": {"traceparent": "00-abc-def-01", "tracestate": 7, "other": "dropped"},
    }
    context = lamina.Context("r-1", client_context=header)
    assert context.client_context.client.app_title == "Shop"
    assert context.client_context.client.installation_id is None
    assert context.client_context.custom == {"a": 1}
    assert context.w3c() == {"traceparent": "00-abc-def-01"}
    assert "w3c" not in header


def test_identity_from_header_json():
    context = lamina.Context("r-1", identity={"cognitoIdentityId": "id", "cognitoIdentityPoolId": "pool"})
    assert (context.identity.cognito_identity_id, context.identity.cognito_identity_pool_id) == ("id", "pool")


def test_attributes_are_writable_like_awslambdaric():
    context = lamina.Context("r-1")
    context.function_name = "patched"
    assert context.function_name == "patched"


def test_repr_names_every_field():
    text = repr(lamina.Context("r-1", tenant_id="t"))
    assert text.startswith("LambdaContext([aws_request_id=r-1,") and text.endswith("tenant_id=t])")
    assert "identity=CognitoIdentity([cognito_identity_id=None,cognito_identity_pool_id=None])" in text
