"""SAM templates (the ``template.yaml`` users already have): ``AWS::Serverless::Function`` and
``AWS::Serverless::LayerVersion`` resources, ``Globals.Function``, and the CloudFormation
intrinsic functions whose values are known locally (parameters and their defaults, pseudo
parameters, ``!Sub``, ``!Join``, ``!If`` and conditions, ``!FindInMap``, ``!Ref``/``!GetAtt``
to the template's own functions, layers, SQS queues, SNS topics and EventBridge buses). A
function is served under its logical id.

A function's ``AutoPublishAlias`` publishes a version when the template is loaded and points
the alias at it; ``FunctionUrlConfig`` and ``EventInvokeConfig`` then apply to that alias (as
SAM attaches them), else to $LATEST. ``EventInvokeConfig`` destinations of Type SQS or SNS
without a Destination get the queue or topic SAM would create, named as SAM names it
(``<Function>EventInvokeConfigOnSuccessQueue``, ``...OnFailureTopic``): locally, a queue that
``lamina queue receive`` reads.

What cannot be known locally (``!ImportValue``, ``!GetAtt`` of a table, SSM parameters, ...)
is an error where the function cannot run without it (Handler, Runtime, CodeUri, ...) and a
warning elsewhere: an environment variable whose value is unknown is left unset, unless given
in an environment file (``--env-vars``, SAM CLI's format)."""

from __future__ import annotations

import base64
import json
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Mapping

import yaml

from lamina.local.functions import (
    ACCOUNT_ID,
    DEFAULT_MEMORY_MB,
    DEFAULT_TIMEOUT_SECONDS,
    REGION,
    ConfigurationError,
    FunctionConfig,
)
from lamina.local.function_urls import AUTH_TYPES, INVOKE_MODES

FUNCTION_TYPE = "AWS::Serverless::Function"
LAYER_TYPE = "AWS::Serverless::LayerVersion"
QUEUE_TYPE = "AWS::SQS::Queue"
TOPIC_TYPE = "AWS::SNS::Topic"
EVENT_BUS_TYPE = "AWS::Events::EventBus"
STACK_NAME = "lamina-local"
DESTINATION_TYPES = ("SQS", "SNS", "EventBridge", "Lambda")  # EventInvokeConfig's, as SAM accepts them
_ALIAS_NAME = re.compile(r"(?!^[0-9]+$)[a-zA-Z0-9-_]{1,128}")

# Properties that change how a function is reached or retried, which lamina does not do yet:
# the function is served without them, and the user is told.
_IGNORED_WITH_WARNING = {
    "DeploymentPreference": "gradual deployments are not simulated; the alias points at the new version at once",
    "FileSystemConfigs": "EFS file systems are not mounted",
    "SnapStart": "SnapStart is not simulated; the function starts on demand",
}


class TemplateError(ValueError):
    """A template lamina cannot serve; the message names the resource and the property."""


class _Unresolvable(Exception):
    """A value only CloudFormation knows; the message says which intrinsic produced it."""


_NO_VALUE = object()  # AWS::NoValue: the property is removed


@dataclass(frozen=True)
class TemplateLayer:
    """An ``AWS::Serverless::LayerVersion`` (or a layer given as a local path)."""

    logical_id: str
    name: str  # LayerName, or the logical id
    content: Path  # a directory or a zip
    description: str = ""
    compatible_runtimes: tuple[str, ...] = ()

    @property
    def arn(self) -> str:
        """The layer version ARN a ``!Ref`` to it gives (its first and only version)."""
        return f"arn:aws:lambda:{REGION}:{ACCOUNT_ID}:layer:{self.name}:1"


@dataclass(frozen=True)
class TemplateFunctionUrl:
    """A function's ``FunctionUrlConfig``."""

    auth_type: str
    invoke_mode: str = "BUFFERED"
    cors: dict[str, Any] | None = None  # CreateFunctionUrlConfig's Cors, as written


@dataclass(frozen=True)
class TemplateEventInvokeConfig:
    """A function's ``EventInvokeConfig``, destinations resolved to ARNs."""

    maximum_retry_attempts: int | None = None
    maximum_event_age_seconds: int | None = None
    on_success: str | None = None
    on_failure: str | None = None


@dataclass(frozen=True)
class TemplateFunction:
    """An ``AWS::Serverless::Function`` with its Globals applied and its intrinsics resolved."""

    name: str
    handler: str
    runtime: str
    code: Path | None  # a directory or a zip; None with inline code
    inline_code: str | None = None
    memory_mb: int = DEFAULT_MEMORY_MB
    timeout_seconds: float = DEFAULT_TIMEOUT_SECONDS
    environment: dict[str, str] = field(default_factory=dict)
    layers: tuple[TemplateLayer, ...] = ()
    architecture: str = "x86_64"
    description: str = ""
    reserved_concurrency: int | None = None
    log_format: str | None = None  # LoggingConfig.LogFormat
    log_level: str | None = None  # LoggingConfig.ApplicationLogLevel
    auto_publish_alias: str | None = None  # AutoPublishAlias
    version_description: str | None = None  # VersionDescription
    dead_letter_target: str | None = None  # DeadLetterQueue.TargetArn
    event_invoke_config: TemplateEventInvokeConfig | None = None
    function_url: TemplateFunctionUrl | None = None

    @property
    def qualifier(self) -> str | None:
        """Where SAM attaches the function URL and the event invoke configuration: the alias
        when there is one, else $LATEST (None)."""
        return self.auto_publish_alias

    def to_config(self, code_dir: Path, layers: tuple[Path, ...] | None = None) -> FunctionConfig:
        """The function's configuration once its code is in `code_dir` (a zip extracted, or
        the inline code written out)."""
        return FunctionConfig(
            name=self.name,
            handler=self.handler,
            code_dir=code_dir,
            runtime=self.runtime,
            memory_mb=self.memory_mb,
            timeout_seconds=self.timeout_seconds,
            environment=dict(self.environment),
            layers=tuple(layer.content for layer in self.layers) if layers is None else layers,
            architecture=self.architecture,
            description=self.description,
            reserved_concurrency=self.reserved_concurrency,
            log_format=self.log_format,
            log_level=self.log_level,
        )

    @property
    def inline_code_file(self) -> str:
        """Where Lambda puts inline code: ``index.py`` for Python, ``bootstrap`` otherwise."""
        return "index.py" if self.runtime.startswith("python") else "bootstrap"


@dataclass
class Template:
    path: Path
    functions: dict[str, TemplateFunction]
    layers: dict[str, TemplateLayer]
    warnings: list[str]


def load_template(
    path: Path,
    parameters: Mapping[str, str] | None = None,
    environment_overrides: Mapping[str, Mapping[str, str]] | None = None,
) -> Template:
    """Reads a SAM template. `parameters` override the template's parameter defaults;
    `environment_overrides` is SAM CLI's environment file: ``{"LogicalId": {"VAR": "value"},
    "Parameters": {"VAR": "value"}}`` (``Parameters`` applies to every function)."""
    path = Path(path)
    try:
        document = yaml.load(path.read_text(), Loader=_TemplateLoader)  # noqa: S506 - a SafeLoader
    except OSError as error:
        raise TemplateError(f"Cannot read the template {path}: {error.strerror}") from error
    except yaml.YAMLError as error:
        raise TemplateError(f"{path} is not valid YAML: {error}") from error
    if not isinstance(document, dict) or not isinstance(document.get("Resources"), dict):
        raise TemplateError(f"{path} has no Resources section: is it a SAM template?")
    return _TemplateReader(path, document, dict(parameters or {}), environment_overrides or {}).read()


class _TemplateLoader(getattr(yaml, "CSafeLoader", yaml.SafeLoader)):  # type: ignore[misc]
    """A safe loader that reads CloudFormation's short forms (``!Ref X``, ``!Sub "..."``,
    ``!GetAtt A.B``, ...) as the long forms (``{"Ref": "X"}``, ``{"Fn::Sub": "..."}``)."""


def _construct_short_form(loader: yaml.SafeLoader, suffix: str, node: yaml.Node) -> dict[str, Any]:
    value: Any
    if isinstance(node, yaml.ScalarNode):
        value = loader.construct_scalar(node)
    elif isinstance(node, yaml.SequenceNode):
        value = loader.construct_sequence(node, deep=True)
    else:
        value = loader.construct_mapping(node, deep=True)
    if suffix in ("Ref", "Condition"):
        return {suffix: value}
    if suffix == "GetAtt" and isinstance(value, str):
        value = value.split(".", 1)
    return {f"Fn::{suffix}": value}


_TemplateLoader.add_multi_constructor("!", _construct_short_form)


def _is_intrinsic(value: Any) -> bool:
    return isinstance(value, dict) and len(value) == 1 and next(iter(value)) in _INTRINSICS


_INTRINSICS = frozenset(
    {"Ref", "Condition"}
    | {
        f"Fn::{name}"
        for name in (
            "Sub Join Select Split If Equals Not And Or FindInMap Base64 GetAtt ImportValue GetAZs Cidr "
            "Transform Length ToJsonString"
        ).split()
    }
)


class _TemplateReader:
    def __init__(
        self,
        path: Path,
        document: dict[str, Any],
        parameters: dict[str, str],
        environment_overrides: Mapping[str, Mapping[str, str]],
    ) -> None:
        self.path = path
        self.directory = path.resolve().parent
        self.resources: dict[str, Any] = document["Resources"]
        self.mappings: dict[str, Any] = document.get("Mappings") or {}
        self.condition_definitions: dict[str, Any] = document.get("Conditions") or {}
        self.conditions: dict[str, bool] = {}
        self.globals: dict[str, Any] = (document.get("Globals") or {}).get("Function") or {}
        self.environment_overrides = environment_overrides
        self.warnings: list[str] = []
        self.parameters = self._parameter_values(document.get("Parameters") or {}, parameters)
        self.layers: dict[str, TemplateLayer] = {}
        self.layers_by_arn: dict[str, TemplateLayer] = {}

    # -- parameters ---------------------------------------------------------------------------

    def _parameter_values(self, declared: dict[str, Any], overrides: dict[str, str]) -> dict[str, Any]:
        unknown = sorted(set(overrides) - set(declared))
        if unknown:
            raise TemplateError(f"Parameter {', '.join(unknown)} is not declared in {self.path.name}")
        values: dict[str, Any] = {}
        for name, declaration in declared.items():
            declaration = declaration or {}
            kind = str(declaration.get("Type", "String"))
            if name in overrides:
                value: Any = overrides[name]
                allowed = declaration.get("AllowedValues")
                if allowed and value not in [str(option) for option in allowed]:
                    raise TemplateError(f"Parameter {name}={value!r} is not one of its AllowedValues {allowed}")
            elif kind.startswith("AWS::SSM::Parameter::Value"):
                values[name] = _Unresolvable(f"parameter {name} is read from SSM Parameter Store: give its value with --parameter {name}=VALUE")
                continue
            elif "Default" in declaration:
                value = declaration["Default"]
            else:
                values[name] = _Unresolvable(f"parameter {name} has no Default: give it with --parameter {name}=VALUE")
                continue
            if kind == "CommaDelimitedList" or kind.startswith("List<"):
                value = value if isinstance(value, list) else [item.strip() for item in str(value).split(",")]
            else:
                value = _scalar_text(value)
            values[name] = value
        return values

    # -- resources ----------------------------------------------------------------------------

    def read(self) -> Template:
        for logical_id, resource in self.resources.items():
            if isinstance(resource, dict) and resource.get("Type") == LAYER_TYPE and self._is_enabled(logical_id, resource):
                layer = self._read_layer(logical_id, resource.get("Properties") or {})
                self.layers[logical_id] = layer
                self.layers_by_arn[layer.arn] = layer
        functions: dict[str, TemplateFunction] = {}
        for logical_id, resource in self.resources.items():
            if not isinstance(resource, dict):
                raise TemplateError(f"Resource {logical_id} is not a mapping")
            kind = resource.get("Type")
            if kind == FUNCTION_TYPE and self._is_enabled(logical_id, resource):
                functions[logical_id] = self._read_function(logical_id, resource.get("Properties") or {})
            elif kind == "AWS::Serverless::Application":
                self.warnings.append(f"{logical_id}: nested applications are not loaded")
        unknown_overrides = sorted(set(self.environment_overrides) - set(functions) - {"Parameters"})
        for name in unknown_overrides:
            self.warnings.append(f"environment file: no function {name} in the template")
        return Template(self.path, functions, self.layers, self.warnings)

    def _is_enabled(self, logical_id: str, resource: dict[str, Any]) -> bool:
        condition = resource.get("Condition")
        if condition is None:
            return True
        try:
            return self._condition(str(condition))
        except _Unresolvable as error:
            raise TemplateError(f"{logical_id}: its Condition cannot be evaluated locally: {error}") from None

    def _read_layer(self, logical_id: str, properties: dict[str, Any]) -> TemplateLayer:
        content = self._required(logical_id, properties, "ContentUri")
        name = self._optional(logical_id, properties, "LayerName", logical_id)
        if not re.fullmatch(r"[a-zA-Z0-9-_]{1,140}", str(name)):
            raise TemplateError(f"{logical_id}: LayerName {name!r} may only have letters, digits, '-' and '_'")
        runtimes = self._optional(logical_id, properties, "CompatibleRuntimes", [])
        return TemplateLayer(
            logical_id=logical_id,
            name=str(name),
            content=self._local_path(logical_id, "ContentUri", content),
            description=str(self._optional(logical_id, properties, "Description", "")),
            compatible_runtimes=tuple(str(runtime) for runtime in runtimes),
        )

    def _read_function(self, logical_id: str, own_properties: dict[str, Any]) -> TemplateFunction:
        properties = _merge_globals(self.globals, own_properties)
        package_type = self._optional(logical_id, properties, "PackageType", "Zip")
        if package_type != "Zip" or "ImageUri" in properties:
            raise TemplateError(
                f"{logical_id}: PackageType Image is not supported: lamina runs Zip functions "
                "(Handler, Runtime and CodeUri)"
            )
        for name, reason in _IGNORED_WITH_WARNING.items():
            if name in properties:
                self.warnings.append(f"{logical_id}: {name} is ignored: {reason}")
        handler = str(self._required(logical_id, properties, "Handler"))
        runtime = str(self._required(logical_id, properties, "Runtime"))
        inline_code = self._optional(logical_id, properties, "InlineCode", None)
        code: Path | None = None
        if inline_code is None:
            code_uri = self._optional(logical_id, properties, "CodeUri", ".")
            code = self._local_path(logical_id, "CodeUri", code_uri)
        architectures = self._optional(logical_id, properties, "Architectures", ["x86_64"])
        if not isinstance(architectures, list) or len(architectures) != 1:
            raise TemplateError(f"{logical_id}: Architectures must list exactly one architecture")
        reserved = self._optional(logical_id, properties, "ReservedConcurrentExecutions", None)
        logging_config = self._optional(logical_id, properties, "LoggingConfig", {})
        if not isinstance(logging_config, dict):
            raise TemplateError(f"{logical_id}: LoggingConfig must be a mapping")
        function = TemplateFunction(
            name=logical_id,
            handler=handler,
            runtime=runtime,
            code=code,
            inline_code=None if inline_code is None else str(inline_code),
            memory_mb=self._integer(logical_id, properties, "MemorySize", DEFAULT_MEMORY_MB),
            timeout_seconds=float(self._integer(logical_id, properties, "Timeout", int(DEFAULT_TIMEOUT_SECONDS))),
            environment=self._environment(logical_id, properties),
            layers=self._function_layers(logical_id, properties),
            architecture=str(architectures[0]),
            description=str(self._optional(logical_id, properties, "Description", "")),
            reserved_concurrency=None if reserved is None else self._as_integer(logical_id, "ReservedConcurrentExecutions", reserved),
            log_format=None if "LogFormat" not in logging_config else str(logging_config["LogFormat"]),
            log_level=None if "ApplicationLogLevel" not in logging_config else str(logging_config["ApplicationLogLevel"]),
            auto_publish_alias=self._auto_publish_alias(logical_id, properties),
            version_description=self._optional_text(logical_id, properties, "VersionDescription"),
            dead_letter_target=self._dead_letter_target(logical_id, properties),
            event_invoke_config=self._event_invoke_config(logical_id, properties),
            function_url=self._function_url(logical_id, properties),
        )
        try:
            function.to_config(code_dir=self.directory).validate()
        except ConfigurationError as error:
            raise TemplateError(f"{logical_id}: {error}") from None
        return function

    def _optional_text(self, logical_id: str, properties: dict[str, Any], name: str) -> str | None:
        value = self._optional(logical_id, properties, name, None)
        if value is not None and not isinstance(value, str):
            raise TemplateError(f"{logical_id}: {name} must be a string, not {value!r}")
        return value

    def _mapping(self, logical_id: str, properties: dict[str, Any], name: str) -> dict[str, Any] | None:
        value = self._optional(logical_id, properties, name, None)
        if value is not None and not isinstance(value, dict):
            raise TemplateError(f"{logical_id}: {name} must be a mapping")
        return value

    def _auto_publish_alias(self, logical_id: str, properties: dict[str, Any]) -> str | None:
        alias = self._optional_text(logical_id, properties, "AutoPublishAlias")
        if alias is not None and not _ALIAS_NAME.fullmatch(alias):
            raise TemplateError(
                f"{logical_id}: AutoPublishAlias {alias!r} is not an alias name: letters, digits, '-' and '_', not only digits"
            )
        return alias

    def _dead_letter_target(self, logical_id: str, properties: dict[str, Any]) -> str | None:
        dead_letter_queue = self._mapping(logical_id, properties, "DeadLetterQueue")
        if dead_letter_queue is None:
            return None
        kind, target = dead_letter_queue.get("Type"), dead_letter_queue.get("TargetArn")
        if kind not in ("SQS", "SNS"):
            raise TemplateError(f"{logical_id}: DeadLetterQueue.Type must be SQS or SNS, not {kind!r}")
        if not isinstance(target, str) or not target.startswith(f"arn:aws:{kind.lower()}:"):
            raise TemplateError(f"{logical_id}: DeadLetterQueue.TargetArn must be an {kind} ARN, not {target!r}")
        return target

    def _event_invoke_config(self, logical_id: str, properties: dict[str, Any]) -> TemplateEventInvokeConfig | None:
        config = self._mapping(logical_id, properties, "EventInvokeConfig")
        if config is None:
            return None
        retries = config.get("MaximumRetryAttempts")
        age = config.get("MaximumEventAgeInSeconds")
        retries = None if retries is None else self._as_integer(logical_id, "EventInvokeConfig.MaximumRetryAttempts", retries)
        age = None if age is None else self._as_integer(logical_id, "EventInvokeConfig.MaximumEventAgeInSeconds", age)
        if retries is not None and not 0 <= retries <= 2:
            raise TemplateError(f"{logical_id}: EventInvokeConfig.MaximumRetryAttempts {retries} is outside 0-2")
        if age is not None and not 60 <= age <= 21600:
            raise TemplateError(f"{logical_id}: EventInvokeConfig.MaximumEventAgeInSeconds {age} is outside 60-21600")
        destinations = config.get("DestinationConfig") or {}
        if not isinstance(destinations, dict):
            raise TemplateError(f"{logical_id}: EventInvokeConfig.DestinationConfig must be a mapping")
        targets: dict[str, str | None] = {}
        for outcome in ("OnSuccess", "OnFailure"):
            destination = destinations.get(outcome)
            if destination is None:
                targets[outcome] = None
                continue
            if not isinstance(destination, dict):
                raise TemplateError(f"{logical_id}: EventInvokeConfig.DestinationConfig.{outcome} must be a mapping")
            kind = destination.get("Type")
            if kind not in DESTINATION_TYPES:
                raise TemplateError(
                    f"{logical_id}: EventInvokeConfig.DestinationConfig.{outcome}: 'Type: {kind}' must be one of {list(DESTINATION_TYPES)}"
                )
            arn = destination.get("Destination")
            if arn is None:
                if kind not in ("SQS", "SNS"):
                    raise TemplateError(
                        f"{logical_id}: EventInvokeConfig.DestinationConfig.{outcome}: Destination is required if Type is not [SQS, SNS]"
                    )
                # The queue or topic SAM creates, under the name SAM gives it.
                created = f"{logical_id}EventInvokeConfig{outcome}" + ("Queue" if kind == "SQS" else "Topic")
                arn = f"arn:aws:{kind.lower()}:{REGION}:{ACCOUNT_ID}:{created}"
            if not isinstance(arn, str) or not arn.startswith("arn:"):
                raise TemplateError(f"{logical_id}: EventInvokeConfig.DestinationConfig.{outcome}.Destination must be an ARN, not {arn!r}")
            targets[outcome] = arn
        return TemplateEventInvokeConfig(retries, age, targets["OnSuccess"], targets["OnFailure"])

    def _function_url(self, logical_id: str, properties: dict[str, Any]) -> TemplateFunctionUrl | None:
        config = self._mapping(logical_id, properties, "FunctionUrlConfig")
        if config is None:
            return None
        auth_type = config.get("AuthType")
        if auth_type not in AUTH_TYPES:
            raise TemplateError(f"{logical_id}: FunctionUrlConfig.AuthType must be one of {', '.join(AUTH_TYPES)}, not {auth_type!r}")
        invoke_mode = config.get("InvokeMode", "BUFFERED")
        if invoke_mode not in INVOKE_MODES:
            raise TemplateError(f"{logical_id}: FunctionUrlConfig.InvokeMode must be one of {', '.join(INVOKE_MODES)}, not {invoke_mode!r}")
        cors = config.get("Cors")
        if cors is not None and not isinstance(cors, dict):
            raise TemplateError(f"{logical_id}: FunctionUrlConfig.Cors must be a mapping")
        return TemplateFunctionUrl(auth_type, invoke_mode, cors)

    def _environment(self, logical_id: str, properties: dict[str, Any]) -> dict[str, str]:
        environment = properties.get("Environment") or {}
        if _is_intrinsic(environment):
            environment = self._resolve_property(logical_id, "Environment", environment)
        variables = (environment or {}).get("Variables") or {}
        if _is_intrinsic(variables):
            variables = self._resolve_property(logical_id, "Environment.Variables", variables)
        if not isinstance(variables, dict):
            raise TemplateError(f"{logical_id}: Environment.Variables must be a mapping")
        resolved: dict[str, str] = {}
        overrides = {**self.environment_overrides.get("Parameters", {}), **self.environment_overrides.get(logical_id, {})}
        for name, value in variables.items():
            # SAM CLI's rule: an environment file sets only the variables the template declares.
            if name in overrides:
                resolved[str(name)] = _scalar_text(overrides[name])
                continue
            try:
                value = self._resolve(value)
            except _Unresolvable as error:
                self.warnings.append(
                    f"{logical_id}: environment variable {name} is left unset: {error} "
                    f"(set it in an environment file: --env-vars)"
                )
                continue
            if value is _NO_VALUE:
                continue
            if isinstance(value, (dict, list)):
                raise TemplateError(f"{logical_id}: environment variable {name} must be a string, not {type(value).__name__}")
            resolved[str(name)] = _scalar_text(value)
        return resolved

    def _function_layers(self, logical_id: str, properties: dict[str, Any]) -> tuple[TemplateLayer, ...]:
        entries = properties.get("Layers") or []
        if _is_intrinsic(entries):
            entries = self._resolve_property(logical_id, "Layers", entries)
        layers: list[TemplateLayer] = []
        for entry in entries:
            try:
                value = self._resolve(entry)
            except _Unresolvable as error:
                self.warnings.append(f"{logical_id}: a layer is skipped: {error}")
                continue
            if value is _NO_VALUE:
                continue
            value = str(value)
            if value in self.layers_by_arn:
                layers.append(self.layers_by_arn[value])
            elif value.startswith("arn:"):
                self.warnings.append(
                    f"{logical_id}: layer {value} is skipped: it lives in AWS, and lamina runs local layers only "
                    f"(declare it as an {LAYER_TYPE} with a local ContentUri)"
                )
            else:
                content = self._local_path(logical_id, "Layers", value)
                name = re.sub(r"[^a-zA-Z0-9-_]", "-", content.stem)[:140] or "layer"
                layers.append(TemplateLayer(logical_id=name, name=name, content=content))
        if len(layers) > 5:
            raise TemplateError(f"{logical_id}: a function may use at most 5 layers, not {len(layers)}")
        return tuple(layers)

    # -- property access ----------------------------------------------------------------------

    def _resolve_property(self, logical_id: str, name: str, value: Any) -> Any:
        try:
            return self._resolve(value)
        except _Unresolvable as error:
            raise TemplateError(f"{logical_id}: {name} cannot be resolved locally: {error}") from None

    def _required(self, logical_id: str, properties: dict[str, Any], name: str) -> Any:
        if name not in properties:
            raise TemplateError(f"{logical_id}: property {name} is required (in the function or in Globals.Function)")
        value = self._resolve_property(logical_id, name, properties[name])
        if value is _NO_VALUE:
            raise TemplateError(f"{logical_id}: property {name} is required, and resolves to AWS::NoValue")
        return value

    def _optional(self, logical_id: str, properties: dict[str, Any], name: str, default: Any) -> Any:
        if name not in properties:
            return default
        value = self._resolve_property(logical_id, name, properties[name])
        return default if value is _NO_VALUE else value

    def _integer(self, logical_id: str, properties: dict[str, Any], name: str, default: int) -> int:
        return self._as_integer(logical_id, name, self._optional(logical_id, properties, name, default))

    @staticmethod
    def _as_integer(logical_id: str, name: str, value: Any) -> int:
        try:
            if isinstance(value, bool):
                raise ValueError
            return int(value)
        except (TypeError, ValueError):
            raise TemplateError(f"{logical_id}: {name} must be an integer, not {value!r}") from None

    def _local_path(self, logical_id: str, name: str, value: Any) -> Path:
        if isinstance(value, dict):
            raise TemplateError(
                f"{logical_id}: {name} points at S3 ({json.dumps(value, default=str)}): lamina needs the code on this machine, "
                "as a directory or a zip path relative to the template"
            )
        text = str(value)
        if text.startswith("s3://"):
            raise TemplateError(
                f"{logical_id}: {name} {text} is in S3: lamina needs the code on this machine, "
                "as a directory or a zip path relative to the template"
            )
        path = (self.directory / text).resolve()
        if not path.exists():
            raise TemplateError(f"{logical_id}: {name} {text} does not exist (looked for {path})")
        return path

    # -- intrinsic functions ------------------------------------------------------------------

    def _resolve(self, value: Any) -> Any:
        if isinstance(value, dict):
            if _is_intrinsic(value):
                (name, argument), = value.items()
                return self._intrinsic(name, argument)
            resolved = {key: self._resolve(item) for key, item in value.items()}
            return {key: item for key, item in resolved.items() if item is not _NO_VALUE}
        if isinstance(value, list):
            return [item for item in (self._resolve(item) for item in value) if item is not _NO_VALUE]
        return value

    def _intrinsic(self, name: str, argument: Any) -> Any:
        if name == "Ref":
            return self._ref(str(argument))
        if name == "Condition":
            return self._condition(str(argument))
        function = name[len("Fn::"):]
        if function == "Sub":
            return self._sub(argument)
        if function == "GetAtt":
            parts = argument if isinstance(argument, list) else str(argument).split(".", 1)
            return self._get_att(*[str(part) for part in self._resolve(parts)])
        if function == "Join":
            delimiter, items = self._arguments(name, argument, 2)
            items = self._resolve(items)
            if not isinstance(items, list):
                raise _Unresolvable(f"Fn::Join of {items!r}, which is not a list")
            return str(delimiter).join(_scalar_text(item) for item in items)
        if function == "Select":
            index, items = self._arguments(name, argument, 2)
            items = self._resolve(items)
            return items[int(self._resolve(index))]
        if function == "Split":
            delimiter, text = self._arguments(name, argument, 2)
            return str(self._resolve(text)).split(str(delimiter))
        if function == "If":
            condition, when_true, when_false = self._arguments(name, argument, 3)
            return self._resolve(when_true if self._condition(str(condition)) else when_false)
        if function == "Equals":
            left, right = self._arguments(name, argument, 2)
            return _scalar_text(self._resolve(left)) == _scalar_text(self._resolve(right))
        if function == "Not":
            (operand,) = self._arguments(name, argument, 1)
            return not self._truth(operand)
        if function == "And":
            return all(self._truth(operand) for operand in argument)
        if function == "Or":
            return any(self._truth(operand) for operand in argument)
        if function == "FindInMap":
            map_name, top, second = (_scalar_text(part) for part in self._resolve(self._arguments(name, argument, 3)))
            try:
                return self.mappings[map_name][top][second]
            except (KeyError, TypeError):
                raise _Unresolvable(f"Fn::FindInMap [{map_name}, {top}, {second}] is not in Mappings") from None
        if function == "Base64":
            return base64.b64encode(_scalar_text(self._resolve(argument)).encode()).decode()
        if function == "ToJsonString":
            return json.dumps(self._resolve(argument), separators=(",", ":"), default=str)
        if function == "Length":
            return len(self._resolve(argument))
        raise _Unresolvable(f"Fn::{function} has no local value")

    @staticmethod
    def _arguments(name: str, argument: Any, count: int) -> list[Any]:
        if not isinstance(argument, list) or len(argument) != count:
            raise _Unresolvable(f"{name} takes a list of {count}, not {argument!r}")
        return argument

    def _truth(self, operand: Any) -> bool:
        value = self._resolve(operand)
        if not isinstance(value, bool):
            raise _Unresolvable(f"condition operand {operand!r} is not a condition")
        return value

    def _condition(self, name: str) -> bool:
        if name not in self.conditions:
            if name not in self.condition_definitions:
                raise _Unresolvable(f"condition {name} is not in Conditions")
            self.conditions[name] = self._truth(self.condition_definitions[name])
        return self.conditions[name]

    def _ref(self, name: str) -> Any:
        pseudo = {
            "AWS::Region": REGION,
            "AWS::AccountId": ACCOUNT_ID,
            "AWS::Partition": "aws",
            "AWS::URLSuffix": "amazonaws.com",
            "AWS::StackName": STACK_NAME,
            "AWS::StackId": f"arn:aws:cloudformation:{REGION}:{ACCOUNT_ID}:stack/{STACK_NAME}/local",
            "AWS::NotificationARNs": [],
        }
        if name == "AWS::NoValue":
            return _NO_VALUE
        if name in pseudo:
            return pseudo[name]
        if name in self.parameters:
            value = self.parameters[name]
            if isinstance(value, _Unresolvable):
                raise value
            return value
        resource = self.resources.get(name)
        if resource is None:
            raise _Unresolvable(f"!Ref {name}: no parameter or resource has that name")
        kind = resource.get("Type") if isinstance(resource, dict) else None
        if kind == FUNCTION_TYPE:
            return name  # a function's Ref is its name, here its logical id
        if kind == LAYER_TYPE and name in self.layers:
            return self.layers[name].arn
        if kind == QUEUE_TYPE:
            return f"https://sqs.{REGION}.amazonaws.com/{ACCOUNT_ID}/{self._resource_name(name, 'QueueName')}"
        if kind == TOPIC_TYPE:
            return f"arn:aws:sns:{REGION}:{ACCOUNT_ID}:{self._resource_name(name, 'TopicName')}"
        if kind == EVENT_BUS_TYPE:
            return self._resource_name(name, "Name")
        raise _Unresolvable(f"!Ref {name} (type {kind}) has no local value")

    def _get_att(self, name: str, attribute: str) -> Any:
        resource = self.resources.get(name)
        kind = resource.get("Type") if isinstance(resource, dict) else None
        if kind == FUNCTION_TYPE and attribute == "Arn":
            return f"arn:aws:lambda:{REGION}:{ACCOUNT_ID}:function:{name}"
        if kind == QUEUE_TYPE and attribute in ("Arn", "QueueName", "QueueUrl"):
            queue = self._resource_name(name, "QueueName")
            return {
                "Arn": f"arn:aws:sqs:{REGION}:{ACCOUNT_ID}:{queue}",
                "QueueName": queue,
                "QueueUrl": f"https://sqs.{REGION}.amazonaws.com/{ACCOUNT_ID}/{queue}",
            }[attribute]
        if kind == TOPIC_TYPE and attribute in ("TopicArn", "TopicName"):
            topic = self._resource_name(name, "TopicName")
            return f"arn:aws:sns:{REGION}:{ACCOUNT_ID}:{topic}" if attribute == "TopicArn" else topic
        if kind == EVENT_BUS_TYPE and attribute in ("Arn", "Name"):
            bus = self._resource_name(name, "Name")
            return f"arn:aws:events:{REGION}:{ACCOUNT_ID}:event-bus/{bus}" if attribute == "Arn" else bus
        raise _Unresolvable(f"!GetAtt {name}.{attribute} (type {kind or 'unknown: no such resource'}) has no local value")

    def _resource_name(self, logical_id: str, name_property: str) -> str:
        """A queue's, topic's or bus's name: its name property, else its logical id (where
        CloudFormation would make one up, the local stand-in takes the logical id)."""
        properties = self.resources[logical_id].get("Properties") or {}
        if name_property in properties:
            return _scalar_text(self._resolve(properties[name_property]))
        return logical_id

    def _sub(self, argument: Any) -> str:
        if isinstance(argument, list):
            text, variables = self._arguments("Fn::Sub", argument, 2)
            variables = {key: self._resolve(value) for key, value in (variables or {}).items()}
        else:
            text, variables = argument, {}

        def substitute(match: re.Match[str]) -> str:
            expression = match.group(1)
            if expression.startswith("!"):
                return "${" + expression[1:] + "}"
            expression = expression.strip()
            if expression in variables:
                return _scalar_text(variables[expression])
            if "." in expression and not expression.startswith("AWS::"):
                return _scalar_text(self._get_att(*expression.split(".", 1)))
            return _scalar_text(self._ref(expression))

        return re.sub(r"\$\{([^}]*)\}", substitute, str(text))


def _merge_globals(global_properties: dict[str, Any], properties: dict[str, Any]) -> dict[str, Any]:
    """SAM's rule: maps are merged (the function's keys win), lists are concatenated (the
    globals first), anything else is overridden by the function."""
    merged = dict(global_properties)
    for key, value in properties.items():
        current = merged.get(key)
        if isinstance(current, dict) and isinstance(value, dict) and not _is_intrinsic(current) and not _is_intrinsic(value):
            merged[key] = _merge_globals(current, value)
        elif isinstance(current, list) and isinstance(value, list):
            merged[key] = current + value
        else:
            merged[key] = value
    return merged


def _scalar_text(value: Any) -> str:
    """CloudFormation's text for a scalar: booleans lower case, numbers as written."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (dict, list)):
        raise _Unresolvable(f"{value!r} is not a scalar")
    return str(value)
