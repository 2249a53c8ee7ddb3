"""A function that never uses numpy: the runtime must not import it for it."""

import sys


def handler(event, context):
    return {"numpy_loaded": "numpy" in sys.modules, "arrays_loaded": "lamina.arrays" in sys.modules}
