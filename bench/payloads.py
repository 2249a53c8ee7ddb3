"""The bench payloads of ../shared/spec/performance.md, generated (not committed).

``python bench/payloads.py DIR`` writes, for each payload, ``NAME.json`` (the event) and
``NAME.expected.json`` (what its handler must answer)."""

from __future__ import annotations

import json
import random
import sys
from pathlib import Path


def api_gateway_v2_event() -> dict:
    """An HTTP API (payload 2.0) request of about 1.7 KB."""
    return {
        "version": "2.0",
        "routeKey": "POST /orders",
        "rawPath": "/orders",
        "rawQueryString": "expand=items&limit=25",
        "cookies": ["session=3a9f1c2e7b6d4e8fa1c0b2d3e4f5a6b7", "theme=dark"],
        "headers": {
            "accept": "application/json",
            "accept-encoding": "gzip, deflate, br",
            "content-type": "application/json",
            "host": "abcdef1234.execute-api.us-east-1.amazonaws.com",
            "user-agent": "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0 Safari/537.36",
            "x-amzn-trace-id": "Root=1-65a1b2c3-0123456789abcdef01234567",
            "x-forwarded-for": "203.0.113.17",
            "x-forwarded-port": "443",
            "x-forwarded-proto": "https",
        },
        "queryStringParameters": {"expand": "items", "limit": "25"},
        "requestContext": {
            "accountId": "123456789012",
            "apiId": "abcdef1234",
            "authorizer": {"jwt": {"claims": {"sub": "7d3c1a2b-9e8f-4a5b-8c7d-6e5f4a3b2c1d", "scope": "orders:write"}, "scopes": ["orders:write"]}},
            "domainName": "abcdef1234.execute-api.us-east-1.amazonaws.com",
            "domainPrefix": "abcdef1234",
            "http": {"method": "POST", "path": "/orders", "protocol": "HTTP/1.1", "sourceIp": "203.0.113.17", "userAgent": "Mozilla/5.0"},
            "requestId": "Q2mZKjq4IAMEVxw=",
            "routeKey": "POST /orders",
            "stage": "$default",
            "time": "27/Nov/2026:21:19:25 +0000",
            "timeEpoch": 1795814365000,
        },
        "body": json.dumps({"customer": "c-1029", "items": [{"sku": f"SKU-{i:04d}", "qty": i % 3 + 1, "price": 9.99 + i} for i in range(4)], "note": "leave at the door"}),
        "pathParameters": {},
        "isBase64Encoded": False,
        "stageVariables": {"environment": "production"},
    }


def sqs_batch_event(records: int = 10) -> dict:
    """An SQS batch of ``records`` messages, about 8 KB for 10."""
    return {
        "Records": [
            {
                "messageId": f"059f36b4-87a3-44ab-83d2-66197{i:07d}",
                "receiptHandle": "AQEBwJnKyrHigUMZj6rYigCgxlaS3SLy0a" + "x" * 120 + f"{i:04d}",
                "body": json.dumps({"orderId": 1000 + i, "status": "PAID", "amount": 19.5 * (i + 1), "currency": "EUR", "lines": [{"sku": f"A-{i}", "qty": 2}]}),
                "attributes": {
                    "ApproximateReceiveCount": "1",
                    "SentTimestamp": str(1795814365000 + i),
                    "SenderId": "AIDAIENQZJOLO23YVJ4VO",
                    "ApproximateFirstReceiveTimestamp": str(1795814365100 + i),
                },
                "messageAttributes": {"tenant": {"stringValue": "acme", "dataType": "String"}},
                "md5OfBody": "e4e68fb7bd0e697a0ae8f1bb342846b3",
                "eventSource": "aws:sqs",
                "eventSourceARN": "arn:aws:sqs:us-east-1:123456789012:orders",
                "awsRegion": "us-east-1",
            }
            for i in range(records)
        ]
    }


def records_event(target_bytes: int = 850_000) -> dict:
    """A list of mixed records of about ``target_bytes``: strings, ints, floats, bools,
    nulls, nested objects — what batch jobs send."""
    generator = random.Random(7)
    records = []
    size = 0
    while size < target_bytes:
        record = {
            "id": len(records),
            "name": f"customer-{generator.randrange(10**6):06d}",
            "email": f"user{generator.randrange(10**5)}@example.com",
            "score": round(generator.uniform(0, 100), 3),
            "active": generator.random() < 0.5,
            "tags": [generator.choice(["new", "vip", "churn-risk", "beta"]) for _ in range(generator.randrange(4))],
            "balance": generator.randrange(-10**6, 10**6),
            "address": {"city": generator.choice(["Krakow", "Lisbon", "Seattle", "Osaka"]), "zip": f"{generator.randrange(10**5):05d}"},
            "referrer": None,
        }
        size += len(json.dumps(record, separators=(",", ":"))) + 1
        records.append(record)
    return {"records": records}


def floats_event(count: int = 50_000) -> dict:
    generator = random.Random(11)
    return {"values": [generator.uniform(-1000, 1000) for _ in range(count)]}


def all_payloads() -> dict[str, tuple[dict, object, str]]:
    """name -> (event, expected answer, handler in bench/handlers.py)."""
    floats = floats_event()
    return {
        "area": ({"length": 6, "width": 7}, {"area": 42}, "handlers.area"),
        "apigw_v2_echo": (api_gateway_v2_event(), None, "handlers.echo"),
        "sqs_10_echo": (sqs_batch_event(), None, "handlers.echo"),
        "records_850k_echo": (records_event(), None, "handlers.echo"),
        "floats_50k_sum": (floats, sum(floats["values"]), "handlers.sum_values"),
    }


def write_payloads(directory: Path) -> dict[str, str]:
    directory.mkdir(parents=True, exist_ok=True)
    handlers = {}
    for name, (event, expected, handler) in all_payloads().items():
        (directory / f"{name}.json").write_text(json.dumps(event, separators=(",", ":")), encoding="utf-8")
        answer = event if expected is None else expected
        (directory / f"{name}.expected.json").write_text(json.dumps(answer, separators=(",", ":")), encoding="utf-8")
        handlers[name] = handler
    return handlers


if __name__ == "__main__":
    write_payloads(Path(sys.argv[1] if len(sys.argv) > 1 else Path(__file__).parent / "payloads"))
