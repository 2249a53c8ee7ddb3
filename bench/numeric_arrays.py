"""Float decode into numpy, in MB/s and ms per MB (../shared/spec/performance.md: ≤ 1 ms per MB).

    python bench/numeric_arrays.py [--count 50000] [--repeat 200]

Decodes the floats_50k_sum event (bench/payloads.py) into a float64 ndarray with lamina's
vectorized decoder, and, in the same run, with the usual routes for comparison: lamina's
plain decoder + np.array, orjson + np.array, json + np.array. Reports the median of
``--repeat`` runs each; only the ratios within one run mean much on a shared machine.
"""

from __future__ import annotations

import argparse
import json
import statistics
import time
from typing import Callable

import numpy as np

from lamina import Float64, vectorized
from lamina._core import decode_json, decode_json_with_arrays
from payloads import floats_event


def median_seconds(function: Callable[[], object], repeat: int) -> tuple[float, float]:
    """Median wall time and median CPU time of this process (less disturbed by the other
    processes of a shared machine than the wall time)."""
    function()  # warm: buffers, caches
    walls, cpus = [], []
    for _ in range(repeat):
        start, start_cpu = time.perf_counter(), time.process_time()
        function()
        cpus.append(time.process_time() - start_cpu)
        walls.append(time.perf_counter() - start)
    return statistics.median(walls), statistics.median(cpus)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--count", type=int, default=50_000, help="floats in the event (default 50,000)")
    parser.add_argument("--repeat", type=int, default=200, help="timed runs per route (default 200)")
    arguments = parser.parse_args()

    document = json.dumps(floats_event(arguments.count), separators=(",", ":")).encode()
    megabytes = len(document) / 1e6
    plan = vectorized(values=Float64["values"])(lambda event, context, values: None).numeric_arrays
    expected = np.array(json.loads(document)["values"])
    assert np.array_equal(decode_json_with_arrays(document, plan)["values"], expected)

    routes: dict[str, Callable[[], object]] = {
        "lamina vectorized (Float64['values'])": lambda: decode_json_with_arrays(document, plan),
        "lamina decode_json + np.array": lambda: np.array(decode_json(document)["values"]),
        "json.loads + np.array": lambda: np.array(json.loads(document)["values"]),
    }
    try:
        import orjson

        routes["orjson.loads + np.array"] = lambda: np.array(orjson.loads(document)["values"])
    except ImportError:
        pass

    print(f"{arguments.count:,} floats, {len(document):,} bytes; median of {arguments.repeat} runs\n")
    print("| route | wall ms | CPU ms | CPU ms per MB | MB/s (CPU) | time / vectorized's (CPU) |")
    print("|---|---:|---:|---:|---:|---:|")
    baseline = None
    for name, route in routes.items():
        wall, cpu = median_seconds(route, arguments.repeat)
        baseline = baseline or cpu
        print(
            f"| {name} | {wall * 1e3:.2f} | {cpu * 1e3:.2f} | {cpu * 1e3 / megabytes:.2f} | {megabytes / cpu:,.0f} "
            f"| {cpu / baseline:.1f}× |"
        )


if __name__ == "__main__":
    main()
