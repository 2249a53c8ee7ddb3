"""The function the packaging tests deploy in every layer and image."""

import sys


def area(event, context):
    return {"area": event["length"] * event["width"]}


def echo(event, context):
    return event


def fail(event, context):
    raise ValueError("layer says no")


def where(event, context):
    """Which interpreter and which lamina serve the function: the artifact's, not the test's."""
    import platform

    import lamina

    return {
        "executable": sys.executable,
        "lamina": lamina.__file__,
        "machine": platform.machine(),
        "version": list(sys.version_info[:2]),
        "path": sys.path,
    }


def uses_numpy(event, context):
    import numpy

    return {"sum": float(numpy.asarray(event["values"]).sum()), "numpy": numpy.__file__}


def where_summary(event, context):
    """The parts of where() that are the same on every machine."""
    summary = where(event, context)
    del summary["path"]
    return summary


def imports_other_layer(event, context):
    import from_other_layer

    return {"value": from_other_layer.VALUE}
