"""The ``lamina`` command: ``lamina invoke`` runs one invocation locally, ``lamina serve`` serves
the Invoke API and the control plane to boto3 and the AWS CLI, ``lamina queue`` reads the local
queues that stand in for the SQS/SNS/EventBridge destinations of asynchronous invocations."""

from __future__ import annotations

import argparse
import asyncio
import dataclasses
import json
import logging
import os
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
    from lamina.local.server import DEFAULT_CONCURRENCY, DEFAULT_HOST, DEFAULT_PORT, DEFAULT_STATE_DIR

    serve.add_argument("--host", default=DEFAULT_HOST, help=f"the address to listen on; default: {DEFAULT_HOST} (loopback only)")
    serve.add_argument("--port", type=int, default=DEFAULT_PORT, help=f"the port; 0 picks a free one; default: {DEFAULT_PORT}")
    serve.add_argument("--concurrency", type=int, default=DEFAULT_CONCURRENCY,
                       help=f"invocations running at once across all functions (the account's concurrency); default: {DEFAULT_CONCURRENCY}")
    serve.add_argument("--state-dir", type=Path, default=DEFAULT_STATE_DIR, metavar="DIR",
                       help="where queued async events and the destination queues are kept, across restarts "
                       f"(one server per directory); default: {DEFAULT_STATE_DIR}")
    serve.add_argument("--async-delay-scale", type=float, default=1.0, metavar="FACTOR",
                       help="multiplies Lambda's async retry delays (1 min, 2 min; throttles 1 s doubling to 5 min) and "
                       "event ages: 0.01 makes a one-minute retry 0.6 s, for tests; default: 1")
    serve.add_argument("--access-key-id", default=os.environ.get("AWS_ACCESS_KEY_ID"), metavar="KEY",
                       help="the access key AWS_IAM function URLs accept signatures from; default: $AWS_ACCESS_KEY_ID")
    serve.add_argument("--secret-access-key", default=os.environ.get("AWS_SECRET_ACCESS_KEY"), metavar="SECRET",
                       help="its secret key; default: $AWS_SECRET_ACCESS_KEY")
    serve.add_argument("--verbose", action="store_true", help="log the server's own activity on stderr")
    _add_template_arguments(serve)
    serve.set_defaults(run=_run_serve)
    add_layer_command(commands)
    add_image_command(commands)


    queue = commands.add_parser(
        "queue",
        help="read the local queues that stand in for SQS, SNS and EventBridge destinations",
        description="Async invocation records (and dead letters) sent to an SQS queue, an SNS topic or an "
        "EventBridge bus land in a local queue of that name, in lamina serve's state directory.",
    )
    queue_commands = queue.add_subparsers(dest="queue_command", required=True)
    receive = queue_commands.add_parser(
        "receive",
        help="take messages off a queue and print them, one JSON document a line",
        description="Takes up to --max messages off the queue (they are removed) and prints each one's body, "
        "one JSON document a line (a body that is not JSON as a JSON string).",
    )
    receive.add_argument("name", metavar="NAME", help="the queue: the name in the destination's ARN (arn:aws:sqs:REGION:ACCOUNT:NAME)")
    receive.add_argument("--max", type=int, default=10, metavar="N", help="at most this many messages; default: 10")
    receive.add_argument("--wait", type=float, default=0.0, metavar="SECONDS",
                         help="wait up to this long for a first message when the queue is empty; default: 0")
    listing = queue_commands.add_parser("list", help="the queues holding messages, and the async events not yet delivered")
    for command in (receive, listing):
        command.add_argument("--state-dir", type=Path, default=DEFAULT_STATE_DIR, metavar="DIR",
                             help=f"lamina serve's state directory; default: {DEFAULT_STATE_DIR}")
    receive.set_defaults(run=_run_queue_receive)
    listing.set_defaults(run=_run_queue_list)
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
            # AutoPublishAlias is not published: this runs $LATEST once.
            await ControlPlane(service, work / "code", 1).add_template(template, auto_publish=False)
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
    from lamina.local.function_urls import Credentials
    from lamina.local.server import ServeOptions, StateDirectoryInUse, serve

    if arguments.concurrency < 1:
        raise UsageError("--concurrency must be at least 1")
    if not arguments.async_delay_scale > 0:
        raise UsageError("--async-delay-scale must be greater than 0")
    if bool(arguments.access_key_id) != bool(arguments.secret_access_key):
        raise UsageError("give both --access-key-id and --secret-access-key (or both AWS_ variables), or neither")
    template = _load_template(arguments) if arguments.template is not None else None
    if arguments.host not in ("127.0.0.1", "localhost", "::1"):
        print(f"lamina serve: warning: listening on {arguments.host}: anyone who can reach it can run code; "
              "the API checks no credentials", file=sys.stderr)
    options = ServeOptions(
        host=arguments.host,
        port=arguments.port,
        concurrency=arguments.concurrency,
        template=template,
        state_dir=arguments.state_dir,
        async_delay_scale=arguments.async_delay_scale,
        url_credentials=Credentials(arguments.access_key_id, arguments.secret_access_key) if arguments.access_key_id else None,
    )
    try:
        asyncio.run(serve(options))
    except StateDirectoryInUse as error:
        print(f"lamina serve: {error}", file=sys.stderr)
        return 1
    except OSError as error:
        print(f"lamina serve: cannot listen on {arguments.host}:{arguments.port}: {error.strerror}", file=sys.stderr)
        return 1
    except ConfigurationError as error:
        raise UsageError(str(error)) from None
    return 0


# ---- packaging: `lamina layer build`, `lamina image build` (src/lamina/packaging/) ----------


def add_layer_command(commands: argparse._SubParsersAction) -> None:
    layer = commands.add_parser("layer", help="build a Lambda layer with lamina").add_subparsers(dest="layer_command", required=True)
    build = layer.add_parser(
        "build",
        help="build a layer zip for one architecture",
        description="A provided.al2023 runtime layer (bootstrap, CPython, lamina), or with --flavor managed "
        "a layer for the python3.11-3.14 runtimes (lamina and /opt/lamina-wrapper).",
    )
    build.add_argument("--arch", required=True, choices=["x86_64", "arm64"], help="the function's architecture")
    build.add_argument("--output", required=True, type=Path, metavar="FILE.zip", help="the layer zip to write")
    build.add_argument(
        "--python-dist",
        type=Path,
        metavar="DIR_OR_TARBALL",
        help="the CPython to ship or build for: a python-build-standalone install_only tarball, an installed prefix, "
        "or Debian packages extracted with dpkg-deb -x (default: this machine's Python, for its own architecture)",
    )
    build.add_argument("--flavor", choices=["provided", "managed"], default="provided", help="provided.al2023 (default) or the managed python3.x runtimes")
    build.add_argument("--python", dest="python_version", metavar="3.X", help="managed flavor: the runtime's Python version (checked against --python-dist)")
    build.add_argument("--numpy", metavar="REQUIREMENT", help='add numpy from PyPI\'s wheels for the layer\'s Python and architecture, e.g. "numpy>=2"')
    build.add_argument("--library-path", type=Path, action="append", default=[], metavar="DIR", help="another folder to find the interpreter's shared libraries in")
    build.add_argument("--source", type=Path, help="lamina's source checkout (default: found)")
    build.add_argument("--build-dir", type=Path, help="where the native build is cached (default: SOURCE/build/layer)")
    build.set_defaults(run=run_layer_build)


def run_layer_build(arguments: argparse.Namespace) -> int:
    import logging

    from lamina.packaging.layer import LayerRequest, build_layer

    logging.basicConfig(level=logging.INFO, format="lamina layer: %(message)s")
    if arguments.flavor == "managed" and not arguments.python_version:
        sys.exit("lamina layer build: --flavor managed needs --python 3.X (the function's runtime)")
    report = build_layer(
        LayerRequest(
            architecture=arguments.arch,
            output=arguments.output,
            python_dist=arguments.python_dist,
            flavor=arguments.flavor,
            python_version=arguments.python_version,
            numpy=arguments.numpy,
            source=arguments.source,
            build_dir=arguments.build_dir,
            library_dirs=tuple(arguments.library_path),
        )
    )
    size = report.output.stat().st_size
    print(f"{report.output}: {arguments.flavor} layer for {report.python.name} on {arguments.arch}, {size / 1e6:.1f} MB, {len(report.warnings)} warnings")
    return 0


def add_image_command(commands: argparse._SubParsersAction) -> None:
    image = commands.add_parser("image", help="build a container image with lamina, without Docker").add_subparsers(dest="image_command", required=True)
    build = image.add_parser(
        "build",
        help="append lamina and a function to a base image (OCI layout in, OCI layout tar out)",
        description="Writes an OCI image layout tar (docker load, skopeo, podman accept it) made of the base "
        "image's layers, a layer with lamina's provided.al2023 runtime (the layer zip's contents under /opt), "
        "and a layer with the function's code under /var/task.",
    )
    build.add_argument("--arch", required=True, choices=["x86_64", "arm64"])
    build.add_argument("--base", required=True, type=Path, metavar="OCI_LAYOUT", help="the base image: an OCI image layout folder or tar")
    build.add_argument("--output", required=True, type=Path, metavar="IMAGE.tar")
    build.add_argument("--layer", type=Path, metavar="LAYER.zip", help="lamina's provided layer for --arch (default: build one with --python-dist)")
    build.add_argument("--python-dist", type=Path, metavar="DIR_OR_TARBALL", help="as for `lamina layer build`, when --layer is not given")
    build.add_argument("--code", type=Path, metavar="DIR", help="the function's code, copied to /var/task")
    build.add_argument("--handler", default="app.handler", help="the image's CMD (default app.handler)")
    build.add_argument("--tag", default="latest", help="the image's reference name in the layout (default latest)")
    build.add_argument("--source", type=Path, help="lamina's source checkout, when building the layer")
    build.set_defaults(run=run_image_build)


def run_image_build(arguments: argparse.Namespace) -> int:
    import logging
    import tempfile

    from lamina.packaging.image import ImageRequest, build_image
    from lamina.packaging.layer import LayerRequest, build_layer

    logging.basicConfig(level=logging.INFO, format="lamina image: %(message)s")
    with tempfile.TemporaryDirectory(prefix="lamina-image-") as scratch:
        layer_zip = arguments.layer
        if layer_zip is None:
            layer_zip = Path(scratch) / "layer.zip"
            build_layer(LayerRequest(arguments.arch, layer_zip, arguments.python_dist, source=arguments.source))
        digest = build_image(
            ImageRequest(
                architecture=arguments.arch,
                base=arguments.base,
                output=arguments.output,
                layer_zip=layer_zip,
                code=arguments.code,
                handler=arguments.handler,
                tag=arguments.tag,
            )
        )
    print(f"{arguments.output}: {arguments.arch} image, manifest {digest}")

# -- lamina queue -------------------------------------------------------------------------------


def _open_queues(arguments: argparse.Namespace):  # -> LocalQueues
    from lamina.local.async_invocations import DATABASE_NAME, LocalQueues, StateNotFound

    try:
        return LocalQueues(arguments.state_dir / DATABASE_NAME)
    except StateNotFound:
        raise UsageError(
            f"no lamina serve state in {arguments.state_dir} (lamina serve --state-dir {arguments.state_dir} keeps its queues there)"
        ) from None


def _run_queue_receive(arguments: argparse.Namespace) -> int:
    import time

    if arguments.max < 1:
        raise UsageError("--max must be at least 1")
    queues = _open_queues(arguments)
    deadline = time.monotonic() + max(arguments.wait, 0.0)
    try:
        while True:
            messages = queues.receive(arguments.name, arguments.max)
            if messages or time.monotonic() >= deadline:
                break
            time.sleep(0.1)
    finally:
        queues.close()
    for message in messages:
        sys.stdout.write(_json_line(message["body"]) + "\n")
    sys.stdout.flush()
    return 0


def _json_line(body: str) -> str:
    """A message body on one line: JSON as compact JSON, anything else as a JSON string."""
    try:
        return json.dumps(json.loads(body), separators=(",", ":"))
    except (ValueError, RecursionError):
        return json.dumps(body)


def _run_queue_list(arguments: argparse.Namespace) -> int:
    queues = _open_queues(arguments)
    try:
        counts, pending = queues.queues(), queues.pending_events()
    finally:
        queues.close()
    for name, count in counts.items():
        print(f"queue {name}: {count} message(s)")
    for function, count in pending.items():
        print(f"function {function}: {count} async event(s) not yet delivered")
    if not counts and not pending:
        print("no messages, no pending events")
    return 0


if __name__ == "__main__":
    sys.exit(main())
