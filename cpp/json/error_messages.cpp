#include "json/error_messages.h"

#include <Python.h>

#include <cstdint>

#include "json/python_ref.h"

namespace lamina::json {

namespace {

inline bool is_continuation(unsigned char byte) noexcept { return (byte & 0xC0) == 0x80; }

size_t count_characters(std::string_view document, size_t byte_offset) {
  size_t characters = 0;
  for (size_t offset = 0; offset < byte_offset && offset < document.size(); ++offset) {
    characters += !is_continuation(static_cast<unsigned char>(document[offset]));
  }
  return characters;
}

// simplejson.errors.linecol, in characters.
std::string describe_position(std::string_view document, size_t byte_offset) {
  const size_t character = count_characters(document, byte_offset);
  size_t line = 1;
  size_t last_newline = std::string_view::npos;
  for (size_t offset = 0; offset < byte_offset && offset < document.size(); ++offset) {
    if (document[offset] == '\n') {
      ++line;
      last_newline = offset;
    }
  }
  const size_t column = line == 1 ? character + 1
                                  : character - count_characters(document, last_newline);
  return "line " + std::to_string(line) + " column " + std::to_string(column);
}

uint32_t code_point_at(std::string_view document, size_t byte_offset) {
  const auto* bytes = reinterpret_cast<const unsigned char*>(document.data()) + byte_offset;
  const unsigned char lead = bytes[0];
  if (lead < 0x80) {
    return lead;
  }
  if (lead < 0xE0) {
    return ((lead & 0x1Fu) << 6) | (bytes[1] & 0x3Fu);
  }
  if (lead < 0xF0) {
    return ((lead & 0x0Fu) << 12) | ((bytes[1] & 0x3Fu) << 6) | (bytes[2] & 0x3Fu);
  }
  return ((lead & 0x07u) << 18) | ((bytes[1] & 0x3Fu) << 12) | ((bytes[2] & 0x3Fu) << 6) |
         (bytes[3] & 0x3Fu);
}

// repr() of one character, as simplejson's errmsg substitutes it for %r.
std::string repr_of_character(std::string_view document, size_t byte_offset) {
  if (byte_offset >= document.size()) {
    return "''";
  }
  PythonRef character(PyUnicode_FromOrdinal(static_cast<int>(code_point_at(document, byte_offset))));
  PythonRef repr(character ? PyObject_Repr(character.get()) : nullptr);
  const char* text = repr ? PyUnicode_AsUTF8(repr.get()) : nullptr;
  if (text == nullptr) {
    PyErr_Clear();
    return "'?'";
  }
  return text;
}

}  // namespace

std::string describe_syntax_error(std::string_view document, std::string_view what,
                                  size_t byte_offset) {
  std::string message(what);
  message += ": ";
  message += describe_position(document, byte_offset);
  message += " (char " + std::to_string(count_characters(document, byte_offset)) + ")";
  return message;
}

std::string describe_extra_data(std::string_view document, size_t byte_offset) {
  std::string message = "Extra data: ";
  message += describe_position(document, byte_offset);
  message += " - ";
  message += describe_position(document, document.size());
  message += " (char " + std::to_string(count_characters(document, byte_offset)) + " - " +
             std::to_string(count_characters(document, document.size())) + ")";
  return message;
}

std::string describe_control_character(std::string_view document, size_t byte_offset) {
  return describe_syntax_error(
      document, "Invalid control character " + repr_of_character(document, byte_offset) + " at",
      byte_offset);
}

std::string describe_invalid_escape(std::string_view document, size_t byte_offset) {
  return describe_syntax_error(
      document, "Invalid \\X escape sequence " + repr_of_character(document, byte_offset),
      byte_offset);
}

std::string describe_invalid_utf8(std::string_view document) {
  PythonRef decoded(PyUnicode_DecodeUTF8(document.data(), static_cast<Py_ssize_t>(document.size()),
                                         nullptr));
  if (!decoded) {
    return take_python_error_message();
  }
  // Only reached if the kernel and CPython disagree about validity; still refuse the document.
  return "'utf-8' codec can't decode the document: invalid UTF-8";
}

}  // namespace lamina::json
