"""The local Lambda as its users see it: boto3 -> ``lamina serve`` -> a result.

    python bench/local_lambda.py [--invokes 2000] [--cold-starts 10] [--concurrent 50] [--json FILE]

- **warm invoke**: p50/p99 of synchronous boto3 invokes of an echo function whose environment
  is warm, next to the floor of the same boto3 call answered by the server without a
  function (a 404), which is what boto3 + HTTP alone cost;
- **cold start**: CreateFunction (a zip upload) -> first result, and the first invoke alone;
- **concurrency**: N invokes at once of a function that sleeps 0.5 s, wall time against the
  N x 0.5 s they would take one after the other: first with no environment warm (N cold
  starts), then again with N warm environments.

The server is a real ``lamina serve`` process on a loopback port; its log output is read and
dropped, as a terminal would show it.
"""

from __future__ import annotations

import argparse
import io
import json
import os
import platform
import re
import statistics
import subprocess
import sys
import threading
import time
import uuid
import zipfile
from concurrent.futures import ThreadPoolExecutor

import boto3
from botocore.config import Config

HANDLERS = '''
import time

def echo(event, context):
    return event

def sleeps(event, context):
    time.sleep(event["seconds"])
    return context.aws_request_id
'''
ROLE = "arn:aws:iam::123456789012:role/bench"
EVENT = json.dumps({"id": "3f1e", "items": [{"sku": f"A-{n}", "quantity": n} for n in range(10)], "note": "x" * 200}).encode()


def start_server(concurrency: int) -> tuple[subprocess.Popen, str]:
    environment = {**os.environ, "AWS_ACCESS_KEY_ID": "bench", "AWS_SECRET_ACCESS_KEY": "bench", "PYTHONUNBUFFERED": "1"}
    process = subprocess.Popen(
        [sys.executable, "-m", "lamina.cli", "serve", "--port", "0", "--concurrency", str(concurrency)],
        stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True, env=environment,
    )
    first = process.stdout.readline()  # type: ignore[union-attr]
    match = re.search(r"http://\S+", first)
    if match is None:
        process.kill()
        raise SystemExit(f"lamina serve did not start: {first!r}")
    threading.Thread(target=lambda: [None for _ in process.stdout], daemon=True).start()  # type: ignore[union-attr]
    return process, match.group(0)


def client_for(url: str, connections: int):
    session = boto3.session.Session(aws_access_key_id="bench", aws_secret_access_key="bench", region_name="us-east-1")
    config = Config(retries={"total_max_attempts": 1}, max_pool_connections=connections, read_timeout=120)
    return session.client("lambda", endpoint_url=url, config=config)


def package() -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("handlers.py", HANDLERS)
    return buffer.getvalue()


def create(client, handler: str, code: bytes, timeout: int = 10) -> str:
    name = f"bench-{uuid.uuid4().hex[:8]}"
    client.create_function(FunctionName=name, Runtime="python3.12", Role=ROLE, Handler=handler, Code={"ZipFile": code}, Timeout=timeout)
    return name


def percentile(samples: list[float], fraction: float) -> float:
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, int(round(fraction * (len(ordered) - 1))))]


def warm_invokes(client, count: int) -> dict:
    name = create(client, "handlers.echo", package())
    for _ in range(50):  # the environment is warm, boto3's connection open
        client.invoke(FunctionName=name, Payload=EVENT)["Payload"].read()
    latencies = []
    for _ in range(count):
        started = time.perf_counter()
        response = client.invoke(FunctionName=name, Payload=EVENT)
        body = response["Payload"].read()
        latencies.append((time.perf_counter() - started) * 1000)
        assert body == EVENT.replace(b" ", b"") or json.loads(body) == json.loads(EVENT), body[:100]
    floor = []
    for _ in range(min(count, 1000)):
        started = time.perf_counter()
        try:
            client.invoke(FunctionName="bench-no-such-function", Payload=EVENT)
        except client.exceptions.ResourceNotFoundException:
            pass
        floor.append((time.perf_counter() - started) * 1000)
    return {
        "invokes": count,
        "p50_ms": statistics.median(latencies),
        "p99_ms": percentile(latencies, 0.99),
        "mean_ms": statistics.fmean(latencies),
        "floor_p50_ms": statistics.median(floor),
        "floor_p99_ms": percentile(floor, 0.99),
    }


def cold_starts(client, count: int) -> dict:
    code = package()
    create_to_result, first_invoke = [], []
    for _ in range(count):
        started = time.perf_counter()
        name = create(client, "handlers.echo", code)
        created = time.perf_counter()
        client.invoke(FunctionName=name, Payload=EVENT)["Payload"].read()
        finished = time.perf_counter()
        create_to_result.append((finished - started) * 1000)
        first_invoke.append((finished - created) * 1000)
        client.delete_function(FunctionName=name)
    return {
        "count": count,
        "create_to_result_p50_ms": statistics.median(create_to_result),
        "create_to_result_max_ms": max(create_to_result),
        "first_invoke_p50_ms": statistics.median(first_invoke),
    }


def concurrent_invokes(client, count: int, seconds: float = 0.5) -> dict:
    name = create(client, "handlers.sleeps", package())
    payload = json.dumps({"seconds": seconds}).encode()

    def one_round() -> tuple[float, int]:
        barrier = threading.Barrier(count)

        def call(_: int) -> str:
            barrier.wait()
            response = client.invoke(FunctionName=name, Payload=payload)
            if response.get("FunctionError"):
                raise RuntimeError(response["Payload"].read())
            return json.loads(response["Payload"].read())

        with ThreadPoolExecutor(count) as pool:
            started = time.perf_counter()
            request_ids = list(pool.map(call, range(count)))
            return time.perf_counter() - started, len(set(request_ids))

    cold_wall, cold_distinct = one_round()
    warm_wall, warm_distinct = one_round()
    assert cold_distinct == warm_distinct == count
    return {"invokes": count, "function_seconds": seconds, "serial_seconds": count * seconds,
            "cold_wall_seconds": cold_wall, "warm_wall_seconds": warm_wall}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--invokes", type=int, default=2000, help="warm invokes measured")
    parser.add_argument("--cold-starts", type=int, default=10, help="functions created and invoked once")
    parser.add_argument("--concurrent", type=int, default=50, help="invokes of the 0.5 s function at once")
    parser.add_argument("--json", metavar="FILE", help="also write the figures as JSON")
    arguments = parser.parse_args()

    process, url = start_server(concurrency=max(100, arguments.concurrent))
    try:
        client = client_for(url, connections=arguments.concurrent + 2)
        results = {
            "machine": {"python": platform.python_version(), "cpus": os.cpu_count(), "platform": platform.platform()},
            "warm": warm_invokes(client, arguments.invokes),
            "cold": cold_starts(client, arguments.cold_starts),
            "concurrent": concurrent_invokes(client, arguments.concurrent),
        }
    finally:
        process.terminate()
        process.wait(30)

    warm, cold, concurrent = results["warm"], results["cold"], results["concurrent"]
    print(f"warm invoke (boto3 -> lamina serve -> echo, {len(EVENT)} B event, {warm['invokes']} invokes):")
    print(f"  p50 {warm['p50_ms']:.2f} ms   p99 {warm['p99_ms']:.2f} ms   mean {warm['mean_ms']:.2f} ms")
    print(f"  boto3 + HTTP floor (404 from the server): p50 {warm['floor_p50_ms']:.2f} ms   p99 {warm['floor_p99_ms']:.2f} ms")
    print(f"cold start ({cold['count']} functions):")
    print(f"  CreateFunction -> first result: p50 {cold['create_to_result_p50_ms']:.1f} ms   max {cold['create_to_result_max_ms']:.1f} ms")
    print(f"  first invoke alone: p50 {cold['first_invoke_p50_ms']:.1f} ms")
    print(f"{concurrent['invokes']} concurrent invokes of a {concurrent['function_seconds']} s function "
          f"(serially {concurrent['serial_seconds']:.1f} s):")
    print(f"  {concurrent['invokes']} cold environments: {concurrent['cold_wall_seconds']:.2f} s wall")
    print(f"  {concurrent['invokes']} warm environments: {concurrent['warm_wall_seconds']:.2f} s wall")
    if arguments.json:
        with open(arguments.json, "w") as output:
            json.dump(results, output, indent=2)


if __name__ == "__main__":
    main()
