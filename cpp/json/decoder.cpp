// Stage 2 of decoding: walks the structural index (stage 1, a kernel's work) and builds the
// Python objects. Nesting lives in an explicit frame stack, not on the C stack, so a
// 100,000-deep document costs a clean error rather than a stack overflow.
#include <cstdint>
#include <cstring>
#include <limits>
#include <string>
#include <vector>

#include "json/codec.h"
#include "json/error_messages.h"
#include "json/kernel.h"
#include "json/key_cache.h"
#include "json/number_parsing.h"
#include "json/python_ref.h"
#include "json/reusable.h"
#include "json/scanner.h"
#include "json/string_parsing.h"

namespace lamina::json {

namespace {

constexpr std::string_view kByteOrderMark = "\xEF\xBB\xBF";

// An array or object still open. Its members wait on the value stack from `first_value` on
// (alternating key, value for objects); the container is built when it closes, so a list
// is allocated once at its final size.
struct Frame {
  uint32_t first_value;
  bool is_object;
};

// Memory a decode reuses from one document to the next.
struct DecoderWorkspace {
  StructuralIndex index;
  std::vector<PyObject*> values;  // Owned references.
  std::vector<Frame> frames;
  KeyCache keys;
  RecentKeys recent_keys;  // Kept from one document to the next, unlike `keys`.
  std::string string_scratch;
  std::string number_scratch;

  void trim() {
    // Keep what a typical event needs; give back what a 6 MB one took.
    index.release_if_larger_than(size_t{1} << 20);
    if (values.capacity() > (size_t{1} << 16)) {
      std::vector<PyObject*>().swap(values);
    }
    if (frames.capacity() > 1024) {
      std::vector<Frame>().swap(frames);
    }
    if (string_scratch.capacity() > (size_t{1} << 20)) {
      std::string().swap(string_scratch);
    }
    if (number_scratch.capacity() > (size_t{1} << 16)) {
      std::string().swap(number_scratch);
    }
  }
};

// An empty dict with room for `members` keys: a record of more than five keys would
// otherwise be resized while it is filled (a tenth of the time of a batch of records).
inline PyObject* new_dict_for(size_t members) {
#if PY_VERSION_HEX < 0x030D0000
  if (members > 5) {
    return _PyDict_NewPresized(static_cast<Py_ssize_t>(members));
  }
#else
  (void)members;  // No public presizing constructor from 3.13 on.
#endif
  return PyDict_New();
}

// Everything one document's decoding touches; the workspace outlives it.
template <class Kernel>
class DocumentDecoder {
 public:
  DocumentDecoder(std::string_view document, DecoderWorkspace& workspace)
      : document_(document), workspace_(workspace) {
    // simplejson skips a byte order mark at the very start (it decodes the bytes to str and
    // drops U+FEFF); positions in messages still count it as one character.
    if (document_.substr(0, kByteOrderMark.size()) == kByteOrderMark) {
      body_offset_ = kByteOrderMark.size();
    }
    input_ = document_.data() + body_offset_;
    length_ = document_.size() - body_offset_;
  }

  DocumentDecoder(const DocumentDecoder&) = delete;
  DocumentDecoder& operator=(const DocumentDecoder&) = delete;

  ~DocumentDecoder() {
    for (PyObject* value : workspace_.values) {
      Py_DECREF(value);
    }
    workspace_.values.clear();
    workspace_.frames.clear();
    workspace_.keys.clear();
  }

  PyObject* run();

 private:
  [[noreturn]] void fail(std::string_view what, size_t offset) const {
    throw DecodeError(describe_syntax_error(document_, what, body_offset_ + offset));
  }
  [[noreturn]] void fail_string(const StringText& text, size_t quote_offset) const {
    const size_t error_offset = static_cast<size_t>(text.error_at - document_.data());
    switch (text.error) {
      case StringError::kControlCharacter:
        throw DecodeError(describe_control_character(document_, error_offset));
      case StringError::kInvalidEscape:
        throw DecodeError(describe_invalid_escape(document_, error_offset));
      case StringError::kInvalidUnicodeEscape:
        throw DecodeError(describe_syntax_error(document_, messages::kInvalidUnicodeEscape,
                                                error_offset));
      case StringError::kUnterminated:
      case StringError::kNone:
        break;
    }
    fail(messages::kUnterminatedString, quote_offset);
  }

  void push(PyObject* owned) {
    PythonRef guard(owned);  // Released only once the stack holds it (push_back may throw).
    workspace_.values.push_back(owned);
    guard.release();
  }

  void open(bool is_object) {
    if (workspace_.frames.size() >= static_cast<size_t>(kMaxDepth)) {
      throw DecodeError(std::string(is_object ? messages::kObjectTooDeep : messages::kArrayTooDeep));
    }
    workspace_.frames.push_back(Frame{static_cast<uint32_t>(workspace_.values.size()), is_object});
  }

  PyObject* checked(PyObject* created) const {
    if (created == nullptr) {
      throw DecodeError(take_python_error_message());
    }
    return created;
  }

  void close_array();
  void close_object();
  PyObject* read_string_value(size_t quote_offset);
  PyObject* read_key(size_t quote_offset);

  std::string_view document_;
  DecoderWorkspace& workspace_;
  size_t body_offset_ = 0;
  const char* input_ = nullptr;
  size_t length_ = 0;
};

template <class Kernel>
void DocumentDecoder<Kernel>::close_array() {
  std::vector<PyObject*>& values = workspace_.values;
  const size_t first = workspace_.frames.back().first_value;
  const size_t count = values.size() - first;
  PyObject* list = checked(PyList_New(static_cast<Py_ssize_t>(count)));
  for (size_t item = 0; item < count; ++item) {
    PyList_SET_ITEM(list, static_cast<Py_ssize_t>(item), values[first + item]);  // Steals.
  }
  values.resize(first);
  workspace_.frames.pop_back();
  push(list);
}

template <class Kernel>
void DocumentDecoder<Kernel>::close_object() {
  std::vector<PyObject*>& values = workspace_.values;
  const size_t first = workspace_.frames.back().first_value;
  PythonRef dict(checked(new_dict_for((values.size() - first) / 2)));
  // In document order, so a repeated key keeps its first position and its last value, as
  // json.loads' dict(pairs) does.
  for (size_t pair = first; pair < values.size(); pair += 2) {
    if (PyDict_SetItem(dict.get(), values[pair], values[pair + 1]) != 0) {
      throw DecodeError(take_python_error_message());
    }
  }
  for (size_t member = first; member < values.size(); ++member) {
    Py_DECREF(values[member]);
  }
  values.resize(first);
  workspace_.frames.pop_back();
  push(dict.release());
}

template <class Kernel>
PyObject* DocumentDecoder<Kernel>::read_string_value(size_t quote_offset) {
  const StringText text =
      read_string<Kernel>(input_ + quote_offset + 1, input_ + length_, workspace_.string_scratch);
  if (text.error != StringError::kNone) {
    fail_string(text, quote_offset);
  }
  return make_python_string(text);
}

template <class Kernel>
PyObject* DocumentDecoder<Kernel>::read_key(size_t quote_offset) {
  const char* const contents = input_ + quote_offset + 1;
  const StringText text = read_string<Kernel>(contents, input_ + length_, workspace_.string_scratch);
  if (text.error != StringError::kNone) {
    fail_string(text, quote_offset);
  }
  // The raw bytes between the quotes identify the key, escapes and all. Keys seen by earlier
  // documents come from RecentKeys; the per-document cache catches the rest (new keys,
  // longer ones, and keys whose RecentKeys slot another key of this document took).
  const size_t raw_length = static_cast<size_t>(text.end - 1 - contents);
  if (raw_length > KeyCache::kMaxKeyLength) {
    return make_python_string(text);
  }
  const uint64_t key_hash = KeyCache::hash(contents, raw_length);
  if (PyObject* recent = workspace_.recent_keys.find(contents, raw_length, key_hash)) {
    return recent;
  }
  if (PyObject* cached = workspace_.keys.find(contents, raw_length, key_hash)) {
    return cached;
  }
  PyObject* key = make_python_string(text);
  workspace_.recent_keys.insert(contents, raw_length, key_hash, key);
  workspace_.keys.insert(contents, raw_length, key_hash, key);
  return key;
}

template <class Kernel>
PyObject* DocumentDecoder<Kernel>::run() {
  if (!Kernel::validate_utf8(document_.data(), document_.size())) {
    throw DecodeError(describe_invalid_utf8(document_));
  }
  if (document_.size() > std::numeric_limits<uint32_t>::max() - 1) {
    throw DecodeError("document too large: " + std::to_string(document_.size()) + " bytes");
  }
  StructuralIndex& index = workspace_.index;
  Kernel::index_structure(input_, length_, index);
  const uint32_t* const tokens = index.positions();
  const char* const in = input_;
  const size_t length = length_;
  std::vector<Frame>& frames = workspace_.frames;

  // The parser's states are the labels below; `at` is the offset of the token being looked
  // at (== length at the end), `token` its place in the index. Every error is reported at
  // the token where simplejson's recursive descent would report it.
  size_t token = 0;
  size_t at = tokens[0];
  size_t scalar_end = 0;

value:
  if (at == length) {
    fail(messages::kExpectingValue, at);
  }
  switch (in[at]) {
    case '"':
      push(read_string_value(at));
      at = tokens[++token];
      goto after_value;
    case '{':
      open(true);
      at = tokens[++token];
      if (at < length && in[at] == '"') {
        goto object_key;
      }
      if (at < length && in[at] == '}') {
        close_object();
        at = tokens[++token];
        goto after_value;
      }
      fail(messages::kExpectingFirstPropertyName, at);
    case '[':
      open(false);
      at = tokens[++token];
      if (at == length) {
        fail(messages::kExpectingValueOrArrayEnd, at);
      }
      if (in[at] == ']') {
        close_array();
        at = tokens[++token];
        goto after_value;
      }
      goto value;
    case 't':
      if (length - at >= 4 && std::memcmp(in + at, "true", 4) == 0) {
        Py_INCREF(Py_True);
        push(Py_True);
        scalar_end = at + 4;
        goto after_scalar;
      }
      fail(messages::kExpectingValue, at);
    case 'f':
      if (length - at >= 5 && std::memcmp(in + at, "false", 5) == 0) {
        Py_INCREF(Py_False);
        push(Py_False);
        scalar_end = at + 5;
        goto after_scalar;
      }
      fail(messages::kExpectingValue, at);
    case 'n':
      if (length - at >= 4 && std::memcmp(in + at, "null", 4) == 0) {
        Py_INCREF(Py_None);
        push(Py_None);
        scalar_end = at + 4;
        goto after_scalar;
      }
      fail(messages::kExpectingValue, at);
    default: {
      // NaN, Infinity and -Infinity land here too: simplejson rejects them on input.
      const char* number_end = nullptr;
      PythonRef number = parse_number(in + at, in + length, &number_end, workspace_.number_scratch);
      if (!number) {
        fail(messages::kExpectingValue, at);
      }
      push(number.release());
      scalar_end = static_cast<size_t>(number_end - in);
      goto after_scalar;
    }
  }

after_scalar:
  // A number or literal may stop short of its run ("1.", "truex", "0x1"): the rest of the run
  // is not in the index, and is where simplejson looks next.
  ++token;
  at = (scalar_end < length && !is_json_whitespace(static_cast<unsigned char>(in[scalar_end])))
           ? scalar_end
           : tokens[token];
  goto after_value;

after_value:
  if (frames.empty()) {
    if (at != length) {
      throw DecodeError(describe_extra_data(document_, body_offset_ + at));
    }
    PyObject* result = workspace_.values.back();
    workspace_.values.pop_back();
    return result;
  }
  if (frames.back().is_object) {
    if (at < length && in[at] == ',') {
      const size_t comma = at;
      at = tokens[++token];
      if (at < length && in[at] == '"') {
        goto object_key;
      }
      if (at < length && in[at] == '}') {
        fail(messages::kObjectTrailingComma, comma);
      }
      fail(messages::kExpectingPropertyName, at);
    }
    if (at < length && in[at] == '}') {
      close_object();
      at = tokens[++token];
      goto after_value;
    }
    fail(messages::kExpectingObjectDelimiter, at);
  }
  if (at < length && in[at] == ',') {
    const size_t comma = at;
    at = tokens[++token];
    if (at < length && in[at] == ']') {
      fail(messages::kArrayTrailingComma, comma);
    }
    goto value;
  }
  if (at < length && in[at] == ']') {
    close_array();
    at = tokens[++token];
    goto after_value;
  }
  fail(messages::kExpectingArrayDelimiter, at);

object_key:
  push(read_key(at));
  at = tokens[++token];
  if (at < length && in[at] == ':') {
    at = tokens[++token];
    goto value;
  }
  fail(messages::kExpectingColon, at);
}

ReusableWorkspace<DecoderWorkspace>& decoder_workspace() {
  // Destroyed at exit, after the interpreter: safe, as the only Python references it holds
  // between documents (RecentKeys) are then left alone.
  static ReusableWorkspace<DecoderWorkspace> workspace;
  return workspace;
}

// Pauses Python's cyclic garbage collector: a decoded document is a tree, so the
// collections its container allocations would trigger find nothing to free (about a tenth of
// the time of a batch of records).
class GarbageCollectionPause {
 public:
  GarbageCollectionPause() : was_enabled_(PyGC_Disable() != 0) {}
  GarbageCollectionPause(const GarbageCollectionPause&) = delete;
  GarbageCollectionPause& operator=(const GarbageCollectionPause&) = delete;
  ~GarbageCollectionPause() {
    if (was_enabled_) {
      PyGC_Enable();
    }
  }

 private:
  bool was_enabled_;
};

}  // namespace

PyObject* decode(std::string_view document) {
  GarbageCollectionPause pause;
  ReusableWorkspace<DecoderWorkspace>::Lease workspace(decoder_workspace());
  DocumentDecoder<ActiveKernel> decoder(document, *workspace);
  return decoder.run();
}

}  // namespace lamina::json
