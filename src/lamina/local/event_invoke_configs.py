"""Asynchronous invocation's configuration as the control plane serves it:
Put/Get/Update/Delete/ListFunctionEventInvokeConfig(s) — retries, maximum event age and
destinations of $LATEST, a version or an alias — kept in the durable event queue's database
(:mod:`lamina.local.async_invocations`), where the queue reads it for each event."""

from __future__ import annotations

import re
import time
from typing import Any

from aiohttp import web

from lamina.local.async_invocations import AsyncInvocations, EventInvokeConfig, parse_destination
from lamina.local.control_plane import ControlPlane, function_arn, json_body, page
from lamina.local.invoke_api import parse_function_name
from lamina.local.sam import Template
from lamina.local.service_errors import invalid_parameter, not_found, validation_error

LATEST = "$LATEST"
_DESTINATION_ARN = re.compile(
    r"$|arn:(aws[a-zA-Z0-9-]*):([a-zA-Z0-9\-])+:([a-z]{2}((-gov)|(-iso([a-z]?)))?-[a-z]+-\d{1})?:(\d{12})?:(.*)"
)


def event_invoke_configuration(name: str, qualifier: str, config: EventInvokeConfig) -> dict[str, Any]:
    """A FunctionEventInvokeConfig: only the settings that were set, as Lambda reports them."""
    described: dict[str, Any] = {"LastModified": config.last_modified, "FunctionArn": function_arn(name, qualifier)}
    if config.maximum_retry_attempts is not None:
        described["MaximumRetryAttempts"] = config.maximum_retry_attempts
    if config.maximum_event_age_seconds is not None:
        described["MaximumEventAgeInSeconds"] = config.maximum_event_age_seconds
    described["DestinationConfig"] = {
        "OnSuccess": {"Destination": config.on_success} if config.on_success else {},
        "OnFailure": {"Destination": config.on_failure} if config.on_failure else {},
    }
    return described


class EventInvokeConfigApi:
    """The event invoke configuration routes. Deleting a function, version or alias drops its
    configuration and its queued events; creating a function (CreateFunction, a template)
    starts it without configuration, whatever an earlier server run left in the database —
    its queued events stay, and follow the configuration it is given now."""

    def __init__(self, control_plane: ControlPlane, events: AsyncInvocations) -> None:
        self.control_plane = control_plane
        self.events = events
        control_plane.deletion_listeners.append(self._forget)
        control_plane.creation_listeners.append(events.clear_configs)

    def routes(self) -> list[web.RouteDef]:
        path = "/2019-09-25/functions/{FunctionName}/event-invoke-config"
        return [
            web.put(path, self.put_config),
            web.post(path, self.update_config),
            web.get(path, self.get_config),
            web.delete(path, self.delete_config),
            web.get(path + "/list", self.list_configs),
        ]

    def apply_template(self, template: Template) -> None:
        """Each function's EventInvokeConfig, on its alias when it has AutoPublishAlias."""
        for function in template.functions.values():
            settings = function.event_invoke_config
            if settings is None:
                continue
            config = EventInvokeConfig(
                maximum_retry_attempts=settings.maximum_retry_attempts,
                maximum_event_age_seconds=settings.maximum_event_age_seconds,
                on_success=settings.on_success,
                on_failure=settings.on_failure,
                last_modified=time.time(),
            )
            self.events.put_config(function.name, function.qualifier or LATEST, config)

    async def put_config(self, request: web.Request) -> web.Response:
        body = await json_body(request, "PutFunctionEventInvokeConfig")
        name, qualifier = self._target(request)
        config = self._settings(name, body, EventInvokeConfig())
        self.events.put_config(name, qualifier, config)
        return web.json_response(event_invoke_configuration(name, qualifier, config))

    async def update_config(self, request: web.Request) -> web.Response:
        body = await json_body(request, "UpdateFunctionEventInvokeConfig")
        name, qualifier = self._target(request)
        current = self.events.get_config(name, qualifier)
        if current is None:
            raise self._none(name, qualifier)
        config = self._settings(name, body, current)
        self.events.put_config(name, qualifier, config)
        return web.json_response(event_invoke_configuration(name, qualifier, config))

    async def get_config(self, request: web.Request) -> web.Response:
        name, qualifier = self._target(request, must_exist=False)
        config = self.events.get_config(name, qualifier)
        if config is None:
            raise self._none(name, qualifier)
        return web.json_response(event_invoke_configuration(name, qualifier, config))

    async def delete_config(self, request: web.Request) -> web.Response:
        name, qualifier = self._target(request, must_exist=False)
        if not self.events.delete_config(name, qualifier):
            raise self._none(name, qualifier)
        return web.Response(status=204)

    async def list_configs(self, request: web.Request) -> web.Response:
        name, _ = parse_function_name(request.match_info["FunctionName"])
        if name not in self.control_plane.functions:
            raise not_found("The function doesn't exist.")
        items = [event_invoke_configuration(name, qualifier, config) for qualifier, config in self.events.list_configs(name)]
        return web.json_response(page(request, items, "FunctionEventInvokeConfigs", 50, 50))

    # -- helpers ------------------------------------------------------------------------------

    def _target(self, request: web.Request, must_exist: bool = True) -> tuple[str, str]:
        """(function name, qualifier) the request names; $LATEST when unqualified."""
        name, qualifier = parse_function_name(request.match_info["FunctionName"], request.query.get("Qualifier"))
        if must_exist and self.control_plane.record_for(name, qualifier) is None:
            raise not_found("The function doesn't exist.")
        return name, qualifier or LATEST

    @staticmethod
    def _none(name: str, qualifier: str) -> Exception:
        return not_found(f"The function {function_arn(name, qualifier)} doesn't have an EventInvokeConfig")

    def _settings(self, name: str, body: dict[str, Any], current: EventInvokeConfig) -> EventInvokeConfig:
        """`current` with what the request sets (all of it for Put, whose `current` is empty)."""
        retries, age, destinations = body.get("MaximumRetryAttempts"), body.get("MaximumEventAgeInSeconds"), body.get("DestinationConfig")
        if retries is None and age is None and destinations is None:
            raise invalid_parameter("You must specify at least one of error handling or destination setting.")
        on_success, on_failure = current.on_success, current.on_failure
        if destinations is not None:
            if not isinstance(destinations, dict):
                raise invalid_parameter("DestinationConfig must be an object")
            on_success = self._destination(name, destinations, "OnSuccess")
            on_failure = self._destination(name, destinations, "OnFailure")
        return EventInvokeConfig(
            maximum_retry_attempts=current.maximum_retry_attempts if retries is None else _bounded(retries, "maximumRetryAttempts", 0, 2),
            maximum_event_age_seconds=current.maximum_event_age_seconds if age is None else _bounded(age, "maximumEventAgeInSeconds", 60, 21600),
            on_success=on_success,
            on_failure=on_failure,
            last_modified=time.time(),
        )

    def _destination(self, name: str, destinations: dict[str, Any], outcome: str) -> str | None:
        setting = destinations.get(outcome)
        target = setting.get("Destination") if isinstance(setting, dict) else None
        if not target:
            return None
        member = f"destinationConfig.{outcome[0].lower()}{outcome[1:]}.destination"
        if not isinstance(target, str) or not _DESTINATION_ARN.fullmatch(target):
            raise validation_error(target, member, "Member must satisfy regular expression pattern: " + _DESTINATION_ARN.pattern)
        try:
            destination = parse_destination(target)
        except ValueError:
            raise invalid_parameter(
                f"The provided destination config DestinationConfig({outcome[2:].lower()}={target}) is invalid: destinations "
                "are Lambda functions, SQS queues, SNS topics and EventBridge buses."
            ) from None
        if destination.kind == "function":
            if destination.name == name:
                raise invalid_parameter("You can't specify the function as a destination for itself.")
            if self.control_plane.record_for(destination.name, destination.qualifier) is None:
                raise invalid_parameter(f"The destination ARN {target} is invalid.")
        return target

    async def _forget(self, name: str, qualifier: str | None) -> None:
        self.events.forget(name, qualifier)


def _bounded(value: Any, member: str, low: int, high: int) -> int:
    if not isinstance(value, int) or isinstance(value, bool):
        raise validation_error(value, member, "Member must be an integer")
    if value < low:
        raise validation_error(value, member, f"Member must have value greater than or equal to {low}")
    if value > high:
        raise validation_error(value, member, f"Member must have value less than or equal to {high}")
    return value
