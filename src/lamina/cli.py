"""The ``lamina`` command: ``lamina invoke`` runs one invocation locally, ``lamina serve`` serves
the Invoke API and the control plane to boto3 and the AWS CLI."""

from __future__ import annotations

import argparse
import asyncio
import dataclasses
import json
import logging
import re
import shlex
import sys
import tempfile
from pathlib import Path
from typing import Any

from lamina.local.functions import PYTHON_RUNTIMES, CUSTOM_RUNTIMES, ConfigurationError

logger = logging.getLogger("lamina")


def main(argv: list[str] | None = None) -> int:
    parser = _parser()
    arguments = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO if getattr(arguments, "verbose", False) else logging.WARNING,
                        format="lamina: %(message)s", stream=sys.stderr)
    try:
        return arguments.run(arguments)
    except UsageError as error:
        print(f"lamina {arguments.command}: {error}", file=sys.stderr)
        return 2
    except ModuleNotFoundError as error:
        if error.name not in ("aiohttp", "yaml"):
            raise
        print(f"lamina {arguments.command} needs the local Lambda's dependencies: pip install 'lamina[local]'", file=sys.stderr)
        return 2


class UsageError(Exception):
    """A mistake in the command line or in the files it names; printed without a traceback."""


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="lamina", description="Run Python functions the way AWS Lambda does.")
    commands = parser.add_subparsers(dest="command", required=True)

    invoke = commands.add_parser(
        "invoke",
        help="run one invocation of a function locally",
        description="Runs one invocation in a real execution environment: the result on stdout, the "
        "function's log (START ... REPORT) on stderr. Exit status 1 when the function fails.",
        usage="lamina invoke HANDLER [--root DIR] [options]\n       lamina invoke --template FILE [NAME] [options]",
    )
    invoke.add_argument("target", nargs="?", metavar="HANDLER|NAME",
                        help="MODULE.FUNCTION as in the Handler setting; with --template, the function's logical id")
    invoke.add_argument("--root", default=".", help="the function's code directory (task root); default: .")
    invoke.add_argument("--event", default="{}", help="the event: JSON text, @FILE, or @- for stdin; default: {}")
    invoke.add_argument("--runtime", choices=PYTHON_RUNTIMES + CUSTOM_RUNTIMES, default=None,
                        help="the Lambda runtime (provided.* runs ROOT/bootstrap); default: this Python's version")
    invoke.add_argument("--timeout", type=float, default=None, help="seconds before the invocation times out; default: 3")
    invoke.add_argument("--memory", type=int, default=None, help="memory size in MB; default: 128")
    invoke.add_argument("--env", action="append", default=[], metavar="KEY=VALUE", help="a function environment variable (repeatable)")
    invoke.add_argument("--layer", action="append", default=[], metavar="ZIP|DIR", type=Path,
                        help="a layer, extracted to /opt in the order given (repeatable)")
    _add_template_arguments(invoke)
    invoke.set_defaults(run=_run_invoke)

    serve = commands.add_parser(
        "serve",
        help="serve the Lambda Invoke API and control plane for boto3 and the AWS CLI",
        description="Serves Lambda's Invoke API and control plane (CreateFunction, ...) over HTTP. Point "
        "boto3 (endpoint_url=...) or the AWS CLI (--endpoint-url ...) at it. Ctrl-C stops it.",
    )
    from lamina.local.server import DEFAULT_CONCURRENCY, DEFAULT_HOST, DEFAULT_PORT

    serve.add_argument("--host", default=DEFAULT_HOST, help=f"the address to listen on; default: {DEFAULT_HOST} (loopback only)")
    serve.add_argument("--port", type=int, default=DEFAULT_PORT, help=f"the port; 0 picks a free one; default: {DEFAULT_PORT}")
    serve.add_argument("--concurrency", type=int, default=DEFAULT_CONCURRENCY,
                       help=f"invocations running at once across all functions (the account's concurrency); default: {DEFAULT_CONCURRENCY}")
    serve.add_argument("--verbose", action="store_true", help="log the server's own activity on stderr")
    _add_template_arguments(serve)
    serve.set_defaults(run=_run_serve)
    return parser


def _add_template_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--template", type=Path, metavar="FILE", help="a SAM template (template.yaml) declaring the functions")
    parser.add_argument("--parameter", action="append", default=[], metavar="NAME=VALUE",
                        help="a template parameter's value (repeatable)")
    parser.add_argument("--parameter-overrides", action="append", default=[], metavar="OVERRIDES",
                        help="SAM CLI's form: 'Name=Value Other=Value' or 'ParameterKey=Name,ParameterValue=Value'")
    parser.add_argument("--env-vars", type=Path, metavar="FILE",
                        help='environment overrides as SAM CLI takes them: {"LogicalId": {"VAR": "value"}, "Parameters": {...}}')


# -- lamina invoke ------------------------------------------------------------------------------


def _run_invoke(arguments: argparse.Namespace) -> int:
    event = _read_event(arguments.event)
    environment = _assignments(arguments.env, "--env")
    with tempfile.TemporaryDirectory(prefix="lamina-invoke-") as work:
        return asyncio.run(_invoke_once(arguments, event, environment, Path(work)))


async def _invoke_once(arguments: argparse.Namespace, event: bytes, environment: dict[str, str], work: Path) -> int:
    from lamina.local.control_plane import ControlPlane
    from lamina.local.functions import FunctionConfig, InvocationRequest
    from lamina.local.service import LocalLambda
    from lamina.local.settings import LocalLambdaSettings

    settings = LocalLambdaSettings(work_dir=work / "environments", concurrency=1, log_sink=_print_to_stderr)
    async with LocalLambda(settings) as service:
        if arguments.template is not None:
            template = _load_template(arguments)
            name = _template_function_name(arguments.target, template)
            ControlPlane(service, work / "code", 1).add_template(template)
            config = service.get_function(name)
            overrides: dict[str, Any] = {}
            if arguments.timeout is not None:
                overrides["timeout_seconds"] = arguments.timeout
            if arguments.memory is not None:
                overrides["memory_mb"] = arguments.memory
            if environment:
                overrides["environment"] = {**config.environment, **environment}
            if arguments.layer:
                overrides["layers"] = config.layers + tuple(path.resolve() for path in arguments.layer)
            if overrides:
                config = dataclasses.replace(config, **overrides)
        else:
            if not arguments.target:
                raise UsageError("give the handler (MODULE.FUNCTION), or --template FILE and a function name")
            root = Path(arguments.root).resolve()
            if not root.is_dir():
                raise UsageError(f"--root {arguments.root} is not a directory")
            for layer in arguments.layer:
                if not layer.exists():
                    raise UsageError(f"--layer {layer} does not exist")
            config = FunctionConfig(
                name=_function_name(root),
                handler=arguments.target,
                code_dir=root,
                runtime=arguments.runtime or _default_runtime(),
                memory_mb=arguments.memory or 128,
                timeout_seconds=arguments.timeout or 3.0,
                environment=environment,
                layers=tuple(path.resolve() for path in arguments.layer),
            )
        try:
            service.put_function(config)
        except ConfigurationError as error:
            raise UsageError(str(error)) from None
        # Printed as it comes: a streaming handler's output as it sends it.
        streamed = await service.invoke_stream(config.name, None, InvocationRequest(payload=event))
        printed = False
        try:
            async for chunk in streamed.chunks:
                sys.stdout.buffer.write(chunk)
                sys.stdout.flush()
                printed = True
        finally:
            await streamed.aclose()
    result = streamed.result
    assert result is not None  # set when the chunks end
    if result.function_error:
        # A failure after streamed output goes on a line of its own.
        sys.stdout.buffer.write((b"\n" if printed else b"") + result.payload)
    sys.stdout.buffer.write(b"\n")
    sys.stdout.flush()
    return 1 if result.function_error else 0


def _print_to_stderr(line: Any) -> None:
    """The function's log on stderr; an error's "\\r"-joined lines (one CloudWatch event on
    Lambda) as separate lines, so that a terminal shows the traceback."""
    text = line.text.rstrip("\n").replace("\r\n", "\n").replace("\r", "\n")
    sys.stderr.write(text + "\n")
    sys.stderr.flush()


def _read_event(argument: str) -> bytes:
    from lamina.local.invoke_api import check_json_payload
    from lamina.local.service_errors import ServiceError

    if argument == "@-":
        event = sys.stdin.buffer.read()
    elif argument.startswith("@"):
        try:
            event = Path(argument[1:]).read_bytes()
        except OSError as error:
            raise UsageError(f"--event {argument}: {error.strerror}") from None
    else:
        event = argument.encode()
    if not event.strip():
        return b"{}"
    try:
        check_json_payload(event)
    except ServiceError as error:
        raise UsageError(f"--event is not JSON: {error.message.rpartition('json: ')[2]}") from None
    return event


def _assignments(items: list[str], option: str) -> dict[str, str]:
    assigned = {}
    for item in items:
        key, equals, value = item.partition("=")
        if not equals or not key:
            raise UsageError(f"{option} {item!r} is not NAME=VALUE")
        assigned[key] = value
    return assigned


def _function_name(root: Path) -> str:
    """The function's name: its directory's, in the characters Lambda allows."""
    return re.sub(r"[^a-zA-Z0-9_-]", "-", root.name)[:64] or "function"


def _default_runtime() -> str:
    runtime = f"python{sys.version_info.major}.{sys.version_info.minor}"
    return runtime if runtime in PYTHON_RUNTIMES else "python3.12"


def _load_template(arguments: argparse.Namespace):  # -> Template
    from lamina.local.sam import TemplateError, load_template

    overrides: dict[str, Any] = {}
    if arguments.env_vars is not None:
        try:
            overrides = json.loads(arguments.env_vars.read_text())
        except (OSError, ValueError) as error:
            raise UsageError(f"--env-vars {arguments.env_vars}: {error}") from None
        if not isinstance(overrides, dict) or not all(isinstance(value, dict) for value in overrides.values()):
            raise UsageError(f'--env-vars {arguments.env_vars} must be {{"LogicalId": {{"VAR": "value"}}, ...}}')
    try:
        parameters = {**_sam_parameter_overrides(arguments.parameter_overrides), **_assignments(arguments.parameter, "--parameter")}
        template = load_template(arguments.template, parameters, overrides)
    except TemplateError as error:
        raise UsageError(str(error)) from None
    for warning in template.warnings:
        print(f"lamina {arguments.command}: warning: {warning}", file=sys.stderr)
    return template


def _sam_parameter_overrides(values: list[str]) -> dict[str, str]:
    """SAM CLI's --parameter-overrides: space-separated NAME=VALUE or
    ParameterKey=NAME,ParameterValue=VALUE items, shell-quoted."""
    parameters: dict[str, str] = {}
    for value in values:
        for item in shlex.split(value):
            long_form = re.fullmatch(r"ParameterKey=([^,]+),ParameterValue=(.*)", item)
            if long_form:
                parameters[long_form[1]] = long_form[2]
            else:
                parameters.update(_assignments([item], "--parameter-overrides"))
    return parameters


def _template_function_name(target: str | None, template) -> str:
    names = sorted(template.functions)
    if target is None:
        if len(names) == 1:
            return names[0]
        raise UsageError(f"name the function to invoke: {', '.join(names) or 'the template has none'}")
    if target not in template.functions:
        raise UsageError(f"no function {target} in {template.path}: it has {', '.join(names) or 'none'}")
    return target


# -- lamina serve -------------------------------------------------------------------------------


def _run_serve(arguments: argparse.Namespace) -> int:
    from lamina.local.server import ServeOptions, serve

    if arguments.concurrency < 1:
        raise UsageError("--concurrency must be at least 1")
    template = _load_template(arguments) if arguments.template is not None else None
    if arguments.host not in ("127.0.0.1", "localhost", "::1"):
        print(f"lamina serve: warning: listening on {arguments.host}: anyone who can reach it can run code; "
              "the API checks no credentials", file=sys.stderr)
    options = ServeOptions(host=arguments.host, port=arguments.port, concurrency=arguments.concurrency, template=template)
    try:
        asyncio.run(serve(options))
    except OSError as error:
        print(f"lamina serve: cannot listen on {arguments.host}:{arguments.port}: {error.strerror}", file=sys.stderr)
        return 1
    except ConfigurationError as error:
        raise UsageError(str(error)) from None
    return 0


if __name__ == "__main__":
    sys.exit(main())
