"""The part of Lambda's control plane that boto3 and AWS CLI users script against: functions
(create, get, list, update code and configuration, delete, reserved concurrency), their
published versions, and layers (publish, get, list, delete), with responses shaped as
botocore's service model expects. Aliases, event invoke configurations and function URLs have
their routes in their own modules (versions.py, event_invoke_configs.py, function_url_api.py)
over the registry kept here.

A published version is an immutable snapshot of $LATEST: its configuration, and its code —
an uploaded zip's extracted files are never changed, so the version shares them; a directory
used in place is copied at publish time, so later edits reach $LATEST only.

Code comes as Lambda takes it, a zip (``Code={"ZipFile": ...}``, ``--zip-file fileb://...``),
or, lamina's addition, as a directory on this machine used in place:
``Code={"S3Bucket": "hot-reload", "S3Key": "/absolute/path"}`` (LocalStack's convention, so
scripts written for it work unchanged). New execution environments see the directory's
current files."""

from __future__ import annotations

import asyncio
import base64
import bisect
import binascii
import dataclasses
import datetime
import json
import logging
import math
import re
import shutil
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Awaitable, Callable

from aiohttp import web

from lamina.local.code import CodePackage, InvalidPackage, directory_package, store_zip, zip_directory
from lamina.local.functions import (
    ACCOUNT_ID,
    DEFAULT_MEMORY_MB,
    DEFAULT_TIMEOUT_SECONDS,
    REGION,
    Alias,
    ConfigurationError,
    FunctionConfig,
    is_version_number,
)
from lamina.local.invoke_api import parse_function_name, read_body
from lamina.local.sam import Template, TemplateLayer
from lamina.local.service_errors import ServiceError, conflict, invalid_parameter, not_found, validation_error

if TYPE_CHECKING:
    from lamina.local.service import LocalLambda

logger = logging.getLogger(__name__)

LATEST = "$LATEST"
DIRECTORY_BUCKET = "hot-reload"  # Code.S3Bucket that makes S3Key a local directory
CREATE_FUNCTION_LIMIT = 69_905_067  # Lambda's request limit: a 50 MB zip, base64-encoded, in JSON
MAX_LAYERS = 5
DEFAULT_ROLE = f"arn:aws:iam::{ACCOUNT_ID}:role/lamina-local"
_FUNCTION_NAME = re.compile(r"[a-zA-Z0-9_-]{1,64}")
_LAYER_NAME = re.compile(r"(?:arn:[a-zA-Z0-9-]+:lambda:[a-zA-Z0-9-]+:\d{12}:layer:)?(?P<name>[a-zA-Z0-9_-]{1,140})")
_LAYER_VERSION_ARN = re.compile(r"arn:[a-zA-Z0-9-]+:lambda:[a-zA-Z0-9-]+:\d{12}:layer:(?P<name>[a-zA-Z0-9_-]+):(?P<version>\d+)")
# Called when a function (qualifier None), a version or an alias is deleted, so that what
# hangs off it (queued events, event invoke configurations, function URLs) goes too.
DeletionListener = Callable[[str, "str | None"], Awaitable[None]]


def _timestamp() -> str:
    """Lambda's timestamp format: 2024-05-01T12:34:56.789+0000."""
    now = datetime.datetime.now(datetime.timezone.utc)
    return now.strftime("%Y-%m-%dT%H:%M:%S.") + f"{now.microsecond // 1000:03d}+0000"


@dataclass
class LayerVersion:
    name: str
    version: int
    content: CodePackage
    description: str = ""
    compatible_runtimes: list[str] = field(default_factory=list)
    compatible_architectures: list[str] = field(default_factory=list)
    license_info: str | None = None
    created: str = field(default_factory=_timestamp)

    @property
    def layer_arn(self) -> str:
        return f"arn:aws:lambda:{REGION}:{ACCOUNT_ID}:layer:{self.name}"

    @property
    def arn(self) -> str:
        return f"{self.layer_arn}:{self.version}"

    def summary(self) -> dict[str, Any]:
        """A LayerVersionsListItem."""
        item: dict[str, Any] = {
            "LayerVersionArn": self.arn,
            "Version": self.version,
            "Description": self.description,
            "CreatedDate": self.created,
            "CompatibleRuntimes": self.compatible_runtimes,
            "CompatibleArchitectures": self.compatible_architectures,
        }
        if self.license_info is not None:
            item["LicenseInfo"] = self.license_info
        return item

    def describe(self, base_url: str) -> dict[str, Any]:
        """A GetLayerVersionResponse / PublishLayerVersionResponse."""
        described = self.summary()
        described.pop("LayerVersionArn")
        described.update(
            Content={
                "Location": f"{base_url}/lamina/code/layers/{self.name}/{self.version}",
                "CodeSha256": self.content.sha256,
                "CodeSize": self.content.size,
            },
            LayerArn=self.layer_arn,
            LayerVersionArn=self.arn,
        )
        return described


@dataclass
class FunctionRecord:
    """A function as the control plane knows it: the configuration the engine runs, plus what
    Lambda reports about it."""

    config: FunctionConfig
    code: CodePackage
    layers: tuple[LayerVersion, ...] = ()
    role: str = DEFAULT_ROLE
    tags: dict[str, str] = field(default_factory=dict)
    last_modified: str = field(default_factory=_timestamp)
    revision_id: str = field(default_factory=lambda: str(uuid.uuid4()))
    dead_letter_target: str | None = None  # DeadLetterConfig.TargetArn
    published_from: str | None = None  # a version: the $LATEST RevisionId it is a snapshot of

    def configuration(self, qualifier: str | None = None) -> dict[str, Any]:
        """A FunctionConfiguration; its FunctionArn qualified as the caller named it (a
        version, $LATEST or an alias), else unqualified."""
        config = self.config
        described: dict[str, Any] = {
            "FunctionName": config.name,
            "FunctionArn": config.arn + (f":{qualifier}" if qualifier else ""),
            "Runtime": config.runtime,
            "Role": self.role,
            "Handler": config.handler,
            "CodeSize": self.code.size,
            "Description": config.description,
            "Timeout": math.ceil(config.timeout_seconds),
            "MemorySize": config.memory_mb,
            "LastModified": self.last_modified,
            "CodeSha256": self.code.sha256,
            "Version": config.version,
            "TracingConfig": {"Mode": "PassThrough"},
            "RevisionId": self.revision_id,
            "State": "Active",
            "LastUpdateStatus": "Successful",
            "PackageType": "Zip",
            "Architectures": [config.architecture],
            "EphemeralStorage": {"Size": 512},
            "SnapStart": {"ApplyOn": "None", "OptimizationStatus": "Off"},
            "LoggingConfig": logging_config(config),
        }
        if config.environment:
            described["Environment"] = {"Variables": dict(config.environment)}
        if self.layers:
            described["Layers"] = [{"Arn": layer.arn, "CodeSize": layer.content.size} for layer in self.layers]
        if self.dead_letter_target:
            described["DeadLetterConfig"] = {"TargetArn": self.dead_letter_target}
        return described


class ControlPlane:
    """Functions and layers, kept in memory; code kept under `storage`."""

    def __init__(self, service: LocalLambda, storage: Path, account_concurrency: int) -> None:
        self.service = service
        self.storage = storage
        self.account_concurrency = account_concurrency
        self.functions: dict[str, FunctionRecord] = {}  # name -> $LATEST
        self.versions: dict[str, dict[str, FunctionRecord]] = {}  # name -> published version number -> snapshot
        self.layers: dict[str, dict[int, LayerVersion]] = {}
        self._last_layer_version: dict[str, int] = {}
        # Lambda never reuses a version number, even after the version or the function is deleted.
        self._last_version: dict[str, int] = {}
        self.deletion_listeners: list[DeletionListener] = []
        self.creation_listeners: list[Callable[[str], None]] = []  # called with the name of each new function
        self._lock = asyncio.Lock()  # serialises changes that span an await (code extraction, snapshots)

    # -- SAM templates ------------------------------------------------------------------------

    async def add_template(self, template: Template, auto_publish: bool = True) -> None:
        """Registers the template's layers (version 1 each) and functions; with
        `auto_publish`, a function's AutoPublishAlias gets a version published now."""
        self._add_template_functions(template)
        if not auto_publish:
            return
        for function in template.functions.values():
            if function.auto_publish_alias is not None:
                version = await self.publish_version(function.name, description=function.version_description)
                self.service.put_alias(
                    Alias(function.name, function.auto_publish_alias, version.config.version, revision_id=str(uuid.uuid4()))
                )

    def _add_template_functions(self, template: Template) -> None:
        published: dict[tuple[str, Path], LayerVersion] = {}

        def publish(layer: TemplateLayer) -> LayerVersion:
            key = (layer.name, layer.content)
            if key not in published:
                published[key] = self._add_layer_version(
                    layer.name, self._local_package(layer.content, f"layers/{layer.name}"),
                    description=layer.description, compatible_runtimes=list(layer.compatible_runtimes),
                )
            return published[key]

        for layer in template.layers.values():
            publish(layer)
        for function in template.functions.values():
            if function.name in self.functions:
                raise ConfigurationError(f"Function {function.name} is defined twice")
            layers = tuple(publish(layer) for layer in function.layers)
            if function.inline_code is not None:
                directory = self._new_code_directory(function.name)
                directory.mkdir(parents=True)
                source = directory / function.inline_code_file
                source.write_text(function.inline_code)
                source.chmod(0o755)
                code = directory_package(directory)
            else:
                assert function.code is not None
                code = self._local_package(function.code, f"functions/{function.name}")
            config = function.to_config(code.path, tuple(layer.content.path for layer in layers))
            config.validate()
            self._put(FunctionRecord(config=config, code=code, layers=layers, dead_letter_target=function.dead_letter_target))

    def _local_package(self, path: Path, storage_name: str) -> CodePackage:
        """A template's directory (used in place) or zip (extracted)."""
        if path.is_dir():
            return directory_package(path)
        try:
            return store_zip(path.read_bytes(), self.storage / storage_name / uuid.uuid4().hex)
        except InvalidPackage as error:
            raise ConfigurationError(f"{path}: {error}") from None

    # -- routes -------------------------------------------------------------------------------

    def routes(self) -> list[web.RouteDef]:
        functions = "/2015-03-31/functions"
        layers = "/2018-10-31/layers"
        return [
            web.post(functions, self.create_function),
            web.get(functions + "/", self.list_functions),
            web.get(functions, self.list_functions),
            web.get(functions + "/{FunctionName}", self.get_function),
            web.get(functions + "/{FunctionName}/configuration", self.get_function_configuration),
            web.put(functions + "/{FunctionName}/code", self.update_function_code),
            web.put(functions + "/{FunctionName}/configuration", self.update_function_configuration),
            web.delete(functions + "/{FunctionName}", self.delete_function),
            web.post(functions + "/{FunctionName}/versions", self.publish_version_route),
            web.get(functions + "/{FunctionName}/versions", self.list_versions_by_function),
            web.put("/2017-10-31/functions/{FunctionName}/concurrency", self.put_function_concurrency),
            web.delete("/2017-10-31/functions/{FunctionName}/concurrency", self.delete_function_concurrency),
            web.get("/2019-09-30/functions/{FunctionName}/concurrency", self.get_function_concurrency),
            web.get("/2016-08-19/account-settings", self.get_account_settings),
            web.get("/2016-08-19/account-settings/", self.get_account_settings),
            web.post(layers + "/{LayerName}/versions", self.publish_layer_version),
            web.get(layers + "/{LayerName}/versions", self.list_layer_versions),
            web.get(layers + "/{LayerName}/versions/{VersionNumber}", self.get_layer_version),
            web.delete(layers + "/{LayerName}/versions/{VersionNumber}", self.delete_layer_version),
            web.get(layers, self.list_layers),  # also GetLayerVersionByArn: ?find=LayerVersion&Arn=
            web.get("/lamina/code/functions/{FunctionName}", self.download_function_code),
            web.get("/lamina/code/layers/{LayerName}/{VersionNumber}", self.download_layer_code),
        ]

    # -- functions ----------------------------------------------------------------------------

    async def create_function(self, request: web.Request) -> web.Response:
        body = await json_body(request, "CreateFunction")
        name = body.get("FunctionName")
        if not isinstance(name, str):
            raise invalid_parameter("FunctionName is required")
        name, _ = parse_function_name(name)
        if not _FUNCTION_NAME.fullmatch(name):
            raise validation_error(name, "functionName", "Member must satisfy regular expression pattern: [a-zA-Z0-9-_]+ and have length at most 64")
        if body.get("PackageType", "Zip") != "Zip":
            raise invalid_parameter("PackageType Image is not supported by lamina: use a Zip function (Handler, Runtime, Code.ZipFile)")
        for required in ("Runtime", "Handler"):
            if not body.get(required):
                raise invalid_parameter(f"{required} is required for functions with the Zip package type")
        if "Code" not in body or not isinstance(body["Code"], dict):
            raise invalid_parameter("Code is required")
        if name in self.functions:
            raise self._exists(name)
        layers = self._resolve_layers(body.get("Layers", []))
        async with self._lock:
            if name in self.functions:
                raise self._exists(name)
            code = await self._receive_code(body["Code"], name)
            config = self._validated(
                FunctionConfig(
                    name=name,
                    handler=str(body["Handler"]),
                    code_dir=code.path,
                    runtime=str(body["Runtime"]),
                    memory_mb=_integer(body, "MemorySize", DEFAULT_MEMORY_MB),
                    timeout_seconds=float(_integer(body, "Timeout", int(DEFAULT_TIMEOUT_SECONDS))),
                    environment=_environment(body),
                    layers=tuple(layer.content.path for layer in layers),
                    architecture=_architecture(body, "x86_64"),
                    description=str(body.get("Description", "")),
                    **_logging_fields(body),
                )
            )
            record = FunctionRecord(
                config=config, code=code, layers=layers, role=str(body.get("Role") or DEFAULT_ROLE), tags=dict(body.get("Tags") or {}),
                dead_letter_target=_dead_letter_target(body),
            )
            self._put(record)
        if body.get("Publish"):
            version = await self.publish_version(name)
            return web.json_response(version.configuration(version.config.version), status=201)
        return web.json_response(record.configuration(), status=201)

    async def list_functions(self, request: web.Request) -> web.Response:
        names = sorted(self.functions)
        marker = request.query.get("Marker")
        # The marker is the name to start from; a function deleted meanwhile does not restart the list.
        start = bisect.bisect_left(names, marker) if marker else 0
        maximum = _query_integer(request, "MaxItems", 50, 1, 10000)
        page = names[start : start + maximum]
        if request.query.get("FunctionVersion") == "ALL":
            listed = [
                record.configuration(record.config.version)
                for name in page
                for record in [self.functions[name], *self.published_versions(name)]
            ]
        elif request.query.get("FunctionVersion") is not None:
            raise validation_error(request.query["FunctionVersion"], "functionVersion", "Member must satisfy enum value set: [ALL]")
        else:
            listed = [self.functions[name].configuration() for name in page]
        answer: dict[str, Any] = {"Functions": listed}
        if start + maximum < len(names):
            answer["NextMarker"] = names[start + maximum]
        return web.json_response(answer)

    async def get_function(self, request: web.Request) -> web.Response:
        record, qualifier = self._resolve(request)
        location = f"{_base_url(request)}/lamina/code/functions/{record.config.name}"
        answer: dict[str, Any] = {
            "Configuration": record.configuration(qualifier),
            "Code": {"RepositoryType": "S3", "Location": location + (f"?Qualifier={qualifier}" if qualifier else "")},
        }
        if record.tags:
            answer["Tags"] = record.tags
        if record.config.reserved_concurrency is not None:
            answer["Concurrency"] = {"ReservedConcurrentExecutions": record.config.reserved_concurrency}
        return web.json_response(answer)

    async def get_function_configuration(self, request: web.Request) -> web.Response:
        record, qualifier = self._resolve(request)
        return web.json_response(record.configuration(qualifier))

    async def update_function_code(self, request: web.Request) -> web.Response:
        body = await json_body(request, "UpdateFunctionCode")
        record = self._record(request)
        _check_revision(record, body)
        code_fields: dict[str, Any] = {key: body[key] for key in ("ZipFile", "S3Bucket", "S3Key", "S3ObjectVersion", "ImageUri") if key in body}
        if not code_fields:
            raise invalid_parameter("Please provide a source for function code.")
        async with self._lock:
            code = await self._receive_code(code_fields, record.config.name)
            config = self._validated(
                dataclasses.replace(record.config, code_dir=code.path, architecture=_architecture(body, record.config.architecture))
            )
            if body.get("DryRun"):
                return web.json_response(record.configuration())
            record = dataclasses.replace(record, config=config, code=code, last_modified=_timestamp(), revision_id=str(uuid.uuid4()))
            self._put(record, new_code=True)
        if body.get("Publish"):
            version = await self.publish_version(record.config.name)
            return web.json_response(version.configuration(version.config.version))
        return web.json_response(record.configuration())

    async def update_function_configuration(self, request: web.Request) -> web.Response:
        body = await json_body(request, "UpdateFunctionConfiguration")
        record = self._record(request)
        _check_revision(record, body)
        config = record.config
        changes: dict[str, Any] = {}
        if "Handler" in body:
            changes["handler"] = str(body["Handler"])
        if "Runtime" in body:
            changes["runtime"] = str(body["Runtime"])
        if "MemorySize" in body:
            changes["memory_mb"] = _integer(body, "MemorySize", config.memory_mb)
        if "Timeout" in body:
            changes["timeout_seconds"] = float(_integer(body, "Timeout", 3))
        if "Environment" in body:
            changes["environment"] = _environment(body)
        if "Description" in body:
            changes["description"] = str(body["Description"])
        if "LoggingConfig" in body:
            changes.update(_logging_fields(body, config))
        layers = record.layers
        if "Layers" in body:
            layers = self._resolve_layers(body["Layers"])
            changes["layers"] = tuple(layer.content.path for layer in layers)
        config = self._validated(dataclasses.replace(config, **changes))
        dead_letter_target = _dead_letter_target(body) if "DeadLetterConfig" in body else record.dead_letter_target
        record = dataclasses.replace(
            record, config=config, layers=layers, role=str(body.get("Role") or record.role),
            last_modified=_timestamp(), revision_id=str(uuid.uuid4()), dead_letter_target=dead_letter_target,
        )
        self._put(record)
        return web.json_response(record.configuration())

    async def delete_function(self, request: web.Request) -> web.Response:
        name, qualifier = parse_function_name(request.match_info["FunctionName"], request.query.get("Qualifier"))
        if qualifier == LATEST:
            raise invalid_parameter("$LATEST version cannot be deleted without deleting the function.")
        if name not in self.functions:
            raise not_found(f"Function not found: {function_arn(name)}")
        if qualifier is None:
            del self.functions[name]
            self.versions.pop(name, None)
            self.service.delete_function(name)  # its aliases too
            await self._deleted(name, None)
            return web.Response(status=204)
        if not is_version_number(qualifier):
            raise invalid_parameter("Deletion of aliases is not supported by DeleteFunction: use DeleteAlias.")
        if qualifier not in self.versions.get(name, {}):
            raise not_found(f"Function not found: {function_arn(name, qualifier)}")
        referencing = [alias.name for alias in self.service.list_aliases(name) if qualifier in alias.versions()]
        if referencing:
            raise conflict(f"Unable to delete version because the following aliases reference it: [{', '.join(referencing)}]")
        del self.versions[name][qualifier]
        self.service.delete_function(name, qualifier)
        await self._deleted(name, qualifier)
        return web.Response(status=204)

    async def put_function_concurrency(self, request: web.Request) -> web.Response:
        body = await json_body(request, "PutFunctionConcurrency")
        record = self._record(request)
        reserved = body.get("ReservedConcurrentExecutions")
        if not isinstance(reserved, int) or isinstance(reserved, bool) or reserved < 0:
            raise validation_error(reserved, "reservedConcurrentExecutions", "Member must have value greater than or equal to 0")
        reserved_elsewhere = sum(
            other.config.reserved_concurrency or 0 for other in self.functions.values() if other is not record
        )
        if reserved + reserved_elsewhere > self.account_concurrency:
            raise invalid_parameter(
                "Specified ReservedConcurrentExecutions for function decreases account's UnreservedConcurrentExecution "
                f"below its minimum value of [0] (the local Lambda serves at most {self.account_concurrency} at once: "
                "lamina serve --concurrency)."
            )
        self._put(dataclasses.replace(record, config=dataclasses.replace(record.config, reserved_concurrency=reserved)))
        return web.json_response({"ReservedConcurrentExecutions": reserved})

    async def delete_function_concurrency(self, request: web.Request) -> web.Response:
        record = self._record(request)
        self._put(dataclasses.replace(record, config=dataclasses.replace(record.config, reserved_concurrency=None)))
        return web.Response(status=204)

    async def get_function_concurrency(self, request: web.Request) -> web.Response:
        reserved = self._record(request).config.reserved_concurrency
        return web.json_response({} if reserved is None else {"ReservedConcurrentExecutions": reserved})

    async def get_account_settings(self, request: web.Request) -> web.Response:
        reserved = sum(record.config.reserved_concurrency or 0 for record in self.functions.values())
        code_size = sum(record.code.size for record in self.functions.values())
        return web.json_response(
            {
                "AccountLimit": {
                    "TotalCodeSize": 80_530_636_800,
                    "CodeSizeUnzipped": 262_144_000,
                    "CodeSizeZipped": 52_428_800,
                    "ConcurrentExecutions": self.account_concurrency,
                    "UnreservedConcurrentExecutions": self.account_concurrency - reserved,
                },
                "AccountUsage": {"TotalCodeSize": code_size, "FunctionCount": len(self.functions)},
            }
        )

    async def download_function_code(self, request: web.Request) -> web.Response:
        record, _ = self._resolve(request)
        if record.code.zip_file is not None:
            data = await asyncio.to_thread(record.code.zip_file.read_bytes)
        else:
            data = await asyncio.to_thread(zip_directory, record.code.path)
        return web.Response(body=data, content_type="application/zip")

    # -- layers -------------------------------------------------------------------------------

    async def publish_layer_version(self, request: web.Request) -> web.Response:
        body = await json_body(request, "PublishLayerVersion")
        name = _layer_name(request.match_info["LayerName"])
        content = body.get("Content")
        if not isinstance(content, dict) or not content:
            raise invalid_parameter("Content is required")
        async with self._lock:
            package = await self._receive_code(content, f"layer {name}", storage_name=f"layers/{name}")
            layer = self._add_layer_version(
                name,
                package,
                description=str(body.get("Description", "")),
                compatible_runtimes=list(body.get("CompatibleRuntimes") or []),
                compatible_architectures=list(body.get("CompatibleArchitectures") or []),
                license_info=body.get("LicenseInfo"),
            )
        return web.json_response(layer.describe(_base_url(request)), status=201)

    async def get_layer_version(self, request: web.Request) -> web.Response:
        layer = self._layer_version(_layer_name(request.match_info["LayerName"]), request.match_info["VersionNumber"])
        return web.json_response(layer.describe(_base_url(request)))

    async def list_layer_versions(self, request: web.Request) -> web.Response:
        name = _layer_name(request.match_info["LayerName"])
        versions = sorted(self.layers.get(name, {}).values(), key=lambda layer: layer.version, reverse=True)
        versions = [layer for layer in versions if _layer_matches(layer, request)]
        return web.json_response(_page(request, [layer.summary() for layer in versions], "LayerVersions", 50))

    async def list_layers(self, request: web.Request) -> web.Response:
        if request.query.get("find") == "LayerVersion":
            arn = request.query.get("Arn", "")
            match = _LAYER_VERSION_ARN.fullmatch(arn)
            if match is None:
                raise validation_error(arn, "arn", "Member must satisfy regular expression pattern: arn:...:layer:NAME:VERSION")
            return web.json_response(self._layer_version(match["name"], match["version"]).describe(_base_url(request)))
        items = []
        for name in sorted(self.layers):
            matching = [layer for layer in self.layers[name].values() if _layer_matches(layer, request)]
            if matching:
                latest = max(matching, key=lambda layer: layer.version)
                items.append({"LayerName": name, "LayerArn": latest.layer_arn, "LatestMatchingVersion": latest.summary()})
        return web.json_response(_page(request, items, "Layers", 50))

    async def delete_layer_version(self, request: web.Request) -> web.Response:
        name = _layer_name(request.match_info["LayerName"])
        # Functions that use the version keep it (as on Lambda); it is only unlisted.
        self.layers.get(name, {}).pop(_version_number(request.match_info["VersionNumber"]), None)
        return web.Response(status=204)

    async def download_layer_code(self, request: web.Request) -> web.Response:
        layer = self._layer_version(request.match_info["LayerName"], request.match_info["VersionNumber"])
        if layer.content.zip_file is not None:
            data = await asyncio.to_thread(layer.content.zip_file.read_bytes)
        else:
            data = await asyncio.to_thread(zip_directory, layer.content.path)
        return web.Response(body=data, content_type="application/zip")

    # -- helpers ------------------------------------------------------------------------------

    def _put(self, record: FunctionRecord, new_code: bool = False) -> None:
        """Hands the configuration to the engine. New code retires the function's environments
        even when the configuration reads the same (a directory updated in place)."""
        name = record.config.name
        if new_code and name in self.functions:
            self.service.delete_function(name, LATEST)  # busy environments finish their invocation first
        self.service.put_function(record.config)
        created = name not in self.functions
        self.functions[name] = record
        if created:
            for listener in self.creation_listeners:
                listener(name)

    def _record(self, request: web.Request) -> FunctionRecord:
        name, qualifier = parse_function_name(request.match_info["FunctionName"], request.query.get("Qualifier"))
        record = self.functions.get(name)
        if record is None or qualifier not in (None, "$LATEST"):
            arn = f"arn:aws:lambda:{REGION}:{ACCOUNT_ID}:function:{name}" + (f":{qualifier}" if qualifier else "")
            raise not_found(f"Function not found: {arn}")
        return record

    def _resolve(self, request: web.Request) -> tuple[FunctionRecord, str | None]:
        """The function, version or alias a request names (GetFunction and the like): its
        record, and the qualifier its ARN is to carry."""
        name, qualifier = parse_function_name(request.match_info["FunctionName"], request.query.get("Qualifier"))
        record = self.record_for(name, qualifier)
        if record is None:
            raise not_found(f"Function not found: {function_arn(name, qualifier)}")
        return record, qualifier

    def record_for(self, name: str, qualifier: str | None) -> FunctionRecord | None:
        """The record of $LATEST (no qualifier, or $LATEST), of a version, or of the version
        an alias points at; None when there is no such function, version or alias."""
        if name not in self.functions:
            return None
        if qualifier is None or qualifier == LATEST:
            return self.functions[name]
        if not is_version_number(qualifier):
            alias = self.service.get_alias(name, qualifier)
            if alias is None:
                return None
            qualifier = alias.function_version
            if qualifier == LATEST:
                return self.functions[name]
        return self.versions.get(name, {}).get(qualifier)

    def published_versions(self, name: str) -> list[FunctionRecord]:
        versions = self.versions.get(name, {})
        return [versions[number] for number in sorted(versions, key=int)]

    def dead_letter_target(self, name: str, qualifier: str | None) -> str | None:
        """The DeadLetterConfig of what an async event was sent to, for the event queue."""
        record = self.record_for(name, qualifier)
        return record.dead_letter_target if record is not None else None

    async def _deleted(self, name: str, qualifier: str | None) -> None:
        for listener in self.deletion_listeners:
            await listener(name, qualifier)

    async def deleted_alias(self, name: str, alias: str) -> None:
        """DeleteAlias: what hangs off the alias goes with it."""
        await self._deleted(name, alias)

    # -- versions -----------------------------------------------------------------------------

    async def publish_version_route(self, request: web.Request) -> web.Response:
        body = await json_body(request, "PublishVersion")
        name, qualifier = parse_function_name(request.match_info["FunctionName"])
        if qualifier is not None:
            raise invalid_parameter(f"PublishVersion takes an unqualified function name, not {request.match_info['FunctionName']}")
        description = body.get("Description")
        if description is not None and not isinstance(description, str):
            raise validation_error(description, "description", "Member must be a string")
        version = await self.publish_version(
            name, description=description, code_sha256=body.get("CodeSha256"), revision_id=body.get("RevisionId")
        )
        return web.json_response(version.configuration(version.config.version), status=201)

    async def list_versions_by_function(self, request: web.Request) -> web.Response:
        name, _ = parse_function_name(request.match_info["FunctionName"])
        if name not in self.functions:
            raise not_found(f"Function not found: {function_arn(name)}")
        records = [self.functions[name], *self.published_versions(name)]
        items = [record.configuration(record.config.version) for record in records]
        return web.json_response(page(request, items, "Versions", 50, 10000))

    async def publish_version(
        self, name: str, description: str | None = None, code_sha256: str | None = None, revision_id: str | None = None
    ) -> FunctionRecord:
        """PublishVersion: a snapshot of $LATEST under the next version number. When $LATEST has
        not changed since the last version was published, that version is returned instead."""
        async with self._lock:
            latest = self.functions.get(name)
            if latest is None:
                raise not_found(f"Function not found: {function_arn(name)}")
            _check_revision(latest, {"RevisionId": revision_id})
            in_place = latest.code.zip_file is None  # a directory, whose files may change
            code = await asyncio.to_thread(directory_package, latest.code.path) if in_place else latest.code
            if code_sha256 and code_sha256 != code.sha256:
                raise invalid_parameter(
                    f"CodeSHA256 ({code_sha256}) is different from current CodeSHA256 in $LATEST ({code.sha256}). "
                    "Please try again with the CodeSHA256 in $LATEST."
                )
            last_number = self._last_version.get(name, 0)
            last = self.versions.get(name, {}).get(str(last_number))
            if last is not None and last.published_from == latest.revision_id and last.code.sha256 == code.sha256:
                return last
            number = str(last_number + 1)
            if in_place:
                snapshot = self.storage / "functions" / name / "versions" / f"{number}-{uuid.uuid4().hex[:8]}"
                await asyncio.to_thread(shutil.copytree, latest.code.path, snapshot, symlinks=True)
                code = dataclasses.replace(code, path=snapshot)
            config = dataclasses.replace(
                latest.config,
                version=number,
                code_dir=code.path,
                environment=dict(latest.config.environment),
                description=latest.config.description if description is None else description,
            )
            try:
                self.service.put_function(config)
            except ConfigurationError as error:
                raise invalid_parameter(str(error)) from None
            self._last_version[name] = last_number + 1
            # Publishing changes $LATEST's RevisionId, as on Lambda.
            latest_revision = str(uuid.uuid4())
            version = FunctionRecord(
                config=config, code=code, layers=latest.layers, role=latest.role, tags=latest.tags,
                dead_letter_target=latest.dead_letter_target, published_from=latest_revision,
            )
            self.versions.setdefault(name, {})[number] = version
            if self.functions.get(name) is latest:
                self.functions[name] = dataclasses.replace(latest, revision_id=latest_revision)
            logger.info("published %s version %s", name, number)
            return version

    @staticmethod
    def _exists(name: str) -> ServiceError:
        return conflict(f"Function already exist: {name}")

    @staticmethod
    def _validated(config: FunctionConfig) -> FunctionConfig:
        try:
            config.validate()
        except ConfigurationError as error:
            raise invalid_parameter(str(error)) from None
        return config

    def _new_code_directory(self, owner: str) -> Path:
        return self.storage / "functions" / owner / uuid.uuid4().hex

    async def _receive_code(self, code: dict[str, Any], owner: str, storage_name: str | None = None) -> CodePackage:
        """A zip (base64 in the JSON body) extracted under storage, or a hot-reload directory."""
        if code.get("ImageUri"):
            raise invalid_parameter("Container images are not supported by lamina: use a zip or a directory")
        if "ZipFile" in code:
            try:
                data = base64.b64decode(code["ZipFile"], validate=True)
            except (binascii.Error, TypeError, ValueError):
                raise invalid_parameter("Could not unzip uploaded file. Please check your file, then try to upload again.") from None
            destination = self.storage / (storage_name or f"functions/{owner}") / uuid.uuid4().hex
            try:
                return await asyncio.to_thread(store_zip, data, destination)
            except InvalidPackage as error:
                shutil.rmtree(destination, ignore_errors=True)
                raise invalid_parameter(str(error)) from None
        bucket, key = code.get("S3Bucket"), code.get("S3Key")
        if bucket == DIRECTORY_BUCKET and isinstance(key, str):
            path = Path(key)
            if not path.is_absolute() or not path.is_dir():
                raise invalid_parameter(
                    f"S3Key {key!r} must be the absolute path of a directory on this machine (S3Bucket {DIRECTORY_BUCKET!r} "
                    "serves a local directory in place)"
                )
            return await asyncio.to_thread(directory_package, path)
        if bucket or key:
            raise invalid_parameter(
                f"lamina cannot read S3: upload the code as ZipFile, or use S3Bucket={DIRECTORY_BUCKET!r} with "
                "S3Key=<absolute path of a local directory>"
            )
        raise invalid_parameter("Please provide a source for function code.")

    def _resolve_layers(self, arns: Any) -> tuple[LayerVersion, ...]:
        if not isinstance(arns, list):
            raise invalid_parameter("Layers must be a list of layer version ARNs")
        if len(arns) > MAX_LAYERS:
            raise invalid_parameter(f"Cannot reference more than {MAX_LAYERS} layers.")
        resolved = []
        for arn in arns:
            match = _LAYER_VERSION_ARN.fullmatch(str(arn))
            layer = self.layers.get(match["name"], {}).get(int(match["version"])) if match else None
            if layer is None:
                raise invalid_parameter(f"Layer version {arn} does not exist.")
            resolved.append(layer)
        return tuple(resolved)

    def _add_layer_version(self, name: str, content: CodePackage, **details: Any) -> LayerVersion:
        version = self._last_layer_version.get(name, 0) + 1
        self._last_layer_version[name] = version
        layer = LayerVersion(name=name, version=version, content=content, **details)
        self.layers.setdefault(name, {})[version] = layer
        return layer

    def _layer_version(self, name: str, version: str) -> LayerVersion:
        layer = self.layers.get(name, {}).get(_version_number(version))
        if layer is None:
            raise not_found("The resource you requested does not exist.")
        return layer

    def function_names(self) -> list[str]:
        return sorted(self.functions)


def function_arn(name: str, qualifier: str | None = None) -> str:
    return f"arn:aws:lambda:{REGION}:{ACCOUNT_ID}:function:{name}" + (f":{qualifier}" if qualifier else "")


def _dead_letter_target(body: dict[str, Any]) -> str | None:
    """DeadLetterConfig.TargetArn: an SQS queue or an SNS topic; empty removes it."""
    settings = body.get("DeadLetterConfig")
    if settings is None:
        return None
    if not isinstance(settings, dict):
        raise invalid_parameter("DeadLetterConfig must be an object")
    target = settings.get("TargetArn") or None
    if target is None:
        return None
    parts = str(target).split(":")
    if len(parts) < 6 or parts[0] != "arn" or parts[2] not in ("sqs", "sns") or not parts[5]:
        raise invalid_parameter(f"The provided target ARN {target} is not an SQS queue or an SNS topic.")
    return str(target)


def page(request: web.Request, items: list[Any], key: str, default_size: int, maximum_size: int) -> dict[str, Any]:
    """Marker/MaxItems paging over a list that does not change between pages much; the
    marker is the index of the next item."""
    marker = request.query.get("Marker")
    start = int(marker) if marker and marker.isdigit() else 0
    size = _query_integer(request, "MaxItems", default_size, 1, maximum_size)
    answer: dict[str, Any] = {key: items[start : start + size]}
    if start + size < len(items):
        answer["NextMarker"] = str(start + size)
    return answer


def _base_url(request: web.Request) -> str:
    return f"{request.scheme}://{request.host}"


async def json_body(request: web.Request, operation: str) -> dict[str, Any]:
    raw = await read_body(request, CREATE_FUNCTION_LIMIT, operation)
    if not raw:
        return {}
    try:
        body = json.loads(raw)
    except ValueError as error:
        raise ServiceError(400, "InvalidRequestContentException", f"Could not parse request body into json: {error}") from None
    if not isinstance(body, dict):
        raise ServiceError(400, "InvalidRequestContentException", "Could not parse request body into json: not an object")
    return body


def _integer(body: dict[str, Any], name: str, default: int) -> int:
    value = body.get(name, default)
    if value is None:
        return default
    if not isinstance(value, int) or isinstance(value, bool):
        raise validation_error(value, name[0].lower() + name[1:], "Member must be an integer")
    return value


def _environment(body: dict[str, Any]) -> dict[str, str]:
    environment = body.get("Environment") or {}
    variables = environment.get("Variables") or {} if isinstance(environment, dict) else None
    if not isinstance(variables, dict):
        raise invalid_parameter("Environment.Variables must be a map of strings")
    return {str(key): str(value) for key, value in variables.items()}


LOG_LEVELS = ("TRACE", "DEBUG", "INFO", "WARN", "ERROR", "FATAL")


def logging_config(config: FunctionConfig) -> dict[str, Any]:
    """The LoggingConfig Lambda reports: levels only with the JSON format, INFO by default."""
    described: dict[str, Any] = {"LogFormat": "JSON" if (config.log_format or "").upper() == "JSON" else "Text"}
    if described["LogFormat"] == "JSON":
        described["ApplicationLogLevel"] = (config.log_level or "INFO").upper()
        described["SystemLogLevel"] = "INFO"
    described["LogGroup"] = f"/aws/lambda/{config.name}"
    return described


def _logging_fields(body: dict[str, Any], current: FunctionConfig | None = None) -> dict[str, Any]:
    """LoggingConfig's LogFormat and ApplicationLogLevel as FunctionConfig fields."""
    logging_settings = body.get("LoggingConfig")
    if logging_settings is None:
        return {}
    if not isinstance(logging_settings, dict):
        raise invalid_parameter("LoggingConfig must be an object")
    log_format = logging_settings.get("LogFormat", current.log_format if current else None)
    if "ApplicationLogLevel" in logging_settings:
        level = logging_settings["ApplicationLogLevel"]
    else:  # kept while the format stays JSON
        level = current.log_level if current is not None and log_format == "JSON" else None
    if log_format is not None and log_format not in ("Text", "JSON"):
        raise validation_error(log_format, "loggingConfig.logFormat", "Member must satisfy enum value set: [Text, JSON]")
    if level is not None and level not in LOG_LEVELS:
        raise validation_error(level, "loggingConfig.applicationLogLevel", f"Member must satisfy enum value set: [{', '.join(LOG_LEVELS)}]")
    if level is not None and log_format != "JSON":
        raise invalid_parameter("ApplicationLogLevel requires LogFormat JSON")
    return {"log_format": log_format, "log_level": level}


def _architecture(body: dict[str, Any], default: str) -> str:
    architectures = body.get("Architectures")
    if architectures is None:
        return default
    if not isinstance(architectures, list) or len(architectures) != 1:
        raise validation_error(architectures, "architectures", "Member must have length less than or equal to 1")
    return str(architectures[0])


def _check_revision(record: FunctionRecord, body: dict[str, Any]) -> None:
    revision = body.get("RevisionId")
    if revision is not None and revision != record.revision_id:
        raise ServiceError(
            412,
            "PreconditionFailedException",
            "The Revision Id provided does not match the latest Revision Id. Call the GetFunction/GetAlias API to "
            "retrieve the latest Revision Id",
        )


def _layer_name(text: str) -> str:
    match = _LAYER_NAME.fullmatch(text)
    if match is None:
        raise validation_error(text, "layerName", "Member must satisfy regular expression pattern: [a-zA-Z0-9-_]+")
    return match["name"]


def _version_number(text: str) -> int:
    try:
        return int(text)
    except ValueError:
        raise validation_error(text, "versionNumber", "Member must be a number") from None


def _layer_matches(layer: LayerVersion, request: web.Request) -> bool:
    runtime = request.query.get("CompatibleRuntime")
    architecture = request.query.get("CompatibleArchitecture")
    return (runtime is None or runtime in layer.compatible_runtimes) and (
        architecture is None or architecture in layer.compatible_architectures
    )


def _query_integer(request: web.Request, name: str, default: int, low: int, high: int) -> int:
    text = request.query.get(name)
    if text is None:
        return default
    try:
        value = int(text)
    except ValueError:
        raise validation_error(text, name[0].lower() + name[1:], "Member must be a number") from None
    if not low <= value <= high:
        raise validation_error(value, name[0].lower() + name[1:], f"Member must be between {low} and {high}")
    return value


def _page(request: web.Request, items: list[dict[str, Any]], key: str, default_size: int) -> dict[str, Any]:
    return page(request, items, key, default_size, 50)

