#!/usr/bin/env python3
"""A custom runtime (``bootstrap``) that misbehaves on purpose, as ``_HANDLER`` says, and
logs every Runtime API answer it gets as ``ANSWER <path> <status> <body>``."""

import base64
import http.client
import json
import os
import socket
import sys
import threading
import time
import uuid

API = os.environ["AWS_LAMBDA_RUNTIME_API"]
SCENARIO = os.environ["_HANDLER"]


def call(method, path, body=b"", headers=None):
    connection = http.client.HTTPConnection(API)
    connection.request(method, path, body=body, headers=headers or {})
    answer = connection.getresponse()
    data = answer.read()
    print(f"ANSWER {method} {path.rsplit('/', 1)[-1]} {answer.status} {data.decode(errors='replace')[:300]}", flush=True)
    return answer, data


def next_invocation():
    answer, data = call("GET", "/2018-06-01/runtime/invocation/next")
    return answer.getheader("Lambda-Runtime-Aws-Request-Id"), answer, data


def respond(request_id, body=b'"ok"', headers=None):
    return call("POST", f"/2018-06-01/runtime/invocation/{request_id}/response", body, headers)


def post_error(request_id, body=b'{"errorMessage":"bad","errorType":"Custom"}'):
    return call("POST", f"/2018-06-01/runtime/invocation/{request_id}/error", body,
                {"Lambda-Runtime-Function-Error-Type": "Custom"})


def raw_stream(request_id, pieces, trailers=()):
    """A streamed /response written by hand, chunked and with real trailers (http.client
    cannot send trailers); a callable among ``pieces`` runs at that point of the stream."""
    host, port = API.rsplit(":", 1)
    with socket.create_connection((host, int(port))) as sock:
        sock.sendall(
            f"POST /2018-06-01/runtime/invocation/{request_id}/response HTTP/1.1\r\nHost: {API}\r\n"
            "Lambda-Runtime-Function-Response-Mode: streaming\r\nTransfer-Encoding: chunked\r\n"
            "Content-Type: text/plain\r\n"
            "Trailer: Lambda-Runtime-Function-Error-Type, Lambda-Runtime-Function-Error-Body\r\n\r\n".encode()
        )
        for piece in pieces:
            if callable(piece):
                piece()
            else:
                sock.sendall(b"%x\r\n%s\r\n" % (len(piece), piece))
        sock.sendall(b"0\r\n" + b"".join(f"{name}: {value}\r\n".encode() for name, value in trailers) + b"\r\n")
        answer = http.client.HTTPResponse(sock, method="POST")
        answer.begin()
        print(f"ANSWER POST response {answer.status} {answer.read().decode()}", flush=True)


if SCENARIO == "never_next":
    print("initialising forever", flush=True)
    time.sleep(3600)

if SCENARIO == "init_error":
    print("failing init", flush=True)
    call("POST", "/2018-06-01/runtime/init/error",
         b'{"errorMessage":"cannot start","errorType":"Custom.InitFailure","stackTrace":[]}',
         {"Lambda-Runtime-Function-Error-Type": "Custom.InitFailure"})
    sys.exit(1)

if SCENARIO == "internal_extension":
    base = "/2020-01-01/extension"
    call("POST", f"{base}/register", json.dumps({"events": ["INVOKE", "SHUTDOWN"]}).encode(),
         {"Lambda-Extension-Name": "in-process"})
    answer, _ = call("POST", f"{base}/register", json.dumps({"events": ["INVOKE"]}).encode(),
                     {"Lambda-Extension-Name": "in-process"})
    identifier = answer.getheader("Lambda-Extension-Identifier")

    def extension_loop():
        while True:
            _, event = call("GET", f"{base}/event/next", headers={"Lambda-Extension-Identifier": identifier})
            print("INTERNAL EVENT " + event.decode(), flush=True)

    threading.Thread(target=extension_loop, daemon=True).start()
    time.sleep(0.2)

while True:
    request_id, answer, event = next_invocation()
    if SCENARIO == "answer_twice":
        respond(request_id, b'"first"')
        respond(request_id, b'"second"')
        post_error(request_id)
    elif SCENARIO == "unknown_id":
        respond(str(uuid.uuid4()))
        respond(request_id, b'"right id"')
    elif SCENARIO == "bad_mode":
        respond(request_id, b'"nope"', {"Lambda-Runtime-Function-Response-Mode": "buffered"})
        respond(request_id, b'"plain"')
    elif SCENARIO == "oversize":
        respond(request_id, b"x" * 7_000_000)
        post_error(request_id)
    elif SCENARIO == "error":
        post_error(request_id)
    elif SCENARIO == "headers":
        headers = {name: value for name, value in answer.getheaders()}
        respond(request_id, json.dumps(headers).encode(), {"Content-Type": "application/vnd.test+json"})
    elif SCENARIO == "stream":
        chunks = (part for part in (b"first,", b"second,", b"third"))
        connection = http.client.HTTPConnection(API)
        connection.request("POST", f"/2018-06-01/runtime/invocation/{request_id}/response", body=chunks,
                           headers={"Lambda-Runtime-Function-Response-Mode": "streaming",
                                    "Content-Type": "text/plain"}, encode_chunked=True)
        streamed = connection.getresponse()
        print(f"ANSWER POST response {streamed.status} {streamed.read().decode()}", flush=True)
    elif SCENARIO == "stream_error_trailers":
        error = {"errorMessage": "broke mid-stream", "errorType": "Custom.Broken"}
        raw_stream(request_id, [b"partial|", b"more|"], [
            ("Lambda-Runtime-Function-Error-Type", "Custom.Broken"),
            ("Lambda-Runtime-Function-Error-Body", base64.b64encode(json.dumps(error).encode()).decode()),
        ])
    elif SCENARIO == "stream_with_empty_trailers":
        raw_stream(request_id, [b"all|", b"good"])
    elif SCENARIO == "error_while_streaming":
        raw_stream(request_id, [b"partial|", lambda: post_error(request_id), lambda: respond(request_id), b"end"])
    elif SCENARIO == "exit_after_response":
        respond(request_id, b'"answered"')
        sys.exit(2)
    else:
        respond(request_id, event)
