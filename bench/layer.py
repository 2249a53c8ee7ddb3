"""The layers' size per architecture, and the provided.al2023 layer's cold start against
awslambdaric started the way AWS's images start it, from the same Python.

    python bench/layer.py [--arm64-python-dist DIR] [--numpy "numpy>=2"] [--rounds 3] [--spawns 11]

Cold start is spawn -> first response (the native driver's --cold-starts), median of --spawns
per round, rounds alternating lamina / awslambdaric so that the machine's drift hits both
(../shared/spec/performance.md: target <= 0.8x awslambdaric). Three runtimes, one tree each,
all on a copy of the x86_64 layer's CPython:
  lamina bootstrap      the layer's /opt/bootstrap (the shell script Lambda runs)
  lamina, direct        the same interpreter and variables exec'd without the script: what the
                        bootstrap itself costs is the difference
  awslambdaric          a bootstrap running `python -m awslambdaric "$_HANDLER"` with site
                        enabled, as AWS's base images run it, on the same layer-like tree
Writes results/layer.md and prints it.
"""

from __future__ import annotations

import argparse
import datetime
import importlib.metadata
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

import lamina
from payloads import write_payloads

from lamina.packaging.layer import LayerRequest, build_layer
from lamina.packaging.reproducible_zip import extract_zip

BENCH = Path(__file__).resolve().parent
REPOSITORY = BENCH.parent
DRIVER = Path(lamina.__file__).parent / "bin" / "runtime_api_driver"
AWSLAMBDARIC_DISTRIBUTIONS = ("awslambdaric", "simplejson", "snapshot-restore-py")


def tree_size(root: Path) -> int:
    return sum(path.stat().st_size for path in root.rglob("*") if path.is_file() and not path.is_symlink())


def build_and_extract(request: LayerRequest, destination: Path) -> tuple[int, int, Path]:
    build_layer(request)
    extract_zip(request.output, destination)
    return request.output.stat().st_size, tree_size(destination), destination


def awslambdaric_tree(layer_root: Path, python_name: str, destination: Path) -> Path:
    """The layer's interpreter and libraries with awslambdaric (and its dependencies, as
    installed here) in site-packages instead of lamina, started by AWS's way."""
    shutil.copytree(layer_root / "bin", destination / "bin")
    shutil.copytree(layer_root / "lib", destination / "lib", ignore=lambda folder, names: [n for n in names if n.startswith("lamina")])
    site_packages = destination / "lib" / python_name / "site-packages"
    for name in AWSLAMBDARIC_DISTRIBUTIONS:
        distribution = importlib.metadata.distribution(name)
        for file in distribution.files or []:
            source = Path(distribution.locate_file(file))
            if source.is_file() and ".." not in file.parts:
                target = site_packages / file
                target.parent.mkdir(parents=True, exist_ok=True)
                shutil.copy2(source, target)
    subprocess.run([sys.executable, "-m", "compileall", "-q", str(site_packages)], check=True)
    bootstrap = destination / "bootstrap"
    bootstrap.write_text(
        "#!/bin/sh\n"
        'layer=${0%/*}\n'
        'export LD_LIBRARY_PATH="$layer/lib${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}"\n'
        f'exec "$layer/bin/{python_name}" -m awslambdaric "$_HANDLER"\n'
    )
    bootstrap.chmod(0o755)
    return bootstrap


def direct_command(layer_root: Path, python_name: str) -> tuple[list[str], list[str]]:
    """What the bootstrap execs, without the script: (command, --env arguments)."""
    variables = {
        "LD_LIBRARY_PATH": f"{layer_root}/lib",
        "PYTHONPATH": f"{layer_root}/python/lib/{python_name}/site-packages:{layer_root}/python:{layer_root}/lib/{python_name}/site-packages",
    }
    return [str(layer_root / "bin" / python_name), "-s", "-m", "lamina", "handlers.area"], [
        argument for key, value in variables.items() for argument in ("--env", f"{key}={value}")
    ]


def cold_start_ms(command: list[str], extra: list[str], spawns: int) -> float:
    payloads = BENCH / "payloads"
    driver = [
        str(DRIVER), "--payload", str(payloads / "area.json"), "--expect", str(payloads / "area.expected.json"),
        "--cold-starts", str(spawns), "--runtime-output", os.devnull, "--json",
        "--env", "_HANDLER=handlers.area", *extra, "--", *command,
    ]
    environment = {k: v for k, v in os.environ.items() if not k.startswith(("PYTHON", "VIRTUAL_ENV", "LD_LIBRARY_PATH"))}
    environment["LAMBDA_TASK_ROOT"] = str(BENCH)
    result = subprocess.run(driver, cwd=BENCH, env=environment, capture_output=True, text=True)
    report = json.loads(result.stdout)
    if report.get("outcome") != "ok":
        raise RuntimeError(f"{command[0]}: {report.get('outcome')}: {report.get('first_error')}")
    return report["cold_start_us"]["median"] / 1000


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--arm64-python-dist", type=Path, default=REPOSITORY / "build" / "fixtures" / "debian-arm64")
    parser.add_argument("--numpy", help='also measure layers with numpy, e.g. "numpy>=2"')
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--spawns", type=int, default=11, help="cold starts per runtime and round (median taken)")
    parser.add_argument("--output", type=Path, default=BENCH / "results")
    arguments = parser.parse_args()
    write_payloads(BENCH / "payloads")

    rows, cold = [], {}
    with tempfile.TemporaryDirectory(prefix="lamina-bench-layer-") as scratch_name:
        scratch = Path(scratch_name)
        variants = [("x86_64", None, None)]
        if (arguments.arm64_python_dist / "usr" / "bin").is_dir() or (arguments.arm64_python_dist / "bin").is_dir():
            variants.append(("arm64", arguments.arm64_python_dist, None))
        if arguments.numpy:
            variants += [(architecture, dist, arguments.numpy) for architecture, dist, _ in list(variants)]
        roots = {}
        for architecture, dist, numpy in variants:
            name = f"{architecture}{'-numpy' if numpy else ''}"
            request = LayerRequest(architecture, scratch / f"{name}.zip", dist, numpy=numpy, source=REPOSITORY)
            zipped, extracted, root = build_and_extract(request, scratch / name)
            roots[name] = root
            rows.append(f"| {architecture} | {'with ' + numpy if numpy else 'without numpy'} | {zipped / 1e6:.1f} MB | {extracted / 1e6:.1f} MB |")

        layer_root = roots["x86_64"]
        python_name = next((layer_root / "bin").iterdir()).name
        ric_bootstrap = awslambdaric_tree(layer_root, python_name, scratch / "awslambdaric")
        direct, direct_env = direct_command(layer_root, python_name)
        runtimes = {
            "lamina bootstrap": ([str(layer_root / "bootstrap")], []),
            "lamina, direct": (direct, direct_env),
            "awslambdaric": ([str(ric_bootstrap)], []),
        }
        cold = {name: [] for name in runtimes}
        for _ in range(arguments.rounds):
            for name, (command, extra) in runtimes.items():
                cold[name].append(cold_start_ms(command, extra, arguments.spawns))

    medians = {name: statistics.median(values) for name, values in cold.items()}
    reference = medians["awslambdaric"]
    lines = [
        f"Measured {datetime.date.today().isoformat()}, `python bench/layer.py --rounds {arguments.rounds} --spawns {arguments.spawns}`.",
        "",
        "| layer | contents | zip | extracted |",
        "|---|---|---:|---:|",
        *rows,
        "",
        f"Cold start, spawn → first response, x86_64 layer ({python_name}); median over {arguments.rounds} alternating rounds of the median of {arguments.spawns} spawns:",
        "",
        "| runtime | cold start | / awslambdaric |",
        "|---|---:|---:|",
        *[f"| {name} | {value:.1f} ms | **{value / reference:.2f}** |" for name, value in medians.items()],
        "",
    ]
    table = "\n".join(lines)
    arguments.output.mkdir(parents=True, exist_ok=True)
    (arguments.output / "layer.md").write_text(table)
    print(table)


if __name__ == "__main__":
    main()
