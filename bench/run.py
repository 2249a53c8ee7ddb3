"""lamina against awslambdaric, same handlers, same payloads, one run, one table.

    python bench/run.py [--rounds 3] [--quick] [--output bench/results]

The native Runtime API driver (lamina/bin/runtime_api_driver) plays Lambda's side: it spawns
each runtime, serves every invocation, checks every response, and reports throughput,
latency, cold start and peak RSS. Runtimes alternate A/B/A/B so that the machine's drift
hits both; each figure is the median over the rounds, and only ratios from the same run are
meant to be compared (../shared/spec/performance.md).
"""

from __future__ import annotations

import argparse
import datetime
import json
import os
import platform
import statistics
import subprocess
import sys
import sysconfig
from dataclasses import dataclass
from pathlib import Path

import lamina
from payloads import write_payloads

BENCH = Path(__file__).resolve().parent
TOOLS = Path(lamina.__file__).parent / "bin"
RUNTIMES = {
    "awslambdaric": [sys.executable, "-m", "awslambdaric"],
    "lamina": [sys.executable, "-m", "lamina"],
}
# Rows where lamina runs another handler than payloads.py names (../shared/spec/performance.md):
# 50k floats is lamina's vectorized handler against awslambdaric's plain-Python sum.
LAMINA_HANDLERS = {"floats_50k_sum": "vectorized_handlers.sum_values"}
# Measured invocations per payload and round: enough for stable medians, few enough for minutes.
COUNTS = {"area": 20000, "apigw_v2_echo": 20000, "sqs_10_echo": 10000, "records_850k_echo": 150, "floats_50k_sum": 200}


@dataclass
class Measurement:
    invocations_per_second: float
    p50_us: float
    p99_us: float
    peak_rss_kb: int


def drive(
    payload: Path, expected: Path, command: list[str], count: int, warmup: int, extra: list[str] = (), env: dict | None = None
) -> dict:
    """One driver run; returns its JSON report."""
    driver = [
        str(TOOLS / "runtime_api_driver"),
        "--payload", str(payload),
        "--expect", str(expected),
        "--count", str(count),
        "--warmup", str(warmup),
        "--runtime-output", os.devnull,
        "--json",
        *extra,
        "--",
        *command,
    ]
    # As on Lambda: this machine's PYTHONUNBUFFERED would make every print() a write() syscall.
    environment = {k: v for k, v in os.environ.items() if k not in ("PYTHONUNBUFFERED", "PYTHONDONTWRITEBYTECODE")}
    environment["LAMBDA_TASK_ROOT"] = str(BENCH)
    environment.update(env or {})
    result = subprocess.run(driver, cwd=BENCH, env=environment, capture_output=True, text=True)
    report = json.loads(result.stdout)
    if report.get("outcome") != "ok":
        raise RuntimeError(f"{' '.join(command)} on {payload.name}: {report.get('outcome')}: {report.get('first_error')}")
    return report


def measure_throughput(payload: Path, expected: Path, command: list[str], count: int) -> Measurement:
    report = drive(payload, expected, command, count, warmup=max(10, count // 10))
    latency = report["latency_us"]
    return Measurement(report["invocations_per_second"], latency["p50"], latency["p99"], report["peak_rss_kb"])


def measure_cold_start(payload: Path, expected: Path, command: list[str], spawns: int, env: dict | None = None) -> float:
    report = drive(payload, expected, command, 1, 0, ["--cold-starts", str(spawns)], env)
    return report["cold_start_us"]["median"]


def machine_description() -> str:
    model = "unknown CPU"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return f"{model}, {os.cpu_count()} cores, Linux {platform.release()}, Python {platform.python_version()}"


def run(rounds: int, quick: bool, output: Path, only: list[str] | None = None) -> str:
    payload_dir = BENCH / "payloads"
    handlers = write_payloads(payload_dir)
    scale = 0.1 if quick else 1.0
    results: dict[str, dict[str, list[Measurement]]] = {}
    for name, handler in handlers.items():
        if only and name not in only:
            continue
        payload, expected = payload_dir / f"{name}.json", payload_dir / f"{name}.expected.json"
        count = max(20, int(COUNTS[name] * scale))
        results[name] = {runtime: [] for runtime in [*RUNTIMES, "floor"]}
        runs = {runtime: ([*command, handler], expected) for runtime, command in RUNTIMES.items()}
        if name in LAMINA_HANDLERS:
            runs["lamina"] = ([*RUNTIMES["lamina"], LAMINA_HANDLERS[name]], _vectorized_sum_answer(payload, payload_dir))
        for _ in range(rounds):
            for runtime, (command, runtime_expected) in runs.items():
                results[name][runtime].append(measure_throughput(payload, runtime_expected, command, count))
        if name.endswith("_echo") or name == "area":
            floor = [str(TOOLS / "floor_runtime")]
            expected_floor = expected if name.endswith("_echo") else payload  # the floor echoes
            results[name]["floor"].append(measure_throughput(payload, expected_floor, floor, count))
        print(f"measured {name}", file=sys.stderr)

    cold_starts: dict[str, list[float]] = {runtime: [] for runtime in RUNTIMES}
    cold_starts_without_site: dict[str, list[float]] = {runtime: [] for runtime in RUNTIMES}
    area, area_expected = payload_dir / "area.json", payload_dir / "area.expected.json"
    # The same, with Python's `site` skipped and site-packages given as PYTHONPATH: .pth hooks
    # of the machine (this sandbox's adds ~16 ms of certifi imports to every Python start) then
    # weigh on neither runtime, as on Lambda, whose images have none.
    without_site = {"PYTHONPATH": os.pathsep.join(dict.fromkeys(sysconfig.get_paths()[key] for key in ("purelib", "platlib")))}
    for _ in range(rounds):
        for runtime, command in RUNTIMES.items():
            cold_starts[runtime].append(measure_cold_start(area, area_expected, [*command, "handlers.area"], 11))
            bare = [command[0], "-S", *command[1:], "handlers.area"]
            cold_starts_without_site[runtime].append(measure_cold_start(area, area_expected, bare, 11, without_site))
    cold_starts = {"as installed": cold_starts, "python -S": cold_starts_without_site}

    table = format_table(results, cold_starts, rounds)
    output.mkdir(parents=True, exist_ok=True)
    (output / "latest.md").write_text(table)
    (output / "latest.json").write_text(json.dumps(_as_json(results, cold_starts), indent=2))
    _chart(results, output / "latest.png")
    return table


def _vectorized_sum_answer(payload: Path, payload_dir: Path) -> Path:
    """What the vectorized handler answers: numpy's pairwise sum, whose last digits differ from
    sum()'s sequential one."""
    import numpy

    values = numpy.array(json.loads(payload.read_text())["values"], dtype=numpy.float64)
    answer = payload_dir / f"{payload.stem}.vectorized.expected.json"
    answer.write_text(json.dumps(float(values.sum())))
    return answer


def _median(measurements: list[Measurement], field: str) -> float:
    return statistics.median(getattr(m, field) for m in measurements)


def format_table(results: dict, cold_starts: dict, rounds: int) -> str:
    date = datetime.date.today().isoformat()
    lines = [
        f"Measured {date} on {machine_description()}; median of {rounds} alternating rounds;",
        "`python bench/run.py`. Ratios compare lamina with awslambdaric "
        f"{_version('awslambdaric')} in the same run.",
        "",
        "| payload | awslambdaric inv/s | lamina inv/s | ratio | awslambdaric p50 | lamina p50 | p50 speed-up | floor inv/s | lamina / floor |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for name, by_runtime in results.items():
        theirs, ours = by_runtime["awslambdaric"], by_runtime["lamina"]
        their_rate, our_rate = _median(theirs, "invocations_per_second"), _median(ours, "invocations_per_second")
        their_p50, our_p50 = _median(theirs, "p50_us"), _median(ours, "p50_us")
        floor = by_runtime["floor"]
        floor_rate = _median(floor, "invocations_per_second") if floor else None
        lines.append(
            f"| {name} | {their_rate:,.0f} | {our_rate:,.0f} | **{our_rate / their_rate:.2f}×** "
            f"| {_duration(their_p50)} | {_duration(our_p50)} | **{their_p50 / our_p50:.2f}×** "
            f"| {f'{floor_rate:,.0f}' if floor_rate else '—'} | {f'{our_rate / floor_rate:.2f}' if floor_rate else '—'} |"
        )
    if any(name in results for name in LAMINA_HANDLERS):
        lines.append("")
        lines.append(
            "floats_50k_sum: lamina runs the vectorized handler (`bench/vectorized_handlers.py`: the array decoded "
            "from the event's bytes, `values.sum()`), awslambdaric the plain `sum(event[\"values\"])`; target: p50 speed-up ≥ 15×."
        )
    cold_rows = []
    for mode, by_runtime in cold_starts.items():
        their_cold, our_cold = statistics.median(by_runtime["awslambdaric"]), statistics.median(by_runtime["lamina"])
        cold_rows.append(
            f"| cold start ({mode}), spawn → first response, median of 11 per round | {their_cold / 1000:.1f} ms "
            f"| {our_cold / 1000:.1f} ms | **{our_cold / their_cold:.2f}** |"
        )
    their_rss = max(m.peak_rss_kb for m in results["area"]["awslambdaric"])
    our_rss = max(m.peak_rss_kb for m in results["area"]["lamina"])
    lines += [
        "",
        "| figure | awslambdaric | lamina | lamina / awslambdaric |",
        "|---|---:|---:|---:|",
        *cold_rows,
        f"| peak RSS, tiny event | {their_rss / 1024:.1f} MB | {our_rss / 1024:.1f} MB | **{our_rss / their_rss:.2f}** |",
        "",
    ]
    return "\n".join(lines)


def _duration(microseconds: float) -> str:
    return f"{microseconds / 1000:.1f} ms" if microseconds >= 1000 else f"{microseconds:.0f} µs"


def _version(package: str) -> str:
    from importlib.metadata import version

    return version(package)


def _as_json(results: dict, cold_starts: dict) -> dict:
    return {
        "machine": machine_description(),
        "throughput": {name: {rt: [m.__dict__ for m in ms] for rt, ms in by_rt.items()} for name, by_rt in results.items()},
        "cold_start_us": cold_starts,
    }


def _chart(results: dict, path: Path) -> None:
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        print("matplotlib is not installed: no chart (pip install 'lamina[bench]')", file=sys.stderr)
        return
    names = list(results)
    ratios = [
        _median(results[n]["lamina"], "invocations_per_second") / _median(results[n]["awslambdaric"], "invocations_per_second")
        for n in names
    ]
    figure, axes = plt.subplots(figsize=(8, 3.5))
    axes.barh(names, ratios, color="#2b7a78")
    axes.axvline(1.0, color="#555", linewidth=1)
    axes.set_xlabel("invocations/s, lamina ÷ awslambdaric (same run)")
    for y, ratio in enumerate(ratios):
        axes.text(ratio, y, f" {ratio:.2f}×", va="center")
    figure.tight_layout()
    figure.savefig(path, dpi=120)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rounds", type=int, default=3, help="alternating rounds per payload (default 3)")
    parser.add_argument("--quick", action="store_true", help="a tenth of the invocations: a smoke run")
    parser.add_argument("--output", type=Path, default=BENCH / "results", help="where latest.md/.json/.png go")
    parser.add_argument("--only", nargs="+", metavar="PAYLOAD", help="measure only these payloads (and the area row the summary needs)")
    arguments = parser.parse_args()
    only = [*arguments.only, "area"] if arguments.only else None
    print(run(arguments.rounds, arguments.quick, arguments.output, only))


if __name__ == "__main__":
    main()
