"""The example function of the README's quick start."""

import logging

from lamina import Context

logger = logging.getLogger(__name__)


def handler(event: dict, context: Context) -> dict:
    area = event["length"] * event["width"]
    logger.warning("area of %s x %s is %s", event["length"], event["width"], area)
    return {"area": area, "request_id": context.aws_request_id}
