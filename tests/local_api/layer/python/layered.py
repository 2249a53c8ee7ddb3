"""A module that lives in a layer (/opt/python)."""


def greeting():
    return "hello from the layer"
