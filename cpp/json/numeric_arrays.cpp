// Reads declared numeric arrays from the structural index (stage 1) into raw buffers, then
// decodes the rest of the event with decode() on a copy of the document in which each of
// those arrays is replaced by `null`, and puts the numpy arrays there.
//
// Why the copy rather than a hook in decoder.cpp: the general decoder stays as fast and as
// simple as it is for every other handler, and its syntax checks and messages stay the only
// ones. Whatever this file does not read itself is read by decode(); whatever it reads it
// checks strictly. Any failure is first given to decode() on the original document, so a
// document that is not JSON always gets decode()'s (simplejson's) message, and one that is
// JSON but not what was declared gets a message naming the path, index and field.
#include "json/numeric_arrays.h"

#include <algorithm>
#include <array>
#include <cmath>
#include <cstdlib>
#include <cstring>
#include <limits>
#include <new>
#include <optional>
#include <stdexcept>

#include "json/codec.h"
#include "json/kernel.h"
#include "json/number_parsing.h"
#include "json/reusable.h"
#include "json/scanner.h"
#include "json/string_parsing.h"

namespace lamina::json {

std::string_view element_type_name(ElementType type) noexcept {
  switch (type) {
    case ElementType::kFloat64: return "float64";
    case ElementType::kFloat32: return "float32";
    case ElementType::kInt64: return "int64";
    case ElementType::kInt32: return "int32";
    case ElementType::kBool: return "bool";
  }
  return "?";
}

bool element_type_from_name(std::string_view name, ElementType& type) noexcept {
  for (ElementType candidate : {ElementType::kFloat64, ElementType::kFloat32, ElementType::kInt64,
                                ElementType::kInt32, ElementType::kBool}) {
    if (element_type_name(candidate) == name) {
      type = candidate;
      return true;
    }
  }
  return false;
}

namespace {

// Most columns of one array of records: which fields a record had is a 64-bit mask.
constexpr size_t kMaxColumns = 64;

bool is_prefix(const std::vector<std::string>& shorter, const std::vector<std::string>& longer) {
  return shorter.size() <= longer.size() && std::equal(shorter.begin(), shorter.end(), longer.begin());
}

PyObject* checked(PyObject* created) {
  if (created == nullptr) {
    throw DecodeError(take_python_error_message());
  }
  return created;
}

}  // namespace

NumericArrayPlan::NumericArrayPlan(std::vector<ArrayDeclaration> declarations, PythonRef make_array,
                                   PythonRef make_columns)
    : declarations_(std::move(declarations)), make_array_(std::move(make_array)),
      make_columns_(std::move(make_columns)) {
  if (declarations_.empty()) {
    throw std::invalid_argument("no array declared");
  }
  for (size_t first = 0; first < declarations_.size(); ++first) {
    const ArrayDeclaration& declaration = declarations_[first];
    if (declaration.is_records && (declaration.columns.empty() || declaration.columns.size() > kMaxColumns)) {
      throw std::invalid_argument("an array of records declares 1 to 64 fields");
    }
    if (!declaration.is_records && (declaration.ndimensions < 0 || declaration.ndimensions > kMaxArrayDimensions)) {
      throw std::invalid_argument("an array has 1 to 32 dimensions");
    }
    for (size_t second = first + 1; second < declarations_.size(); ++second) {
      const auto& other = declarations_[second].path;
      if (is_prefix(declaration.path, other) || is_prefix(other, declaration.path)) {
        throw std::invalid_argument("two declared arrays overlap: one path is the other or inside it");
      }
    }
  }
  for (const ArrayDeclaration& declaration : declarations_) {
    std::vector<PythonRef> keys;
    for (const std::string& key : declaration.path) {
      PyObject* text = PyUnicode_DecodeUTF8(key.data(), static_cast<Py_ssize_t>(key.size()), "surrogatepass");
      if (text == nullptr) {
        throw std::invalid_argument(take_python_error_message());
      }
      keys.emplace_back(text);
    }
    python_paths_.push_back(std::move(keys));
  }
}

namespace {

// The document is not JSON: decode() finds where and words the message.
struct SyntaxProblem {};

// The document is JSON but does not hold what was declared.
struct ShapeProblem {
  std::string message;
};

// Grows without zeroing (a float array's buffer is written once, element by element) and is
// reused from one event to the next.
class ElementBuffer {
 public:
  ElementBuffer() = default;
  ElementBuffer(const ElementBuffer&) = delete;
  ElementBuffer& operator=(const ElementBuffer&) = delete;
  ElementBuffer(ElementBuffer&& other) noexcept
      : data_(std::exchange(other.data_, nullptr)), capacity_(std::exchange(other.capacity_, 0)) {}
  ~ElementBuffer() { std::free(data_); }

  template <class Stored>
  void put(size_t index, Stored value) {
    const size_t needed = (index + 1) * sizeof(Stored);
    if (needed > capacity_) {
      grow(needed);
    }
    std::memcpy(data_ + index * sizeof(Stored), &value, sizeof(Stored));
  }
  const char* data() const noexcept { return data_; }

  void release_if_larger_than(size_t bytes_kept) {
    if (capacity_ > bytes_kept) {
      std::free(std::exchange(data_, nullptr));
      capacity_ = 0;
    }
  }

 private:
  void grow(size_t needed) {
    const size_t capacity = std::max({needed, capacity_ * 2, size_t{4096}});
    void* grown = std::realloc(data_, capacity);
    if (grown == nullptr) {
      throw std::bad_alloc();
    }
    data_ = static_cast<char*>(grown);
    capacity_ = capacity;
  }

  char* data_ = nullptr;
  size_t capacity_ = 0;
};

struct NumericArrayWorkspace {
  StructuralIndex index;
  ElementBuffer elements;
  std::vector<ElementBuffer> columns;
  std::string rest;     // the document with the arrays read here replaced by null
  std::string scratch;  // unescaped keys, rare number conversions
  std::string closers;  // the brackets still open while skipping a value

  void trim() {
    constexpr size_t kKept = size_t{1} << 20;
    index.release_if_larger_than(kKept);
    elements.release_if_larger_than(kKept);
    for (ElementBuffer& column : columns) {
      column.release_if_larger_than(kKept / 4);
    }
    if (rest.capacity() > kKept) {
      std::string().swap(rest);
    }
    if (scratch.capacity() > (size_t{1} << 16)) {
      std::string().swap(scratch);
    }
  }
};

ReusableWorkspace<NumericArrayWorkspace>& numeric_array_workspace() {
  // Destroyed at exit, after the interpreter: it holds no Python reference between events.
  static ReusableWorkspace<NumericArrayWorkspace> workspace;
  return workspace;
}

template <ElementType Type>
struct Element;
template <>
struct Element<ElementType::kFloat64> {
  using Stored = double;
};
template <>
struct Element<ElementType::kFloat32> {
  using Stored = float;
};
template <>
struct Element<ElementType::kInt64> {
  using Stored = int64_t;
};
template <>
struct Element<ElementType::kInt32> {
  using Stored = int32_t;
};
template <>
struct Element<ElementType::kBool> {
  using Stored = uint8_t;  // numpy's bool is one byte, 0 or 1
};

size_t item_size(ElementType type) noexcept {
  switch (type) {
    case ElementType::kFloat64:
    case ElementType::kInt64:
      return 8;
    case ElementType::kFloat32:
    case ElementType::kInt32:
      return 4;
    case ElementType::kBool:
      return 1;
  }
  return 1;
}

enum class ElementStatus : uint8_t { kOk, kWrongType, kOutOfRange };

inline bool is_digit(char byte) noexcept { return byte >= '0' && byte <= '9'; }

// What the handler declared for one element, for messages.
std::string expectation_of(ElementType type) {
  switch (type) {
    case ElementType::kFloat64:
    case ElementType::kFloat32:
      return "a " + std::string(element_type_name(type)) + " number";
    case ElementType::kInt64:
    case ElementType::kInt32:
      return "an " + std::string(element_type_name(type)) + " integer";
    case ElementType::kBool:
      return "true or false (bool)";
  }
  return "";
}

// `["key"]`: how messages name a member (`event["a"]["b"]`, `event["Records"][3]["price"]`).
std::string key_suffix(const std::string& key) {
  std::string suffix = "[\"";
  for (char byte : key) {
    if (byte == '"' || byte == '\\') {
      suffix += '\\';
    }
    suffix += byte;
  }
  return suffix + "\"]";
}

template <class Kernel>
class NumericArrayDecoder {
 public:
  NumericArrayDecoder(std::string_view document, const NumericArrayPlan& plan, NumericArrayWorkspace& workspace)
      : document_(document), plan_(plan), workspace_(workspace) {
    constexpr std::string_view kByteOrderMark = "\xEF\xBB\xBF";
    if (document.substr(0, kByteOrderMark.size()) == kByteOrderMark) {
      document.remove_prefix(kByteOrderMark.size());  // decode() skips it too
    }
    in_ = document.data();
    length_ = document.size();
  }

  PyObject* run() {
    try {
      return read_event();
    } catch (const SyntaxProblem&) {
      throw_document_error(std::nullopt);
    } catch (const ShapeProblem& problem) {
      throw_document_error(problem.message);
    }
  }

 private:
  // One declared array as read: the object the handler gets and the bytes it came from.
  struct Extracted {
    size_t begin = 0;
    size_t end = 0;
    PythonRef object;
  };

  PyObject* read_event() {
    if (!Kernel::validate_utf8(document_.data(), document_.size()) ||
        length_ > std::numeric_limits<uint32_t>::max() - 1) {
      throw SyntaxProblem{};
    }
    Kernel::index_structure(in_, length_, workspace_.index);
    tokens_ = workspace_.index.positions();

    const std::vector<ArrayDeclaration>& declarations = plan_.declarations();
    std::vector<Extracted> extracted(declarations.size());
    for (size_t number = 0; number < declarations.size(); ++number) {
      extract(declarations[number], extracted[number]);
    }
    if (declarations.front().path.empty()) {
      return extracted.front().object.release();  // the event is the array (alone: the plan says so)
    }
    PythonRef event = decode_rest(extracted);
    for (size_t number = 0; number < declarations.size(); ++number) {
      put_in_place(event.get(), number, extracted[number].object.get());
    }
    return event.release();
  }

  // A document that is not JSON gets decode()'s message; one that is gets `message`.
  [[noreturn]] void throw_document_error(const std::optional<std::string>& message) {
    PythonRef decoded(decode(document_));  // throws DecodeError when the document is not JSON
    throw DecodeError(message.value_or("the event could not be read as its handler declared"));
  }

  char byte_at(size_t offset) const noexcept { return offset < length_ ? in_[offset] : '\0'; }
  char token_byte(size_t token) const noexcept { return byte_at(tokens_[token]); }

  // "a string", "true", "1.5": what a message says the event held at `token`.
  std::string describe_value(size_t token) const {
    const size_t at = tokens_[token];
    switch (byte_at(at)) {
      case '"': return "a string";
      case '[': return "an array";
      case '{': return "an object";
      case 't': return "true";
      case 'f': return "false";
      case 'n': return "null";
      default: break;
    }
    NumberSyntax number;
    if (!scan_number(in_ + at, in_ + length_, number)) {
      throw SyntaxProblem{};
    }
    constexpr size_t kShownLength = 40;
    const size_t length = static_cast<size_t>(number.end - number.begin);
    return length <= kShownLength ? std::string(number.begin, length)
                                  : std::string(number.begin, kShownLength) + "...";
  }

  bool is_value_start(char byte) const noexcept {
    return byte == '"' || byte == '[' || byte == '{' || byte == 't' || byte == 'f' || byte == 'n' ||
           byte == '-' || is_digit(byte);
  }

  // A value of the wrong kind where something else was expected (or garbage: not JSON).
  [[noreturn]] void wrong_value(size_t token, const std::string& where, const std::string& expected) const {
    if (!is_value_start(token_byte(token))) {
      throw SyntaxProblem{};
    }
    throw ShapeProblem{where + " is " + describe_value(token) + ", expected " + expected};
  }

  // A number or literal must end its run of bytes ("1.5x" is not JSON).
  void check_scalar_end(const char* end, size_t token) const {
    if (end != in_ + tokens_[token + 1] && !is_json_whitespace(static_cast<unsigned char>(*end))) {
      throw SyntaxProblem{};
    }
  }

  bool literal_at(size_t token, std::string_view literal) const {
    const size_t at = tokens_[token];
    if (length_ - at < literal.size() || std::memcmp(in_ + at, literal.data(), literal.size()) != 0) {
      throw SyntaxProblem{};
    }
    check_scalar_end(in_ + at + literal.size(), token);
    return true;
  }

  template <ElementType Type>
  ElementStatus read_element(size_t token, typename Element<Type>::Stored& value) {
    const size_t at = tokens_[token];
    const char first = byte_at(at);
    if constexpr (Type == ElementType::kBool) {
      if (first == 't' && literal_at(token, "true")) {
        value = 1;
        return ElementStatus::kOk;
      }
      if (first == 'f' && literal_at(token, "false")) {
        value = 0;
        return ElementStatus::kOk;
      }
      return ElementStatus::kWrongType;
    } else {
      if (first != '-' && !is_digit(first)) {
        return ElementStatus::kWrongType;
      }
      NumberSyntax number;
      if (!scan_number(in_ + at, in_ + length_, number)) {
        throw SyntaxProblem{};
      }
      check_scalar_end(number.end, token);
      if constexpr (Type == ElementType::kFloat64 || Type == ElementType::kFloat32) {
        double real = number_to_double(number, workspace_.scratch);
        if (!number.is_float) {
          if (std::isinf(real)) {
            return ElementStatus::kOutOfRange;  // float() raises on such an int; so does numpy
          }
          real += 0.0;  // the integer -0 is 0, whose float is +0.0
        }
        // float32 from the correctly rounded double, as numpy converts json.loads' floats.
        value = static_cast<typename Element<Type>::Stored>(real);
        return ElementStatus::kOk;
      } else {
        if (number.is_float) {
          return ElementStatus::kWrongType;  // 1.5 or 1e3 where an integer was declared
        }
        int64_t integer = 0;
        if (!number_to_int64(number, integer)) {
          return ElementStatus::kOutOfRange;
        }
        if constexpr (Type == ElementType::kInt32) {
          if (integer < std::numeric_limits<int32_t>::min() || integer > std::numeric_limits<int32_t>::max()) {
            return ElementStatus::kOutOfRange;
          }
        }
        value = static_cast<typename Element<Type>::Stored>(integer);
        return ElementStatus::kOk;
      }
    }
  }

  [[noreturn]] void element_problem(ElementStatus status, size_t token, const std::string& where,
                                    ElementType type) const {
    if (status == ElementStatus::kOutOfRange) {
      throw ShapeProblem{where + " is " + describe_value(token) + ", out of range for " +
                         std::string(element_type_name(type))};
    }
    wrong_value(token, where, expectation_of(type));
  }

  // Token just past the value at `token`, brackets matched but contents unchecked: decode()
  // checks them, as they stay in the rest of the document.
  size_t skip_balanced(size_t token) {
    const char first = token_byte(token);
    if (first != '[' && first != '{') {
      return token + 1;
    }
    std::string& closers = workspace_.closers;
    closers.clear();
    for (;; ++token) {
      const size_t at = tokens_[token];
      if (at == length_) {
        throw SyntaxProblem{};
      }
      const char byte = in_[at];
      if (byte == '[' || byte == '{') {
        if (closers.size() >= static_cast<size_t>(kMaxDepth)) {
          throw SyntaxProblem{};  // decode() reports the depth
        }
        closers.push_back(byte == '[' ? ']' : '}');
      } else if (byte == ']' || byte == '}') {
        if (closers.empty() || closers.back() != byte) {
          throw SyntaxProblem{};
        }
        closers.pop_back();
        if (closers.empty()) {
          return token + 1;
        }
      }
    }
  }

  // Token just past the value at `token`, checked as decode() would check it (a record's
  // undeclared fields are skipped, never decoded).
  size_t skip_checked(size_t token) {
    std::string& closers = workspace_.closers;
    closers.clear();
  value:
    switch (token_byte(token)) {
      case '"':
        read_string_at(token);
        ++token;
        goto after_value;
      case '{':
        if (closers.size() >= static_cast<size_t>(kMaxDepth)) {
          throw SyntaxProblem{};
        }
        closers.push_back('}');
        ++token;
        if (token_byte(token) == '}') {
          closers.pop_back();
          ++token;
          goto after_value;
        }
        goto member;
      case '[':
        if (closers.size() >= static_cast<size_t>(kMaxDepth)) {
          throw SyntaxProblem{};
        }
        closers.push_back(']');
        ++token;
        if (token_byte(token) == ']') {
          closers.pop_back();
          ++token;
          goto after_value;
        }
        goto value;
      case 't':
        literal_at(token, "true");
        ++token;
        goto after_value;
      case 'f':
        literal_at(token, "false");
        ++token;
        goto after_value;
      case 'n':
        literal_at(token, "null");
        ++token;
        goto after_value;
      default: {
        NumberSyntax number;
        if (!scan_number(in_ + tokens_[token], in_ + length_, number)) {
          throw SyntaxProblem{};
        }
        check_scalar_end(number.end, token);
        ++token;
        goto after_value;
      }
    }
  member:
    if (token_byte(token) != '"') {
      throw SyntaxProblem{};
    }
    read_string_at(token);
    if (token_byte(token + 1) != ':') {
      throw SyntaxProblem{};
    }
    token += 2;
    goto value;
  after_value:
    if (closers.empty()) {
      return token;
    }
    {
      const char byte = token_byte(token);
      if (byte == ',') {
        ++token;
        if (closers.back() == '}') {
          goto member;
        }
        if (token_byte(token) == ']') {
          throw SyntaxProblem{};
        }
        goto value;
      }
      if (byte != closers.back()) {
        throw SyntaxProblem{};
      }
      closers.pop_back();
      ++token;
      goto after_value;
    }
  }

  StringText read_string_at(size_t token) {
    const size_t at = tokens_[token];
    StringText text = read_string<Kernel>(in_ + at + 1, in_ + length_, workspace_.scratch);
    if (text.error != StringError::kNone) {
      throw SyntaxProblem{};
    }
    return text;
  }

  // Walks the object at `token` to the last member named `key` (json.loads keeps the last of
  // repeated keys) and returns its value's token. With `declaration`, that value is the
  // declared array, read into `extracted` as soon as it is met.
  size_t find_member(size_t token, const std::string& key, const std::string& where,
                     const ArrayDeclaration* declaration, Extracted* extracted) {
    if (token_byte(token) != '{') {
      wrong_value(token, where, "an object");
    }
    const std::string member_where = where + key_suffix(key);
    size_t found = std::numeric_limits<size_t>::max();
    std::optional<ShapeProblem> problem;  // of an earlier occurrence, forgotten if repeated
    ++token;
    if (token_byte(token) != '}') {
      while (true) {
        if (token_byte(token) != '"') {
          throw SyntaxProblem{};
        }
        const StringText name = read_string_at(token);
        const bool matches = name.length == key.size() && std::memcmp(name.data, key.data(), key.size()) == 0;
        if (token_byte(token + 1) != ':') {
          throw SyntaxProblem{};
        }
        token += 2;
        if (matches) {
          found = token;
          if (declaration != nullptr) {
            try {
              token = read_declared(*declaration, token, member_where, *extracted);
              problem.reset();
            } catch (const ShapeProblem& occurrence_problem) {
              problem = occurrence_problem;
              token = skip_balanced(found);
            }
          } else {
            token = skip_balanced(token);
          }
        } else {
          token = skip_balanced(token);
        }
        const char byte = token_byte(token);
        if (byte == ',') {
          ++token;
          continue;
        }
        if (byte == '}') {
          break;
        }
        throw SyntaxProblem{};
      }
    }
    if (problem) {
      throw *problem;
    }
    if (found == std::numeric_limits<size_t>::max()) {
      throw ShapeProblem{member_where + " is missing"};
    }
    return found;
  }

  void extract(const ArrayDeclaration& declaration, Extracted& extracted) {
    const std::vector<std::string>& path = declaration.path;
    if (path.empty()) {
      const size_t end = read_declared(declaration, 0, "event", extracted);
      if (tokens_[end] != length_) {
        throw SyntaxProblem{};  // extra data after the event
      }
      return;
    }
    size_t token = 0;
    std::string where = "event";
    for (size_t depth = 0; depth < path.size(); ++depth) {
      const bool last = depth + 1 == path.size();
      token = find_member(token, path[depth], where, last ? &declaration : nullptr, last ? &extracted : nullptr);
      where += key_suffix(path[depth]);
    }
  }

  // Reads the declared array whose first token is `token`; returns the token just past it.
  size_t read_declared(const ArrayDeclaration& declaration, size_t token, const std::string& where,
                       Extracted& extracted) {
    const size_t open = token;
    if (token_byte(open) != '[') {
      wrong_value(open, where,
                  declaration.is_records ? "an array of records"
                                         : "an array of " + std::string(element_type_name(declaration.type)));
    }
    size_t end;
    if (declaration.is_records) {
      end = read_records(declaration, open, where, extracted.object);
    } else {
      switch (declaration.type) {
        case ElementType::kFloat64:
          end = read_array<ElementType::kFloat64>(declaration, open, where, extracted.object);
          break;
        case ElementType::kFloat32:
          end = read_array<ElementType::kFloat32>(declaration, open, where, extracted.object);
          break;
        case ElementType::kInt64:
          end = read_array<ElementType::kInt64>(declaration, open, where, extracted.object);
          break;
        case ElementType::kInt32:
          end = read_array<ElementType::kInt32>(declaration, open, where, extracted.object);
          break;
        case ElementType::kBool:
        default:
          end = read_array<ElementType::kBool>(declaration, open, where, extracted.object);
          break;
      }
    }
    extracted.begin = tokens_[open];
    extracted.end = tokens_[end - 1] + 1;  // the closing bracket is one byte
    return end;
  }

  static std::string with_indices(const std::string& where, const size_t* indices, int count) {
    std::string text = where;
    for (int level = 0; level < count; ++level) {
      text += "[" + std::to_string(indices[level]) + "]";
    }
    return text;
  }

  // An array of numbers (or booleans) nested `ndimensions` deep, every row as long as the
  // first at its level: numpy's shape rules for np.array(nested lists).
  template <ElementType Type>
  size_t read_array(const ArrayDeclaration& declaration, size_t open, const std::string& where,
                    PythonRef& array) {
    using Stored = typename Element<Type>::Stored;
    int ndimensions = declaration.ndimensions;
    if (ndimensions == 0) {
      while (token_byte(open + ndimensions) == '[') {
        if (++ndimensions > kMaxArrayDimensions) {
          throw ShapeProblem{where + " nests deeper than " + std::to_string(kMaxArrayDimensions) + " arrays"};
        }
      }
    }
    constexpr size_t kUnknown = std::numeric_limits<size_t>::max();
    std::array<size_t, kMaxArrayDimensions> shape;
    shape.fill(kUnknown);
    std::array<size_t, kMaxArrayDimensions> indices{};  // position in each open array
    ElementBuffer& elements = workspace_.elements;
    size_t count = 0;
    size_t token = open;
    int depth = 0;  // arrays open

  open_array:  // `token` is a '[' at level `depth`
    indices[depth] = 0;
    ++depth;
    ++token;
    if (token_byte(token) == ']') {
      goto close_array;
    }
    if (depth < ndimensions) {
      if (token_byte(token) != '[') {
        const std::string expected =
            declaration.ndimensions != 0
                ? "an array (" + where + " is declared " + std::to_string(ndimensions) + "-dimensional)"
                : "an array like " + with_indices(where, std::array<size_t, kMaxArrayDimensions>{}.data(), depth);
        wrong_value(token, with_indices(where, indices.data(), depth), expected);
      }
      goto open_array;
    }
    while (true) {  // the innermost level: the elements themselves
      Stored value;
      const ElementStatus status = read_element<Type>(token, value);
      if (status != ElementStatus::kOk) {
        element_problem(status, token, with_indices(where, indices.data(), depth), Type);
      }
      elements.put<Stored>(count++, value);
      ++indices[depth - 1];
      ++token;
      const char byte = token_byte(token);
      if (byte == ',') {
        ++token;
        if (token_byte(token) == ']') {
          throw SyntaxProblem{};  // trailing comma
        }
        continue;
      }
      if (byte == ']') {
        break;
      }
      throw SyntaxProblem{};
    }

  close_array:  // `token` is the ']' of the array open at level `depth - 1`
    {
      const int level = depth - 1;
      if (shape[level] == kUnknown) {
        shape[level] = indices[level];
      } else if (shape[level] != indices[level]) {
        std::array<size_t, kMaxArrayDimensions> first{};
        throw ShapeProblem{with_indices(where, indices.data(), level) + " has " + std::to_string(indices[level]) +
                           (indices[level] == 1 ? " element" : " elements") + ", expected " +
                           std::to_string(shape[level]) + " like " +
                           with_indices(where, first.data(), level)};
      }
      --depth;
      ++token;
      if (depth == 0) {
        goto done;
      }
      ++indices[depth - 1];
      const char byte = token_byte(token);
      if (byte == ']') {
        goto close_array;
      }
      if (byte != ',') {
        throw SyntaxProblem{};
      }
      ++token;
      if (token_byte(token) == '[') {
        goto open_array;
      }
      if (token_byte(token) == ']') {
        throw SyntaxProblem{};  // trailing comma
      }
      wrong_value(token, with_indices(where, indices.data(), depth),
                  "an array like " + with_indices(where, std::array<size_t, kMaxArrayDimensions>{}.data(), depth));
    }

  done:
    PythonRef dimensions(checked(PyTuple_New(ndimensions)));
    for (int level = 0; level < ndimensions; ++level) {
      const size_t length = shape[level] == kUnknown ? 0 : shape[level];
      PyTuple_SET_ITEM(dimensions.get(), level, checked(PyLong_FromSize_t(length)));
    }
    array = make_array(elements, count * sizeof(Stored), dimensions.get(), declaration.dtype.get());
    return token;
  }

  PythonRef make_array(const ElementBuffer& elements, size_t bytes, PyObject* shape, PyObject* dtype) {
    // bytearray, not bytes: the handler gets a writable array (values -= values.mean()).
    PythonRef storage(checked(PyByteArray_FromStringAndSize(bytes == 0 ? nullptr : elements.data(),
                                                            static_cast<Py_ssize_t>(bytes))));
    PyObject* arguments[] = {shape, dtype, storage.get()};
    return PythonRef(checked(PyObject_Vectorcall(plan_.make_array(), arguments, 3, nullptr)));
  }

  template <ElementType Type>
  void read_column_element(size_t token, size_t record, ElementBuffer& column, const std::string& where,
                           const ColumnDeclaration& field) {
    typename Element<Type>::Stored value;
    const ElementStatus status = read_element<Type>(token, value);
    if (status != ElementStatus::kOk) {
      element_problem(status, token, where + "[" + std::to_string(record) + "]" + key_suffix(field.key),
                      Type);
    }
    column.put(record, value);
  }

  // An array of objects, each with every declared field; one column array per field.
  size_t read_records(const ArrayDeclaration& declaration, size_t open, const std::string& where, PythonRef& columns) {
    const std::vector<ColumnDeclaration>& fields = declaration.columns;
    if (workspace_.columns.size() < fields.size()) {
      workspace_.columns.resize(fields.size());
    }
    const uint64_t all_fields = fields.size() == 64 ? ~uint64_t{0} : (uint64_t{1} << fields.size()) - 1;
    size_t record = 0;
    size_t token = open + 1;
    if (token_byte(token) != ']') {
      while (true) {
        if (token_byte(token) != '{') {
          wrong_value(token, where + "[" + std::to_string(record) + "]", "an object (a record)");
        }
        ++token;
        uint64_t seen = 0;
        if (token_byte(token) == '}') {
          ++token;
        } else {
          while (true) {
            if (token_byte(token) != '"') {
              throw SyntaxProblem{};
            }
            const StringText name = read_string_at(token);
            if (token_byte(token + 1) != ':') {
              throw SyntaxProblem{};
            }
            token += 2;
            size_t field = 0;
            while (field < fields.size() && !(fields[field].key.size() == name.length &&
                                              std::memcmp(fields[field].key.data(), name.data, name.length) == 0)) {
              ++field;
            }
            if (field == fields.size()) {
              token = skip_checked(token);
            } else {
              const ColumnDeclaration& column = fields[field];
              ElementBuffer& buffer = workspace_.columns[field];
              switch (column.type) {
                case ElementType::kFloat64:
                  read_column_element<ElementType::kFloat64>(token, record, buffer, where, column);
                  break;
                case ElementType::kFloat32:
                  read_column_element<ElementType::kFloat32>(token, record, buffer, where, column);
                  break;
                case ElementType::kInt64:
                  read_column_element<ElementType::kInt64>(token, record, buffer, where, column);
                  break;
                case ElementType::kInt32:
                  read_column_element<ElementType::kInt32>(token, record, buffer, where, column);
                  break;
                case ElementType::kBool:
                  read_column_element<ElementType::kBool>(token, record, buffer, where, column);
                  break;
              }
              seen |= uint64_t{1} << field;  // a repeated field: the last one counts, as in json.loads
              ++token;
            }
            const char byte = token_byte(token);
            if (byte == ',') {
              ++token;
              continue;
            }
            if (byte == '}') {
              ++token;
              break;
            }
            throw SyntaxProblem{};
          }
        }
        if (seen != all_fields) {
          size_t missing = 0;
          while (seen & (uint64_t{1} << missing)) {
            ++missing;
          }
          throw ShapeProblem{where + "[" + std::to_string(record) + "] has no \"" + fields[missing].key +
                             "\" field"};
        }
        ++record;
        const char byte = token_byte(token);
        if (byte == ',') {
          ++token;
          if (token_byte(token) == ']') {
            throw SyntaxProblem{};
          }
          continue;
        }
        if (byte == ']') {
          break;
        }
        throw SyntaxProblem{};
      }
    }
    PythonRef shape(checked(Py_BuildValue("(n)", static_cast<Py_ssize_t>(record))));
    PythonRef by_name(checked(PyDict_New()));
    for (size_t field = 0; field < fields.size(); ++field) {
      PythonRef column = make_array(workspace_.columns[field], record * item_size(fields[field].type), shape.get(),
                                    fields[field].dtype.get());
      PythonRef name(checked(PyUnicode_FromStringAndSize(fields[field].name.data(),
                                                         static_cast<Py_ssize_t>(fields[field].name.size()))));
      if (PyDict_SetItem(by_name.get(), name.get(), column.get()) != 0) {
        throw DecodeError(take_python_error_message());
      }
    }
    PyObject* arguments[] = {by_name.get()};
    columns = PythonRef(checked(PyObject_Vectorcall(plan_.make_columns(), arguments, 1, nullptr)));
    return token + 1;
  }

  // The document without the arrays read here, each replaced by null, decoded by decode().
  PythonRef decode_rest(const std::vector<Extracted>& extracted) {
    std::vector<const Extracted*> in_order;
    for (const Extracted& part : extracted) {
      in_order.push_back(&part);
    }
    std::sort(in_order.begin(), in_order.end(),
              [](const Extracted* left, const Extracted* right) { return left->begin < right->begin; });
    std::string& rest = workspace_.rest;
    rest.clear();
    size_t copied = 0;
    for (const Extracted* part : in_order) {
      rest.append(in_ + copied, part->begin - copied);
      rest.append("null");
      copied = part->end;
    }
    rest.append(in_ + copied, length_ - copied);
    try {
      return PythonRef(decode(rest));
    } catch (const DecodeError&) {
      throw SyntaxProblem{};  // its positions are the copy's: the original's message is wanted
    }
  }

  void put_in_place(PyObject* event, size_t declaration, PyObject* object) {
    const std::vector<PythonRef>& path = plan_.python_path(declaration);
    PyObject* parent = event;
    for (size_t depth = 0; depth + 1 < path.size(); ++depth) {
      parent = PyDict_GetItemWithError(parent, path[depth].get());  // borrowed; a dict, as walked
      if (parent == nullptr || !PyDict_Check(parent)) {
        throw DecodeError(PyErr_Occurred() ? take_python_error_message() : "declared path not in the decoded event");
      }
    }
    if (PyDict_SetItem(parent, path.back().get(), object) != 0) {
      throw DecodeError(take_python_error_message());
    }
  }

  std::string_view document_;
  const NumericArrayPlan& plan_;
  NumericArrayWorkspace& workspace_;
  const char* in_ = nullptr;
  size_t length_ = 0;
  const uint32_t* tokens_ = nullptr;
};

}  // namespace

PyObject* decode_with_numeric_arrays(std::string_view document, const NumericArrayPlan& plan) {
  ReusableWorkspace<NumericArrayWorkspace>::Lease workspace(numeric_array_workspace());
  NumericArrayDecoder<ActiveKernel> decoder(document, plan, *workspace);
  return decoder.run();
}

}  // namespace lamina::json
