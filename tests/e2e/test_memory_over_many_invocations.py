"""100,000 invocations leave the runtime's memory where it was (performance.md: RSS growth
under 1 MB). The native driver serves them; peak RSS after 10,000 and after 110,000
invocations, in two runs, must differ by less than 1 MB."""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

import lamina

DRIVER = Path(lamina.__file__).parent / "bin" / "runtime_api_driver"
FUNCTIONS = Path(__file__).parent / "functions"
EVENT = {
    "version": "2.0",
    "rawPath": "/orders",
    "headers": {"content-type": "application/json", "x-forwarded-for": "203.0.113.17"},
    "queryStringParameters": {"limit": "25"},
    "body": json.dumps({"items": [{"sku": i, "qty": 2, "price": 9.99} for i in range(5)]}),
    "isBase64Encoded": False,
}


def peak_rss_kb(tmp_path: Path, handler: str, invocations: int) -> int:
    payload = tmp_path / "event.json"
    payload.write_text(json.dumps(EVENT))
    command = [
        str(DRIVER), "--payload", str(payload), "--count", str(invocations), "--json",
        "--runtime-output", os.devnull, "--", sys.executable, "-m", "lamina", handler,
    ]
    environment = dict(os.environ, LAMBDA_TASK_ROOT=str(FUNCTIONS))
    report = json.loads(subprocess.run(command, cwd=FUNCTIONS, env=environment, capture_output=True, text=True, timeout=600).stdout)
    assert report["completed"] == invocations
    return report["peak_rss_kb"]


@pytest.mark.parametrize(("handler", "extra_invocations"), [("app.echo", 100_000), ("app.raises_value_error", 20_000)])
def test_rss_does_not_grow_over_many_invocations(tmp_path, handler, extra_invocations):
    baseline = peak_rss_kb(tmp_path, handler, 10_000)
    after = peak_rss_kb(tmp_path, handler, 10_000 + extra_invocations)
    assert after - baseline < 1024, f"peak RSS grew by {after - baseline} KB over {extra_invocations} invocations"
