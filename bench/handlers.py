"""The bench handlers: the same code runs under awslambdaric and lamina."""


def area(event, context):
    return {"area": event["length"] * event["width"]}


def echo(event, context):
    return event


def sum_values(event, context):
    """floats_50k_sum under awslambdaric: a list of 50,000 floats, summed in Python. Under
    lamina the row runs vectorized_handlers.sum_values instead (the spec's comparison)."""
    return sum(event["values"])
