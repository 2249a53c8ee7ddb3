"""Function aliases as the control plane serves them: CreateAlias, GetAlias, UpdateAlias,
ListAliases and DeleteAlias, with weighted routing (``RoutingConfig.AdditionalVersionWeights``:
a second published version taking a share of the invocations). The aliases themselves live in
the engine (:class:`~lamina.local.service.LocalLambda`), which resolves them on every
invocation; this module checks what Lambda checks and shapes the answers."""

from __future__ import annotations

import math
import re
import uuid
from typing import Any

from aiohttp import web

from lamina.local.control_plane import ControlPlane, function_arn, json_body, page
from lamina.local.functions import Alias, FunctionNotFound, is_version_number
from lamina.local.invoke_api import parse_function_name
from lamina.local.service_errors import ServiceError, conflict, invalid_parameter, not_found, validation_error

LATEST = "$LATEST"
_ALIAS_NAME = re.compile(r"(?!^[0-9]+$)[a-zA-Z0-9-_]{1,128}")
_VERSION = re.compile(r"\$LATEST|[0-9]{1,1024}")


def alias_configuration(alias: Alias) -> dict[str, Any]:
    """An AliasConfiguration."""
    described: dict[str, Any] = {
        "AliasArn": alias.arn,
        "Name": alias.name,
        "FunctionVersion": alias.function_version,
        "Description": alias.description,
        "RevisionId": alias.revision_id,
    }
    if alias.additional_version_weights:
        described["RoutingConfig"] = {"AdditionalVersionWeights": dict(alias.additional_version_weights)}
    return described


class AliasesApi:
    """The alias routes, over a ControlPlane's functions and its engine's aliases."""

    def __init__(self, control_plane: ControlPlane) -> None:
        self.control_plane = control_plane
        self.service = control_plane.service

    def routes(self) -> list[web.RouteDef]:
        aliases = "/2015-03-31/functions/{FunctionName}/aliases"
        return [
            web.post(aliases, self.create_alias),
            web.get(aliases, self.list_aliases),
            web.get(aliases + "/{Name}", self.get_alias),
            web.put(aliases + "/{Name}", self.update_alias),
            web.delete(aliases + "/{Name}", self.delete_alias),
        ]

    async def create_alias(self, request: web.Request) -> web.Response:
        body = await json_body(request, "CreateAlias")
        name = self._function_name(request)
        alias_name = _alias_name(body.get("Name"))
        function_version = _function_version(body.get("FunctionVersion"))
        existing = self.service.get_alias(name, alias_name)
        if existing is not None:
            raise conflict(f"Alias already exists: {existing.arn}")
        alias = Alias(
            function_name=name,
            name=alias_name,
            function_version=function_version,
            additional_version_weights=_weights(body.get("RoutingConfig"), function_version),
            description=_description(body.get("Description")),
            revision_id=str(uuid.uuid4()),
        )
        self._put(alias)
        return web.json_response(alias_configuration(alias), status=201)

    async def get_alias(self, request: web.Request) -> web.Response:
        return web.json_response(alias_configuration(self._alias(request)))

    async def list_aliases(self, request: web.Request) -> web.Response:
        name = self._function_name(request)
        version = request.query.get("FunctionVersion")
        aliases = [alias for alias in self.service.list_aliases(name) if version is None or alias.function_version == version]
        return web.json_response(page(request, [alias_configuration(alias) for alias in aliases], "Aliases", 50, 10000))

    async def update_alias(self, request: web.Request) -> web.Response:
        body = await json_body(request, "UpdateAlias")
        alias = self._alias(request)
        revision = body.get("RevisionId")
        if revision is not None and revision != alias.revision_id:
            raise ServiceError(
                412,
                "PreconditionFailedException",
                "The Revision Id provided does not match the latest Revision Id. Call the GetFunction/GetAlias API to "
                "retrieve the latest Revision Id",
            )
        function_version = alias.function_version
        if body.get("FunctionVersion") is not None:
            function_version = _function_version(body["FunctionVersion"])
        if body.get("RoutingConfig") is not None:
            weights = _weights(body["RoutingConfig"], function_version)
        else:  # kept, and checked again against the version the alias now points at
            weights = _weights({"AdditionalVersionWeights": dict(alias.additional_version_weights)}, function_version)
        updated = Alias(
            function_name=alias.function_name,
            name=alias.name,
            function_version=function_version,
            additional_version_weights=weights,
            description=alias.description if body.get("Description") is None else _description(body["Description"]),
            revision_id=str(uuid.uuid4()),
        )
        self._put(updated)
        return web.json_response(alias_configuration(updated))

    async def delete_alias(self, request: web.Request) -> web.Response:
        name = self._function_name(request)
        alias_name = request.match_info["Name"]
        # Deleting an alias that does not exist succeeds, as on Lambda.
        if self.service.get_alias(name, alias_name) is not None:
            self.service.delete_alias(name, alias_name)
            await self.control_plane.deleted_alias(name, alias_name)
        return web.Response(status=204)

    # -- helpers ------------------------------------------------------------------------------

    def _function_name(self, request: web.Request) -> str:
        name, qualifier = parse_function_name(request.match_info["FunctionName"])
        if qualifier is not None:
            raise invalid_parameter(f"Aliases belong to the unqualified function, not to {request.match_info['FunctionName']}")
        if name not in self.control_plane.functions:
            raise not_found(f"Function not found: {function_arn(name)}")
        return name

    def _alias(self, request: web.Request) -> Alias:
        name = self._function_name(request)
        alias = self.service.get_alias(name, request.match_info["Name"])
        if alias is None:
            raise not_found(f"Cannot find alias arn: {function_arn(name, request.match_info['Name'])}")
        return alias

    def _put(self, alias: Alias) -> None:
        try:
            self.service.put_alias(alias)  # refuses a version that does not exist
        except FunctionNotFound as missing:
            raise not_found(str(missing)) from None


def _alias_name(value: Any) -> str:
    if not isinstance(value, str) or not _ALIAS_NAME.fullmatch(value):
        raise validation_error(
            value, "name", "Member must satisfy regular expression pattern: (?!^[0-9]+$)([a-zA-Z0-9-_]+)"
        )
    return value


def _function_version(value: Any) -> str:
    if not isinstance(value, str) or not _VERSION.fullmatch(value):
        raise validation_error(value, "functionVersion", "Member must satisfy regular expression pattern: (\\$LATEST|[0-9]+)")
    return value


def _description(value: Any) -> str:
    if value is None:
        return ""
    if not isinstance(value, str) or len(value) > 256:
        raise validation_error(value, "description", "Member must have length less than or equal to 256")
    return value


def _weights(routing_config: Any, function_version: str) -> tuple[tuple[str, float], ...]:
    """RoutingConfig.AdditionalVersionWeights, checked as Lambda checks it: at most one other
    published version, a weight in [0, 1), not with $LATEST."""
    if routing_config is None:
        return ()
    if not isinstance(routing_config, dict):
        raise invalid_parameter("RoutingConfig must be an object")
    weights = routing_config.get("AdditionalVersionWeights") or {}
    if not isinstance(weights, dict):
        raise invalid_parameter("RoutingConfig.AdditionalVersionWeights must be a map of version to weight")
    if len(weights) > 1:
        raise invalid_parameter("Number of items in AdditionalVersionWeights cannot be greater than 1")
    checked = []
    for version, weight in weights.items():
        if not isinstance(weight, (int, float)) or isinstance(weight, bool) or not math.isfinite(weight) or not 0.0 <= weight < 1.0:
            raise validation_error(
                f"{{{version}={weight}}}",
                "routingConfig.additionalVersionWeights",
                "Map value must satisfy constraint: [Member must have value less than or equal to 1.0, Member must have "
                "value greater than or equal to 0.0, Member must not be null]",
            )
        if not is_version_number(str(version)):
            raise validation_error(
                f"{{{version}={weight}}}",
                "routingConfig.additionalVersionWeights",
                "Map keys must satisfy constraint: [Member must satisfy regular expression pattern: [0-9]+]",
            )
        if version == function_version:
            raise invalid_parameter(
                f"Invalid function version {function_version}. Function version {function_version} is already included in "
                "routing configuration."
            )
        if function_version == LATEST:
            raise invalid_parameter("$LATEST is not supported for an alias pointing to more than 1 version")
        checked.append((str(version), float(weight)))
    return tuple(checked)
