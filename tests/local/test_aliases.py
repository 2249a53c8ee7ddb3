"""Versions and aliases in the engine (seed: "Lambda function aliases"): an alias resolves to
the version it points at, a weighted alias draws one of its two versions per invocation with
its weight, an alias to a missing version is refused, deleting a function takes its aliases."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest

from lamina.local.functions import Alias, FunctionConfig, FunctionNotFound
from lamina.local.service import LocalLambda


def versions(tmp_path: Path) -> LocalLambda:
    """An engine (not started: nothing runs) with function f at $LATEST, 1 and 2."""
    service = LocalLambda()
    latest = FunctionConfig("f", "app.handler", tmp_path)
    for version in ("$LATEST", "1", "2"):
        service.put_function(dataclasses.replace(latest, version=version))
    return service


@pytest.mark.parametrize(("draw", "version"), [(0.0, "2"), (0.2999, "2"), (0.3, "1"), (0.9999, "1")])
def test_a_weighted_alias_gives_each_version_its_share_of_draws(draw, version):
    alias = Alias("f", "canary", "1", additional_version_weights=(("2", 0.3),))
    assert alias.choose_version(draw) == version
    assert alias.versions() == ("1", "2")


def test_an_alias_resolves_to_its_version(tmp_path):
    service = versions(tmp_path)
    service.put_alias(Alias("f", "live", "1", additional_version_weights=(("2", 0.5),)))
    assert service.get_function("f", "live").version == "1"  # the main version, whatever the weights
    assert service.get_function("f:live").version == "1"
    assert {service.choose_version("f", "live").version for _ in range(200)} == {"1", "2"}
    assert service.choose_version("f", "2").version == "2"
    with pytest.raises(FunctionNotFound, match="function:f:nope"):
        service.choose_version("f", "nope")


def test_an_alias_to_a_missing_version_is_refused(tmp_path):
    service = versions(tmp_path)
    with pytest.raises(FunctionNotFound, match="function:f:9"):
        service.put_alias(Alias("f", "live", "9"))
    with pytest.raises(FunctionNotFound, match="function:f:9"):
        service.put_alias(Alias("f", "live", "1", additional_version_weights=(("9", 0.1),)))
    assert service.get_alias("f", "live") is None


def test_deleting_a_function_deletes_its_aliases_and_a_version_only_that_version(tmp_path):
    service = versions(tmp_path)
    service.put_alias(Alias("f", "live", "1"))
    service.delete_function("f", "2")
    assert [config.version for config in service.list_versions("f")] == ["1", "$LATEST"]
    assert service.get_alias("f", "live") is not None
    service.delete_function("f")
    assert service.list_aliases("f") == []
