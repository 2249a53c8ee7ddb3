// Decode error messages worded as simplejson 4.3.0 words them, so a handler (and a log
// search) sees the same Runtime.UnmarshalError text as under awslambdaric.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>

namespace lamina::json {

namespace messages {
inline constexpr std::string_view kExpectingValue = "Expecting value";
inline constexpr std::string_view kExpectingValueOrArrayEnd = "Expecting value or ']'";
inline constexpr std::string_view kExpectingArrayDelimiter = "Expecting ',' delimiter or ']'";
inline constexpr std::string_view kExpectingObjectDelimiter = "Expecting ',' delimiter or '}'";
inline constexpr std::string_view kExpectingFirstPropertyName =
    "Expecting property name enclosed in double quotes or '}'";
inline constexpr std::string_view kExpectingPropertyName =
    "Expecting property name enclosed in double quotes";
inline constexpr std::string_view kExpectingColon = "Expecting ':' delimiter";
inline constexpr std::string_view kArrayTrailingComma = "Illegal trailing comma before end of array";
inline constexpr std::string_view kObjectTrailingComma = "Illegal trailing comma before end of object";
inline constexpr std::string_view kUnterminatedString = "Unterminated string starting at";
inline constexpr std::string_view kInvalidUnicodeEscape = "Invalid \\uXXXX escape sequence";
// Python's own RecursionError wording, which simplejson users see for too-deep documents.
inline constexpr std::string_view kArrayTooDeep =
    "maximum recursion depth exceeded while decoding a JSON array from a string";
inline constexpr std::string_view kObjectTooDeep =
    "maximum recursion depth exceeded while decoding a JSON object from a string";
}  // namespace messages

// Positions below are byte offsets into the whole document (BOM included), which must be
// valid UTF-8; messages count characters, as simplejson decodes the bytes to str first.

// "<what>: line L column C (char P)"
std::string describe_syntax_error(std::string_view document, std::string_view what,
                                  size_t byte_offset);

// "Extra data: line L column C - line L2 column C2 (char P - END)"
std::string describe_extra_data(std::string_view document, size_t byte_offset);

// "Invalid control character '\x01' at: ..." and "Invalid \X escape sequence 'q': ...",
// which quote the offending character with Python's repr(). Requires the GIL.
std::string describe_control_character(std::string_view document, size_t byte_offset);
std::string describe_invalid_escape(std::string_view document, size_t byte_offset);

// The message bytes.decode('utf-8') raises for this (invalid) document, which is what
// simplejson reports. Requires the GIL.
std::string describe_invalid_utf8(std::string_view document);

}  // namespace lamina::json
