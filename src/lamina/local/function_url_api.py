"""Function URLs as the control plane serves them — Create/Get/Update/Delete/ListFunctionUrlConfig(s)
on $LATEST or an alias — and the URLs themselves: each one an HTTP server of its own on a
loopback port (``FunctionUrl`` is ``http://127.0.0.1:PORT/``), started when the configuration
is created and stopped when it is deleted, with its function, or with its alias. Requests are
turned into invocations by :func:`lamina.local.function_urls.function_url_app`; AWS_IAM URLs
check SigV4 signatures against the server's configured credentials."""

from __future__ import annotations

import datetime
import logging
import re
from dataclasses import dataclass, field
from typing import Any, Callable

from aiohttp import web

from lamina.local.control_plane import ControlPlane, function_arn, json_body, page
from lamina.local.function_urls import (
    AUTH_TYPES,
    INVOKE_MODES,
    Cors,
    Credentials,
    FunctionUrlConfig,
    InvokeStreaming,
    function_url_app,
)
from lamina.local.functions import REGION, ConfigurationError
from lamina.local.invoke_api import parse_function_name
from lamina.local.sam import Template
from lamina.local.service_errors import ServiceError, conflict, invalid_parameter, not_found, validation_error

logger = logging.getLogger(__name__)

_URL_QUALIFIER = re.compile(r"(?!^\d+$)[0-9a-zA-Z-_]{1,128}")
_CORS_LISTS = {"AllowOrigins": 100, "AllowMethods": 6, "AllowHeaders": 100, "ExposeHeaders": 100}


def _now() -> str:
    """Function URLs' timestamp format: 2024-05-01T12:34:56.789012Z."""
    return datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="microseconds").replace("+00:00", "Z")


@dataclass
class HostedFunctionUrl:
    """One function URL: its configuration and the server answering on its port."""

    function_name: str
    qualifier: str | None  # an alias, or None for $LATEST
    config: FunctionUrlConfig
    cors: dict[str, Any] | None  # the Cors setting as given, as the API reports it
    url: str = ""
    creation_time: str = field(default_factory=_now)
    last_modified_time: str = field(default_factory=_now)
    runner: web.AppRunner | None = None

    @property
    def function_arn(self) -> str:
        return function_arn(self.function_name, self.qualifier)

    def description(self, with_last_modified: bool = True) -> dict[str, Any]:
        """A FunctionUrlConfig (CreateFunctionUrlConfig's answer has no LastModifiedTime)."""
        described: dict[str, Any] = {
            "FunctionUrl": self.url,
            "FunctionArn": self.function_arn,
            "AuthType": self.config.auth_type,
            "CreationTime": self.creation_time,
            "InvokeMode": self.config.invoke_mode,
        }
        if with_last_modified:
            described["LastModifiedTime"] = self.last_modified_time
        if self.cors is not None:
            described["Cors"] = self.cors
        return described


class FunctionUrlApi:
    """The function URL routes and the URLs they create."""

    def __init__(
        self,
        control_plane: ControlPlane,
        host: str,
        credentials: Credentials | None,
        region: str = REGION,
        invoke_streaming: InvokeStreaming | None = None,
        announce: Callable[[str], None] = lambda message: None,
    ) -> None:
        self.control_plane = control_plane
        self.host = host
        self.credentials = credentials
        self.region = region
        self.invoke_streaming = invoke_streaming
        self.announce = announce  # tells the user where a new URL listens
        self.hosted: dict[tuple[str, str | None], HostedFunctionUrl] = {}
        control_plane.deletion_listeners.append(self._deleted)

    def routes(self) -> list[web.RouteDef]:
        path = "/2021-10-31/functions/{FunctionName}"
        return [
            web.post(path + "/url", self.create_url_config),
            web.get(path + "/url", self.get_url_config),
            web.put(path + "/url", self.update_url_config),
            web.delete(path + "/url", self.delete_url_config),
            web.get(path + "/urls", self.list_url_configs),
        ]

    async def apply_template(self, template: Template) -> None:
        """Each function's FunctionUrlConfig, on its alias when it has AutoPublishAlias."""
        for function in template.functions.values():
            settings = function.function_url
            if settings is None:
                continue
            try:
                cors = _cors(settings.cors)
            except ServiceError as error:
                raise ConfigurationError(f"{function.name}: FunctionUrlConfig: {error.message}") from None
            await self._host(function.name, function.qualifier, settings.auth_type, settings.invoke_mode, cors)

    async def stop(self) -> None:
        for hosted in list(self.hosted.values()):
            await self._unhost(hosted)

    # -- routes -------------------------------------------------------------------------------

    async def create_url_config(self, request: web.Request) -> web.Response:
        body = await json_body(request, "CreateFunctionUrlConfig")
        name, qualifier = self._target(request)
        if name not in self.control_plane.functions:
            raise not_found("Function does not exist")
        if qualifier is not None and self.control_plane.service.get_alias(name, qualifier) is None:
            raise not_found("Function does not exist")
        existing = self.hosted.get((name, qualifier))
        if existing is not None:
            raise conflict(
                f"Failed to create function url config for [functionArn = {existing.function_arn}]. Error message:  "
                "FunctionUrlConfig exists for this Lambda function"
            )
        auth_type = _enum(body.get("AuthType"), "authType", AUTH_TYPES)
        invoke_mode = _enum(body.get("InvokeMode", "BUFFERED"), "invokeMode", INVOKE_MODES)
        hosted = await self._host(name, qualifier, auth_type, invoke_mode, _cors(body.get("Cors")))
        return web.json_response(hosted.description(with_last_modified=False), status=201)

    async def get_url_config(self, request: web.Request) -> web.Response:
        return web.json_response(self._hosted(request).description())

    async def update_url_config(self, request: web.Request) -> web.Response:
        body = await json_body(request, "UpdateFunctionUrlConfig")
        hosted = self._hosted(request)
        config = hosted.config
        changes: dict[str, Any] = {}
        if body.get("AuthType") is not None:
            changes["auth_type"] = _enum(body["AuthType"], "authType", AUTH_TYPES)
        if body.get("InvokeMode") is not None:
            changes["invoke_mode"] = _enum(body["InvokeMode"], "invokeMode", INVOKE_MODES)
        if body.get("Cors") is not None:
            hosted.cors = _cors(body["Cors"])
            changes["cors"] = _cors_setting(hosted.cors)
        # The URL's server reads the configuration on each request: the next one sees this.
        hosted.config = FunctionUrlConfig(**{**config.__dict__, **changes})
        hosted.last_modified_time = _now()
        self._warn_without_credentials(hosted)
        return web.json_response(hosted.description())

    async def delete_url_config(self, request: web.Request) -> web.Response:
        await self._unhost(self._hosted(request))
        return web.Response(status=204)

    async def list_url_configs(self, request: web.Request) -> web.Response:
        name, _ = parse_function_name(request.match_info["FunctionName"])
        if name not in self.control_plane.functions:
            raise not_found("Function does not exist")
        items = [hosted.description() for (function, _), hosted in sorted(self.hosted.items(), key=_by_qualifier) if function == name]
        return web.json_response(page(request, items, "FunctionUrlConfigs", 50, 50))

    # -- hosting ------------------------------------------------------------------------------

    async def _host(self, name: str, qualifier: str | None, auth_type: str, invoke_mode: str, cors: dict[str, Any] | None) -> HostedFunctionUrl:
        config = FunctionUrlConfig(name, qualifier, auth_type, invoke_mode, _cors_setting(cors))
        hosted = HostedFunctionUrl(name, qualifier, config, cors)
        application = function_url_app(
            lambda: hosted.config,
            self.control_plane.service.invoke,
            self.invoke_streaming,
            self.credentials,
            self.region,
        )
        runner = web.AppRunner(application, handle_signals=False, access_log=None)
        await runner.setup()
        site = web.TCPSite(runner, self.host, 0)
        try:
            await site.start()
        except OSError:
            await runner.cleanup()
            raise
        port = getattr(site._server, "sockets")[0].getsockname()[1]  # the port the system chose
        host = self.host if ":" not in self.host else f"[{self.host}]"
        hosted.url, hosted.runner = f"http://{host}:{port}/", runner
        self.hosted[(name, qualifier)] = hosted
        self.announce(f"function URL of {name}{':' + qualifier if qualifier else ''} ({auth_type}): {hosted.url}")
        self._warn_without_credentials(hosted)
        return hosted

    async def _unhost(self, hosted: HostedFunctionUrl) -> None:
        self.hosted.pop((hosted.function_name, hosted.qualifier), None)
        if hosted.runner is not None:
            await hosted.runner.cleanup()
            hosted.runner = None

    async def _deleted(self, name: str, qualifier: str | None) -> None:
        """A deleted function takes its URLs with it; a deleted alias, its own."""
        for (function, url_qualifier), hosted in list(self.hosted.items()):
            if function == name and (qualifier is None or url_qualifier == qualifier):
                await self._unhost(hosted)

    def _warn_without_credentials(self, hosted: HostedFunctionUrl) -> None:
        if hosted.config.auth_type == "AWS_IAM" and self.credentials is None:
            self.announce(
                f"warning: {hosted.url} is AWS_IAM but lamina serve has no credentials to check signatures against: "
                "every request is refused (set --access-key-id and --secret-access-key, or AWS_ACCESS_KEY_ID and "
                "AWS_SECRET_ACCESS_KEY)"
            )

    # -- helpers ------------------------------------------------------------------------------

    @staticmethod
    def _target(request: web.Request) -> tuple[str, str | None]:
        name, qualifier = parse_function_name(request.match_info["FunctionName"], request.query.get("Qualifier"))
        if qualifier is not None and not _URL_QUALIFIER.fullmatch(qualifier):
            raise validation_error(
                qualifier, "qualifier", "Member must satisfy regular expression pattern: ((?!^\\d+$)^[0-9a-zA-Z-_]+$)"
            )
        return name, qualifier

    def _hosted(self, request: web.Request) -> HostedFunctionUrl:
        hosted = self.hosted.get(self._target(request))
        if hosted is None:
            raise not_found("The resource you requested does not exist.")
        return hosted


def _by_qualifier(item: tuple[tuple[str, str | None], HostedFunctionUrl]) -> str:
    return item[0][1] or ""


def _enum(value: Any, member: str, allowed: tuple[str, ...]) -> str:
    if value not in allowed:
        raise validation_error(value, member, f"Member must satisfy enum value set: [{', '.join(allowed)}]")
    return str(value)


def _cors(value: Any) -> dict[str, Any] | None:
    """A Cors setting checked against botocore's shape; None when absent."""
    if value is None:
        return None
    if not isinstance(value, dict):
        raise invalid_parameter("Cors must be an object")
    cors: dict[str, Any] = {}
    for key, item in value.items():
        if key in _CORS_LISTS:
            if not isinstance(item, list) or not all(isinstance(entry, str) for entry in item):
                raise invalid_parameter(f"Cors.{key} must be a list of strings")
            if len(item) > _CORS_LISTS[key]:
                raise validation_error(item, f"cors.{key[0].lower()}{key[1:]}", f"Member must have length less than or equal to {_CORS_LISTS[key]}")
            cors[key] = list(item)
        elif key == "MaxAge":
            if not isinstance(item, int) or isinstance(item, bool) or not 0 <= item <= 86400:
                raise validation_error(item, "cors.maxAge", "Member must have value between 0 and 86400")
            cors[key] = item
        elif key == "AllowCredentials":
            if not isinstance(item, bool):
                raise invalid_parameter("Cors.AllowCredentials must be true or false")
            cors[key] = item
        else:
            raise invalid_parameter(f"Cors has no setting {key}")
    return cors


def _cors_setting(cors: dict[str, Any] | None) -> Cors | None:
    """The API's Cors as the URL server applies it (methods compared in upper case)."""
    if cors is None:
        return None
    return Cors(
        allow_origins=tuple(cors.get("AllowOrigins", ())),
        allow_methods=tuple(method.upper() for method in cors.get("AllowMethods", ())),
        allow_headers=tuple(cors.get("AllowHeaders", ())),
        expose_headers=tuple(cors.get("ExposeHeaders", ())),
        max_age=cors.get("MaxAge"),
        allow_credentials=bool(cors.get("AllowCredentials", False)),
    )
