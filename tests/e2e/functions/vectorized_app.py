"""Vectorized handlers the end-to-end tests run through lamina (and awslambdaric)."""

import numpy as np

from lamina import Bool, Float32, Float64, Int32, Records, vectorized


@vectorized(values=Float64["values"])
def total(event, context, values):
    return {
        "sum": values.sum(),
        "count": len(values),
        "dtype": str(values.dtype),
        "same_object": event["values"] is values,
        "others": sorted(key for key in event if key != "values"),
    }


@vectorized(matrix=Float32["matrix"](ndim=2))
def transpose(event, context, matrix):
    return {"transposed": matrix.T, "shape": matrix.shape}


@vectorized(orders=Records["Records"](price=Float64, qty=Int32, paid=Bool))
def revenue(event, context, orders):
    return {"revenue": (orders.price * orders.qty)[orders.paid].sum(), "records": len(orders)}


@vectorized(values=Float64["values"])
async def async_mean(event, context, values):
    return values.mean()


@vectorized(values=Float64["values"])
def stats(event, context, values):
    return {"mean": values.mean(), "histogram": np.histogram(values, bins=2, range=(0, 2))[0], "flags": values > 1}
