"""Is the Cython-compiled per-invocation glue worth it? The same source file, compiled (what
the runtime imports) and interpreted, on the work the runtime does for every invocation.

    python bench/cython_glue.py
"""

from __future__ import annotations

import importlib.util
import time
import timeit
from pathlib import Path

import lamina.runtime.context as compiled

SOURCE = Path(compiled.__file__).with_name("context.py")
if not SOURCE.exists():  # an installed wheel ships the source next to the compiled module
    SOURCE = Path(__file__).resolve().parents[1] / "src" / "lamina" / "runtime" / "context.py"


def load_interpreted():
    spec = importlib.util.spec_from_file_location("lamina.runtime.context_interpreted", SOURCE)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def per_invocation(module) -> None:
    """What the loop and a typical handler do with the context of one invocation."""
    context = module.Context(
        "8476a536-e9f4-11e8-9739-2dfe598c3fcd", int(time.time() * 1000) + 3000,
        "arn:aws:lambda:us-east-1:123456789012:function:orders", None, None, None,
        "orders", "$LATEST", "1024", "/aws/lambda/orders", "2026/11/27/[$LATEST]0123456789abcdef",
    )
    context.aws_request_id
    context.function_name
    context.get_remaining_time_in_millis()


def main() -> None:
    interpreted = load_interpreted()
    assert compiled.__file__.endswith(".so"), "lamina is not installed with its compiled glue"
    rounds = 200_000
    rows = []
    for name, module in (("interpreted", interpreted), ("compiled (Cython)", compiled)):
        best = min(timeit.repeat(lambda: per_invocation(module), number=rounds, repeat=5)) / rounds
        rows.append((name, best))
    print("| context per invocation | ns |")
    print("|---|---:|")
    for name, seconds in rows:
        print(f"| {name} | {seconds * 1e9:,.0f} |")
    print(f"\ncompiled is {rows[0][1] / rows[1][1]:.1f}× faster")


if __name__ == "__main__":
    main()
