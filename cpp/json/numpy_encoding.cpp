#include "json/numpy_encoding.h"

#include <charconv>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <string>

#include "json/codec.h"
#include "json/number_formatting.h"
#include "json/python_ref.h"

namespace lamina::json {

const NumpyTypes* numpy_types_if_imported() {
  static NumpyTypes types{};  // Kept for the process's lifetime, like the module.
  if (types.ndarray != nullptr) {
    return &types;
  }
  PythonRef name(PyUnicode_FromString("numpy"));
  PythonRef module(name ? PyImport_GetModule(name.get()) : nullptr);
  if (!module) {
    if (PyErr_Occurred()) {
      throw EncodeError(take_python_error_message());
    }
    return nullptr;
  }
  PythonRef ndarray(PyObject_GetAttrString(module.get(), "ndarray"));
  PythonRef generic(ndarray ? PyObject_GetAttrString(module.get(), "generic") : nullptr);
  if (!generic || !PyType_Check(ndarray.get()) || !PyType_Check(generic.get())) {
    PyErr_Clear();
    return nullptr;  // numpy half imported (an import still running): nothing is an array yet
  }
  types.generic = reinterpret_cast<PyTypeObject*>(generic.release());
  types.ndarray = reinterpret_cast<PyTypeObject*>(ndarray.release());
  return &types;
}

namespace {

enum class Kind : uint8_t { kBool, kSigned, kUnsigned, kHalf, kFloat, kDouble, kLongDouble };

// Owns a Py_buffer view of one numpy value.
class ArrayView {
 public:
  explicit ArrayView(PyObject* value) : ok_(PyObject_GetBuffer(value, &view_, PyBUF_RECORDS_RO) == 0) {
    if (!ok_) {
      PyErr_Clear();
    }
  }
  ArrayView(const ArrayView&) = delete;
  ArrayView& operator=(const ArrayView&) = delete;
  ~ArrayView() {
    if (ok_) {
      PyBuffer_Release(&view_);
    }
  }
  bool ok() const noexcept { return ok_; }
  const Py_buffer& view() const noexcept { return view_; }

 private:
  Py_buffer view_{};
  bool ok_;
};

// What the buffer format ("d", "<f", ">i", "?") says about each element; false for formats
// that are not one bool or number (object "O", str "3w", complex "Zd", structured "T{...}").
bool element_kind(const char* format, Py_ssize_t item_size, Kind& kind, bool& swapped) {
  if (format == nullptr) {
    return false;
  }
  swapped = false;
  if (*format == '<' || *format == '>' || *format == '!' || *format == '=' || *format == '@') {
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
    swapped = *format == '>' || *format == '!';
#else
    swapped = *format == '<';
#endif
    ++format;
  }
  if (format[0] == '\0' || format[1] != '\0') {
    return false;
  }
  switch (format[0]) {
    case '?':
      kind = Kind::kBool;
      return item_size == 1;
    case 'b': case 'h': case 'i': case 'l': case 'q': case 'n':
      kind = Kind::kSigned;
      return item_size == 1 || item_size == 2 || item_size == 4 || item_size == 8;
    case 'B': case 'H': case 'I': case 'L': case 'Q': case 'N':
      kind = Kind::kUnsigned;
      return item_size == 1 || item_size == 2 || item_size == 4 || item_size == 8;
    case 'e':
      kind = Kind::kHalf;
      return item_size == 2;
    case 'f':
      kind = Kind::kFloat;
      return item_size == 4;
    case 'd':
      kind = Kind::kDouble;
      return item_size == 8;
    case 'g':
      kind = Kind::kLongDouble;
      return item_size == static_cast<Py_ssize_t>(sizeof(long double)) && !swapped;
    default:
      return false;
  }
}

// IEEE half -> double, exactly (every half is a double).
double half_to_double(uint16_t bits) noexcept {
  const int exponent = (bits >> 10) & 0x1F;
  const int fraction = bits & 0x3FF;
  double magnitude;
  if (exponent == 0) {
    magnitude = std::ldexp(static_cast<double>(fraction), -24);
  } else if (exponent == 0x1F) {
    magnitude = fraction == 0 ? HUGE_VAL : std::nan("");
  } else {
    magnitude = std::ldexp(static_cast<double>(fraction | 0x400), exponent - 25);
  }
  return (bits & 0x8000) ? -magnitude : magnitude;
}

class ElementWriter {
 public:
  ElementWriter(const Py_buffer& view, Kind kind, bool swapped, OutputWriter& writer)
      : view_(view), kind_(kind), swapped_(swapped), size_(static_cast<size_t>(view.itemsize)), writer_(writer) {}

  // Nested arrays, one level per dimension, elements reached through the strides (any
  // layout: transposed, sliced, negative steps).
  void write_dimension(const char* data, int dimension) {
    if (dimension == view_.ndim) {
      write_element(data);
      return;
    }
    const Py_ssize_t length = view_.shape[dimension];
    const Py_ssize_t stride = view_.strides[dimension];
    writer_.put('[');
    for (Py_ssize_t index = 0; index < length; ++index) {
      if (index != 0) {
        writer_.put(',');
      }
      write_dimension(data + index * stride, dimension + 1);
    }
    writer_.put(']');
  }

 private:
  template <class Unsigned>
  Unsigned load(const char* data) const noexcept {
    Unsigned bits;
    std::memcpy(&bits, data, sizeof(bits));
    if (swapped_) {
      if constexpr (sizeof(Unsigned) == 2) {
        bits = __builtin_bswap16(bits);
      } else if constexpr (sizeof(Unsigned) == 4) {
        bits = __builtin_bswap32(bits);
      } else if constexpr (sizeof(Unsigned) == 8) {
        bits = __builtin_bswap64(bits);
      }
    }
    return bits;
  }

  uint64_t load_unsigned(const char* data) const noexcept {
    switch (size_) {
      case 1: return load<uint8_t>(data);
      case 2: return load<uint16_t>(data);
      case 4: return load<uint32_t>(data);
      default: return load<uint64_t>(data);
    }
  }

  int64_t load_signed(const char* data) const noexcept {
    switch (size_) {
      case 1: return static_cast<int8_t>(load<uint8_t>(data));
      case 2: return static_cast<int16_t>(load<uint16_t>(data));
      case 4: return static_cast<int32_t>(load<uint32_t>(data));
      default: return static_cast<int64_t>(load<uint64_t>(data));
    }
  }

  void write_element(const char* data) {
    char* out = writer_.reserve(kMaxNumberTextLength);
    switch (kind_) {
      case Kind::kBool:
        if (*data != 0) {
          writer_.append("true", 4);
        } else {
          writer_.append("false", 5);
        }
        return;
      case Kind::kSigned:
        writer_.advance_to(out + format_int64(load_signed(data), out));
        return;
      case Kind::kUnsigned:
        writer_.advance_to(std::to_chars(out, out + kMaxNumberTextLength, load_unsigned(data)).ptr);
        return;
      case Kind::kHalf:
        write_double(half_to_double(load<uint16_t>(data)));
        return;
      case Kind::kFloat: {
        const uint32_t bits = load<uint32_t>(data);
        float value;
        std::memcpy(&value, &bits, sizeof(value));
        write_double(value);  // float(np.float32(x)): the float's exact value, as a double
        return;
      }
      case Kind::kDouble: {
        const uint64_t bits = load<uint64_t>(data);
        double value;
        std::memcpy(&value, &bits, sizeof(value));
        write_double(value);
        return;
      }
      case Kind::kLongDouble: {
        long double value;
        std::memcpy(&value, data, sizeof(value));
        write_double(static_cast<double>(value));  // the nearest double: JSON readers have no more
        return;
      }
    }
  }

  // As the encoder writes a Python float.
  void write_double(double value) {
    if (std::isnan(value)) {
      writer_.append("NaN", 3);
    } else if (std::isinf(value)) {
      writer_.append(value > 0 ? "Infinity" : "-Infinity", value > 0 ? 8 : 9);
    } else {
      char* out = writer_.reserve(kMaxNumberTextLength);
      writer_.advance_to(out + format_double_repr(value, out));
    }
  }

  const Py_buffer& view_;
  Kind kind_;
  bool swapped_;
  size_t size_;
  OutputWriter& writer_;
};

[[noreturn]] void not_serializable(PyObject* value, bool is_array) {
  std::string message = "Object of type " + class_name_of(value);
  if (is_array) {
    PythonRef dtype(PyObject_GetAttrString(value, "dtype"));
    PythonRef text(dtype ? PyObject_Str(dtype.get()) : nullptr);
    const char* name = text ? PyUnicode_AsUTF8(text.get()) : nullptr;
    if (name != nullptr) {
      message += " with dtype ";
      message += name;
    }
    PyErr_Clear();
  }
  throw EncodeError(message + " is not JSON serializable");
}

}  // namespace

void write_numpy_value(PyObject* value, OutputWriter& writer) {
  const bool is_array = PyObject_TypeCheck(value, numpy_types_if_imported()->ndarray);
  ArrayView array(value);
  Kind kind;
  bool swapped;
  // A numpy scalar is a zero-dimensional buffer; datetime64 scalars export raw bytes instead.
  if (!array.ok() || (!is_array && array.view().ndim != 0) ||
      !element_kind(array.view().format, array.view().itemsize, kind, swapped)) {
    not_serializable(value, is_array);
  }
  ElementWriter(array.view(), kind, swapped, writer).write_dimension(static_cast<const char*>(array.view().buf), 0);
}

}  // namespace lamina::json
