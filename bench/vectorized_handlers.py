"""The vectorized bench handler, in its own module: importing it imports numpy, which the other
bench handlers (and their cold starts) must not pay for."""

from lamina import Float64, vectorized


@vectorized(values=Float64["values"])
def sum_values(event, context, values):
    """floats_50k_sum under lamina: the array decoded straight from the event's bytes."""
    return values.sum()
