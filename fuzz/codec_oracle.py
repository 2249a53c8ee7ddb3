"""The oracle of fuzz/codec_fuzzer.cpp: what Python's json says the codec should have done.
Each check raises (and the fuzzer aborts) when lamina's result disagrees, allowing only the
documented differences of ../shared/spec/codec.md."""

from __future__ import annotations

import json
import struct


def check_decoding(data: bytes, decoded: object, error: str | None, encoded: bytes | None,
                   decoded_again: object, again_error: str | None) -> bool:
    """`error` / `again_error`: lamina's message when decoding `data` / `encoded` failed."""
    try:
        text: str | None = data.decode("utf-8")
    except UnicodeDecodeError:
        text = None
    expected: object = None
    expected_error: Exception | None = None
    if text is not None:
        # lamina skips a leading byte order mark, as simplejson does; json.loads(str) rejects it.
        text = text.removeprefix("\ufeff")
        try:
            expected = json.loads(text)
        except RecursionError:
            return True  # json's recursion limit is below lamina's depth limit.
        except ValueError as problem:
            expected_error = problem
    if error is None:
        assert text is not None, "accepted invalid UTF-8"
        assert expected_error is None, f"accepted what json.loads rejects: {expected_error}"
        try:
            assert repr(decoded) == repr(expected), "decoded differently from json.loads"
            if again_error is not None:
                # Written as Infinity (awslambdaric's encoding), which decoding rejects.
                assert encoded is not None and b"Infinity" in encoded, "encoded output did not decode"
            else:
                assert repr(decoded_again) == repr(decoded), "encoding then decoding changed the value"
            try:
                wanted = json.dumps(decoded, ensure_ascii=False, separators=(",", ":")).encode("utf-8")
            except UnicodeEncodeError:
                wanted = None  # Lone surrogates: lamina escapes them, json cannot write them.
            assert wanted is None or encoded == wanted, "encoded differently from json.dumps"
        except RecursionError:
            return True
        return True
    # lamina may reject what json.loads accepts only for NaN and Infinity (as simplejson does
    # on input) and for encoded surrogates, which strict UTF-8 already rejected above.
    if text is not None and expected_error is None:
        assert b"NaN" in data or b"Infinity" in data, f"rejected what json.loads accepts: {error}"
    return True


def hashable_key(key: object, index: int) -> object:
    """`key` itself when it can be a dict key (tuples included: the encoder must refuse
    them), else a short name. Not str(key): nested reprs double their backslashes at each
    level, and a few levels make a key of millions of characters."""
    try:
        hash(key)
    except TypeError:
        return f"key{index}"
    return key


def values_from_bytes(data: bytes) -> object:
    """A value built by reading `data` as a stack program: every value type the encoder
    knows, including lone surrogates, non-finite floats, big ints and non-str keys."""
    stack: list[object] = []
    position = 0

    def take(count: int) -> bytes:
        nonlocal position
        chunk = data[position : position + count]
        position += count
        return chunk

    while position < len(data) and len(stack) < 200:
        operation = data[position] % 12
        position += 1
        if operation == 0:
            stack.append(None)
        elif operation == 1:
            stack.append(True)
        elif operation == 2:
            stack.append(False)
        elif operation == 3:
            stack.append(int.from_bytes(take(1), "little", signed=True))
        elif operation == 4:
            stack.append(int.from_bytes(take(8), "little", signed=True))
        elif operation == 5:
            size = take(1)[0] % 48 if position < len(data) else 0
            stack.append(int.from_bytes(take(size), "little", signed=True))
        elif operation == 6:
            stack.append(struct.unpack("<d", take(8).ljust(8, b"\0"))[0])
        elif operation == 7:
            count = take(1)[0] % 12 if position < len(data) else 0
            units = take(3 * count)
            stack.append("".join(chr(int.from_bytes(units[i : i + 3], "little") % 0x110000) for i in range(0, len(units) - 2, 3)))
        elif operation == 8:
            count = take(1)[0] % 40 if position < len(data) else 0
            stack.append(bytes(byte & 0x7F for byte in take(count)).decode("ascii"))
        else:
            count = min(len(stack), take(1)[0] % 6 if position < len(data) else 0)
            members = stack[len(stack) - count :] if count else []
            del stack[len(stack) - count :]
            if operation == 9:
                stack.append(members)
            elif operation == 10:
                stack.append(tuple(members))
            else:
                stack.append({hashable_key(key, index): value
                              for index, (key, value) in enumerate(zip(members[0::2], members[1::2]))})
    return stack[-1] if stack else None


def check_encoding(value: object, encoded: bytes | None, error: str | None) -> bool:
    try:
        wanted: str | None = json.dumps(value, ensure_ascii=False, separators=(",", ":"))
    except (TypeError, ValueError):
        wanted = None
    except RecursionError:
        return True
    if wanted is None:
        assert error is not None, "encoded what json.dumps refuses"
        return True
    assert error is None, f"refused what json.dumps encodes: {error}"
    try:
        assert encoded == wanted.encode("utf-8"), "encoded differently from json.dumps"
    except UnicodeEncodeError:
        # Lone surrogates: lamina writes \\udXXX escapes, as json.dumps(ensure_ascii=True)
        # does, and both read back the same (a high and a low one side by side come back as
        # one astral character from any JSON writer's escapes).
        assert encoded is not None
        escaped = json.dumps(value, ensure_ascii=True, separators=(",", ":"))
        assert repr(json.loads(encoded.decode("utf-8"))) == repr(json.loads(escaped)), "surrogate escapes differ"
    return True
