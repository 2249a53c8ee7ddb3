import signal
import sys

# The handler users install to close pools and flush buffers when Lambda shuts down.
def on_sigterm(signum, frame):
    print("SIGTERM received, cleaning up", flush=True)
    sys.exit(0)


signal.signal(signal.SIGTERM, on_sigterm)


def handler(event, context):
    return "ok"
