"""The ``lamina`` command."""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import threading
import time
from pathlib import Path

from lamina.testing.runtime_api import ScriptedInvocation, ScriptedRuntimeApi


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="lamina", description="Run Python functions the way AWS Lambda does.")
    commands = parser.add_subparsers(dest="command", required=True)
    invoke = commands.add_parser("invoke", help="run one invocation of a handler locally")
    invoke.add_argument("handler", help="MODULE.FUNCTION, as in the function's Handler setting")
    invoke.add_argument("--root", default=".", help="the function's code directory (task root)")
    invoke.add_argument("--event", default="{}", help="the event: JSON text, or @FILE")
    invoke.add_argument("--timeout", type=float, default=3.0, help="seconds before the invocation times out")
    invoke.add_argument("--memory", type=int, default=128, help="memory size in MB")
    invoke.add_argument("--env", action="append", default=[], metavar="KEY=VALUE", help="a function environment variable")
    add_layer_command(commands)
    add_image_command(commands)
    arguments = parser.parse_args(argv)
    if hasattr(arguments, "run"):  # the packaging commands
        return arguments.run(arguments)
    return invoke_once(arguments)


def invoke_once(arguments: argparse.Namespace) -> int:
    """Runs the handler in a lamina runtime process against a local Runtime API; prints the
    result on stdout and the function's log on stderr. Exit status 1 on a function error."""
    root = Path(arguments.root).resolve()
    event = Path(arguments.event[1:]).read_bytes() if arguments.event.startswith("@") else arguments.event.encode()
    function_name = root.name or "function"
    environment = dict(os.environ)
    environment.update(
        AWS_LAMBDA_FUNCTION_NAME=function_name,
        AWS_LAMBDA_FUNCTION_VERSION="$LATEST",
        AWS_LAMBDA_FUNCTION_MEMORY_SIZE=str(arguments.memory),
        AWS_LAMBDA_LOG_GROUP_NAME=f"/aws/lambda/{function_name}",
        AWS_LAMBDA_LOG_STREAM_NAME=time.strftime("%Y/%m/%d/[$LATEST]") + os.urandom(16).hex(),
        LAMBDA_TASK_ROOT=str(root),
        _HANDLER=arguments.handler,
    )
    for assignment in arguments.env:
        key, _, value = assignment.partition("=")
        environment[key] = value

    with ScriptedRuntimeApi() as api:
        environment["AWS_LAMBDA_RUNTIME_API"] = api.address
        runtime = subprocess.Popen(
            [sys.executable, "-m", "lamina"], cwd=root, env=environment, stdout=subprocess.PIPE, stderr=subprocess.STDOUT
        )
        relay = threading.Thread(target=_relay_log, args=(runtime.stdout,), daemon=True)
        relay.start()
        invocation = api.push(
            ScriptedInvocation(event=event, deadline_ms=int((time.time() + arguments.timeout) * 1000))
        )
        try:
            reply = _wait_for_reply(api, invocation, runtime, arguments.timeout)
        finally:
            runtime.terminate()
            runtime.wait()
            relay.join(timeout=1)
    if reply is None:
        if runtime.returncode not in (0, -15):
            error = {"errorType": "Runtime.ExitError", "errorMessage": f"Runtime exited with error: exit status {runtime.returncode}"}
        else:
            error = {"errorType": "Sandbox.Timedout", "errorMessage": f"Task timed out after {arguments.timeout:.2f} seconds"}
        print(json.dumps(error))
        return 1
    sys.stdout.buffer.write(reply.body + b"\n")
    return 0 if reply.path.endswith("/response") else 1


def _relay_log(output) -> None:
    """The function's log to stderr; an error line's "\r" separators (one CloudWatch event on
    Lambda) become line breaks, so that a terminal shows the traceback."""
    for line in iter(output.readline, b""):
        sys.stderr.buffer.write(line.replace(b"\r", b"\n"))
        sys.stderr.flush()


def _wait_for_reply(api: ScriptedRuntimeApi, invocation: ScriptedInvocation, runtime: subprocess.Popen, timeout: float):
    """The runtime's /response, /error or /init/error post, or None after a timeout or a crash."""

    def is_reply(request) -> bool:
        return request.method == "POST" and (
            request.request_id == invocation.request_id or request.path.endswith("/init/error")
        )

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline and runtime.poll() is None:
        try:
            return api.wait_for(is_reply, timeout=0.05)
        except TimeoutError:
            continue
    return next((request for request in api.requests if is_reply(request)), None)


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
    return 0


if __name__ == "__main__":
    sys.exit(main())
