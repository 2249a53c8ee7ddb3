"""Helpers that drive the sans-IO parser on raw bytes, shared by the tests in this folder."""

from __future__ import annotations

from collections.abc import Iterable

from lamina._core import http


def events(parser: http.MessageParser) -> list:
    """Every event the parser has for what it received: "head", message dicts, "closed"."""
    found: list = []
    while True:
        event = parser.next_event()
        if event == "need_data":
            return found
        if event == "message":
            found.append(parser.take_message())
        elif event == "connection_closed":
            found.append("closed")
            return found
        else:
            found.append(event)


def messages_from(
    pieces: Iterable[bytes],
    kind: str = "response",
    *,
    eof: bool = False,
    in_place: bool = False,
    **limits: int,
) -> list[dict]:
    """The complete messages parsed from ``pieces`` fed one after another."""
    parser = http.MessageParser(kind, **limits)
    found: list = []
    for piece in pieces:
        (parser.receive_in_place if in_place else parser.receive)(piece)
        found += events(parser)
    if eof:
        parser.receive_eof()
        found += events(parser)
    return [event for event in found if isinstance(event, dict)]


def parse_one(data: bytes, kind: str = "response", **options) -> dict:
    """The single message in ``data``."""
    (message,) = messages_from([data], kind, **options)
    return message


def split_at(data: bytes, *cuts: int) -> list[bytes]:
    bounds = [0, *sorted(cuts), len(data)]
    return [data[start:end] for start, end in zip(bounds, bounds[1:])]


def header(message: dict, name: bytes) -> bytes | None:
    return next((value for key, value in message["headers"] if key.lower() == name.lower()), None)
