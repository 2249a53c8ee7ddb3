"""Vectorized handlers: numeric arrays of the event decoded straight into numpy arrays.

    lamina invoke app.stats --root examples/vectorized --event '{"values": [1.5, 2.5, 4.0]}'
    lamina invoke app.revenue --root examples/vectorized \\
        --event '{"Records": [{"price": 2.5, "qty": 4, "sku": "a"}, {"price": 10, "qty": 1, "sku": "b"}]}'
    lamina invoke app.normalize --root examples/vectorized --event '{"points": [[0, 0], [3, 4]]}'
"""

from typing import Any

import numpy as np
from numpy.typing import NDArray

from lamina import Columns, Context, Float64, Int32, Records, vectorized


@vectorized(values=Float64["values"])
def stats(event: dict[str, Any], context: Context, values: NDArray[np.float64]) -> dict[str, Any]:
    """{"values": [1.5, ...]}: the array arrives as float64, no list of floats in between."""
    return {"count": len(values), "mean": values.mean(), "p95": np.percentile(values, 95) if len(values) else None}


@vectorized(orders=Records["Records"](price=Float64, qty=Int32))
def revenue(event: dict[str, Any], context: Context, orders: Columns) -> dict[str, Any]:
    """An array of records becomes one column per declared field; other fields are skipped."""
    line_totals = orders.price * orders.qty
    return {"revenue": line_totals.sum(), "largest_line": line_totals.max(initial=0.0), "lines": len(orders)}


@vectorized(points=Float64["points"](ndim=2))
def normalize(event: dict[str, Any], context: Context, points: NDArray[np.float64]) -> dict[str, Any]:
    """Nested arrays of equal length are a 2-D array; a numpy result is encoded from its buffer."""
    norms = np.linalg.norm(points, axis=1, keepdims=True)
    return {"unit": np.divide(points, norms, out=np.zeros_like(points), where=norms != 0), "norms": norms.ravel()}
