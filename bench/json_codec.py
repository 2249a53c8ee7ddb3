"""Speed of lamina's payload codec against json, simplejson (awslambdaric's), orjson and msgspec.

Run: python bench/json_codec.py [--rounds 7] [--target-ms 20] [--output bench/results]

Decodes and encodes each bench payload of bench/payloads.py (the performance spec's: area
event, API Gateway v2, SQS-10, ~850 KB of records, 50k floats) with every library. Each
library's time is the best of `rounds` rounds, and each round times every library once, in
turn, so that all of them see the same machine load (these machines are shared; only ratios
within one run mean anything). Prints a markdown table and writes it, with a PNG chart, to
the output folder (json_codec.md, json_codec.png).
"""

from __future__ import annotations

import argparse
import json
import logging
import platform
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable

import msgspec
import orjson
import simplejson

sys.path.insert(0, str(Path(__file__).resolve().parent))
from payloads import all_payloads  # noqa: E402

from lamina import _core  # noqa: E402

LIBRARIES = ("lamina", "orjson", "msgspec", "json", "simplejson")
# awslambdaric's marshaller configuration.
SIMPLEJSON_AWSLAMBDARIC = simplejson.JSONEncoder(use_decimal=False, ensure_ascii=False, allow_nan=True)
MSGSPEC_ENCODER = msgspec.json.Encoder()
MSGSPEC_DECODER = msgspec.json.Decoder()

DECODERS: dict[str, Callable[[bytes], Any]] = {
    "lamina": _core.decode_json,
    "orjson": orjson.loads,
    "msgspec": MSGSPEC_DECODER.decode,
    "json": json.loads,
    "simplejson": simplejson.loads,
}
ENCODERS: dict[str, Callable[[Any], Any]] = {
    "lamina": _core.encode_json,
    "orjson": orjson.dumps,
    "msgspec": MSGSPEC_ENCODER.encode,
    "json": lambda value: json.dumps(value, ensure_ascii=False, separators=(",", ":")).encode(),
    "simplejson": lambda value: SIMPLEJSON_AWSLAMBDARIC.encode(value).encode(),
}

logger = logging.getLogger("bench.json_codec")


@dataclass
class Measurement:
    payload: str
    size: int  # bytes of the compact JSON document
    operation: str  # "decode" or "encode"
    seconds: dict[str, float]  # library -> best seconds per call

    def megabytes_per_second(self, library: str) -> float:
        return self.size / self.seconds[library] / 1e6

    def ratio_to(self, library: str, reference: str = "orjson") -> float:
        return self.seconds[library] / self.seconds[reference]


def calls_per_timing(function: Callable[[], Any], target_seconds: float) -> int:
    start = time.perf_counter()
    function()
    once = max(time.perf_counter() - start, 1e-7)
    return max(1, int(target_seconds / once))


def best_seconds_per_call(functions: dict[str, Callable[[], Any]], rounds: int, target_seconds: float) -> dict[str, float]:
    numbers = {name: calls_per_timing(function, target_seconds) for name, function in functions.items()}
    best = {name: float("inf") for name in functions}
    names = list(functions)
    for round_number in range(rounds):
        # Rotate the order so that no library always runs right after the same one.
        for name in names[round_number % len(names):] + names[: round_number % len(names)]:
            function, number = functions[name], numbers[name]
            start = time.perf_counter()
            for _ in range(number):
                function()
            best[name] = min(best[name], (time.perf_counter() - start) / number)
    return best


def measure(rounds: int, target_seconds: float) -> list[Measurement]:
    measurements = []
    for payload, (event, _expected, _handler) in all_payloads().items():
        document = json.dumps(event, separators=(",", ":")).encode()
        # The codec must be right before it is fast.
        assert _core.decode_json(document) == json.loads(document), payload
        assert json.loads(_core.encode_json(event)) == event, payload
        decoders = {name: (lambda f=DECODERS[name]: f(document)) for name in LIBRARIES}
        encoders = {name: (lambda f=ENCODERS[name]: f(event)) for name in LIBRARIES}
        for operation, functions in (("decode", decoders), ("encode", encoders)):
            seconds = best_seconds_per_call(functions, rounds, target_seconds)
            measurements.append(Measurement(payload, len(document), operation, seconds))
            logger.info("%s %s done", payload, operation)
    return measurements


def format_time(seconds: float) -> str:
    if seconds >= 1e-3:
        return f"{seconds * 1e3:.2f} ms"
    return f"{seconds * 1e6:.2f} µs"


def format_size(size: int) -> str:
    return f"{size / 1e3:.1f} KB" if size >= 1000 else f"{size} B"


def machine_description() -> str:
    model = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    versions = f"orjson {orjson.__version__}, msgspec {msgspec.__version__}, simplejson {simplejson.__version__}"
    return (f"{model}, {platform.machine()}, Python {platform.python_version()}, lamina kernel "
            f"{_core._json_kernels.active}; {versions}")


def markdown_table(measurements: list[Measurement]) -> str:
    header = "| payload | size | op | " + " | ".join(LIBRARIES) + " | lamina ÷ orjson |"
    lines = [header, "|" + "---|" * (len(LIBRARIES) + 4)]
    for measurement in measurements:
        cells = [f"{format_time(measurement.seconds[name])} ({measurement.megabytes_per_second(name):,.0f} MB/s)"
                 for name in LIBRARIES]
        ratio = measurement.ratio_to("lamina")
        lines.append(f"| {measurement.payload} | {format_size(measurement.size)} | {measurement.operation} | "
                     + " | ".join(cells) + f" | **{ratio:.2f}×** |")
    return "\n".join(lines)


def write_chart(measurements: list[Measurement], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    figure, axes = plt.subplots(1, 2, figsize=(13, 4.8), sharey=True)
    for axis, operation in zip(axes, ("decode", "encode")):
        rows = [measurement for measurement in measurements if measurement.operation == operation]
        width = 0.8 / len(LIBRARIES)
        for index, library in enumerate(LIBRARIES):
            positions = [row_number + (index - (len(LIBRARIES) - 1) / 2) * width for row_number in range(len(rows))]
            axis.bar(positions, [row.ratio_to(library) for row in rows], width, label=library)
        axis.axhline(1.0, color="black", linewidth=0.8, linestyle="--")
        axis.set_xticks(range(len(rows)), [row.payload for row in rows], rotation=20, ha="right")
        axis.set_yscale("log")
        axis.set_title(f"{operation}: time relative to orjson (lower is faster)")
    axes[0].set_ylabel("time ÷ orjson's time")
    handles, labels = axes[0].get_legend_handles_labels()
    figure.legend(handles, labels, loc="upper center", ncol=len(LIBRARIES), frameon=False)
    figure.tight_layout(rect=(0, 0, 1, 0.93))
    figure.savefig(path, dpi=110)
    plt.close(figure)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=7, help="rounds per measurement; the best is kept")
    parser.add_argument("--target-ms", type=float, default=20.0, help="length of one timing, in milliseconds")
    parser.add_argument("--output", type=Path, default=Path(__file__).resolve().parent / "results")
    arguments = parser.parse_args()
    logging.basicConfig(level=logging.INFO, format="%(message)s")

    measurements = measure(arguments.rounds, arguments.target_ms / 1e3)
    table = markdown_table(measurements)
    report = (f"Codec alone, best of {arguments.rounds} interleaved rounds; {machine_description()}.\n\n"
              f"{table}\n")
    arguments.output.mkdir(parents=True, exist_ok=True)
    (arguments.output / "json_codec.md").write_text(report, encoding="utf-8")
    write_chart(measurements, arguments.output / "json_codec.png")
    sys.stdout.write(report)
    logger.info("wrote %s and %s", arguments.output / "json_codec.md", arguments.output / "json_codec.png")


if __name__ == "__main__":
    main()
