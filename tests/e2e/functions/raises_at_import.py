def helper():
    raise ValueError("broken at import")


helper()


def handler(event, context):
    return "unreachable"
