"""Speed of lamina's payload codec against json, simplejson (awslambdaric's) and orjson.

Run: python bench/json_codec.py [--repeat 7]
Prints a table of microseconds per call (median of `repeat` timing runs) for decoding and
encoding four payloads: a tiny event, an API Gateway v2 event, a batch of 5,000 records and
50,000 floats. The payloads are generated here, deterministically.
"""

from __future__ import annotations

import argparse
import json
import random
import statistics
import timeit
from typing import Any, Callable

import orjson
import simplejson

from lamina import _core


def api_gateway_v2_event() -> dict[str, Any]:
    return {
        "version": "2.0",
        "routeKey": "POST /orders/{orderId}",
        "rawPath": "/prod/orders/8b0c4b1e-2f5a-4d4c-9a53-7d3c0e9b6f11",
        "rawQueryString": "expand=items&currency=EUR&trace=true",
        "cookies": ["session=3f9a1c0d2b7e4f6a8c5d", "theme=dark", "locale=fr-FR"],
        "headers": {
            "accept": "application/json",
            "accept-encoding": "gzip, deflate, br",
            "content-length": "142",
            "content-type": "application/json",
            "host": "abcdef1234.execute-api.eu-west-1.amazonaws.com",
            "user-agent": "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko)",
            "x-amzn-trace-id": "Root=1-65f1c2d3-4a5b6c7d8e9f0a1b2c3d4e5f",
            "x-forwarded-for": "203.0.113.17",
            "x-forwarded-port": "443",
            "x-forwarded-proto": "https",
        },
        "queryStringParameters": {"expand": "items", "currency": "EUR", "trace": "true"},
        "requestContext": {
            "accountId": "123456789012",
            "apiId": "abcdef1234",
            "authorizer": {"jwt": {"claims": {"sub": "user-42", "scope": "orders:write"}, "scopes": None}},
            "domainName": "abcdef1234.execute-api.eu-west-1.amazonaws.com",
            "domainPrefix": "abcdef1234",
            "http": {
                "method": "POST",
                "path": "/prod/orders/8b0c4b1e-2f5a-4d4c-9a53-7d3c0e9b6f11",
                "protocol": "HTTP/1.1",
                "sourceIp": "203.0.113.17",
                "userAgent": "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko)",
            },
            "requestId": "JKJaXmPLvHcESHA=",
            "routeKey": "POST /orders/{orderId}",
            "stage": "prod",
            "time": "12/Mar/2024:19:03:58 +0000",
            "timeEpoch": 1710270238000,
        },
        "pathParameters": {"orderId": "8b0c4b1e-2f5a-4d4c-9a53-7d3c0e9b6f11"},
        "body": "{\"items\":[{\"sku\":\"A-1\",\"qty\":2},{\"sku\":\"B-7\",\"qty\":1}],\"note\":\"Livraison rapide, merci \u00e0 vous\"}",
        "isBase64Encoded": False,
        "stageVariables": {"environment": "prod"},
    }


def records(count: int = 5000) -> list[dict[str, Any]]:
    generator = random.Random(7)
    return [
        {
            "id": index,
            "name": f"c{generator.randint(0, 10**6)}",
            "active": generator.random() < 0.5,
            "score": round(generator.uniform(0, 100), 2),
            "balance": round(generator.uniform(-1e4, 1e4), 2),
            "tags": generator.sample(["new", "vip", "eu", "us"], 2),
            "address": {"city": "Paris", "zip": generator.randint(10000, 99999)},
            "note": None,
        }
        for index in range(count)
    ]


def floats(count: int = 50000) -> list[float]:
    generator = random.Random(11)
    return [generator.uniform(-1e6, 1e6) for _ in range(count)]


PAYLOADS: dict[str, Any] = {
    "tiny": {"length": 6, "width": 7},
    "apigw-v2": api_gateway_v2_event(),
    "records": records(),
    "floats": floats(),
}

SIMPLEJSON_AWSLAMBDARIC = simplejson.JSONEncoder(use_decimal=False, ensure_ascii=False, allow_nan=True)

DECODERS: dict[str, Callable[[bytes], Any]] = {
    "lamina": _core.decode_json,
    "json": json.loads,
    "simplejson": simplejson.loads,
    "orjson": orjson.loads,
}
ENCODERS: dict[str, Callable[[Any], Any]] = {
    "lamina": _core.encode_json,
    "json": lambda value: json.dumps(value, ensure_ascii=False, separators=(",", ":")).encode(),
    "simplejson": lambda value: SIMPLEJSON_AWSLAMBDARIC.encode(value).encode(),
    "orjson": orjson.dumps,
}


def microseconds_per_call(function: Callable[[], Any], repeat: int) -> float:
    number, _ = timeit.Timer(function).autorange()
    runs = timeit.Timer(function).repeat(repeat=repeat, number=number)
    return statistics.median(runs) / number * 1e6


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=7)
    arguments = parser.parse_args()
    names = list(DECODERS)
    print(f"{'payload':<10} {'size':>9} {'op':<7}" + "".join(f"{name:>12}" for name in names) + "   (µs/call)")
    for payload_name, value in PAYLOADS.items():
        document = json.dumps(value).encode()
        assert _core.decode_json(document) == json.loads(document)
        for operation, functions, argument in (("decode", DECODERS, document), ("encode", ENCODERS, value)):
            cells = [microseconds_per_call(lambda f=functions[name]: f(argument), arguments.repeat) for name in names]
            print(f"{payload_name:<10} {len(document):>9} {operation:<7}" + "".join(f"{cell:>12.2f}" for cell in cells))


if __name__ == "__main__":
    main()
