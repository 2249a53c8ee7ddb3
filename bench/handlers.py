"""The bench handlers: the same code runs under awslambdaric and lamina."""


def area(event, context):
    return {"area": event["length"] * event["width"]}


def echo(event, context):
    return event


def sum_values(event, context):
    return sum(event["values"])
