// Python objects -> compact JSON, matching awslambdaric's simplejson encoder
// (use_decimal=False, ensure_ascii=False, allow_nan=True, Decimal via its default()) except
// for the separators. Nesting lives in an explicit frame stack, as in the decoder.
#include <cmath>
#include <cstring>
#include <string>
#include <string_view>
#include <vector>

#include "json/codec.h"
#include "json/kernel.h"
#include "json/number_formatting.h"
#include "json/numpy_encoding.h"
#include "json/output_writer.h"
#include "json/python_ref.h"
#include "json/reusable.h"
#include "json/string_escaping.h"

namespace lamina::json {

namespace {

constexpr std::string_view kTooDeep =
    "maximum recursion depth exceeded while encoding a JSON object";

[[noreturn]] void throw_python_error() { throw EncodeError(take_python_error_message()); }

PyObject* checked(PyObject* result) {
  if (result == nullptr) {
    throw_python_error();
  }
  return result;
}

// decimal.Decimal, or nullptr while nothing has imported the decimal module (then no value
// can be a Decimal, and importing it just to check would cost every call that gets here).
PyObject* decimal_type_if_imported() {
  static PyObject* decimal_type = nullptr;  // Kept for the process's lifetime, like the module.
  if (decimal_type != nullptr) {
    return decimal_type;
  }
  PythonRef name(checked(PyUnicode_FromString("decimal")));
  PythonRef module(PyImport_GetModule(name.get()));
  if (!module) {
    if (PyErr_Occurred()) {
      throw_python_error();
    }
    return nullptr;
  }
  decimal_type = checked(PyObject_GetAttrString(module.get(), "Decimal"));
  return decimal_type;
}

// simplejson.RawJSON is written as its text; recognised without importing simplejson.
bool is_simplejson_raw_json(PyObject* value) {
  if (std::strcmp(Py_TYPE(value)->tp_name, "RawJSON") != 0) {
    return false;
  }
  PythonRef module(PyObject_GetAttrString(reinterpret_cast<PyObject*>(Py_TYPE(value)), "__module__"));
  if (!module) {
    PyErr_Clear();
    return false;
  }
  const char* module_name = PyUnicode_Check(module.get()) ? PyUnicode_AsUTF8(module.get()) : nullptr;
  if (module_name == nullptr) {
    PyErr_Clear();
    return false;
  }
  return std::strcmp(module_name, "simplejson.raw_json") == 0;
}

enum class FrameKind : uint8_t { kList, kTuple, kDict, kItemPairs };

// An array or object being written.
struct EncodeFrame {
  PythonRef container;  // list, tuple, dict, or an iterator over (key, value) pairs
  PythonRef owner;      // the user's object when `container` was derived from it
  PyObject* identity;   // what circular-reference detection compares: the user's object
  Py_ssize_t position;
  FrameKind kind;
  bool has_members;
};

struct EncoderWorkspace {
  std::vector<EncodeFrame> frames;
  OutputBuffer output;

  void trim() {
    frames.clear();
    if (frames.capacity() > 1024) {
      std::vector<EncodeFrame>().swap(frames);
    }
    output.clear();
    // Keep what a typical response needs (a 6 MB one gives its memory back).
    output.release_if_larger_than(size_t{2} << 20);
  }
};

class Encoder {
 public:
  Encoder(OutputWriter& writer, std::vector<EncodeFrame>& frames) : writer_(writer), frames_(frames) {}
  Encoder(const Encoder&) = delete;
  Encoder& operator=(const Encoder&) = delete;
  ~Encoder() { frames_.clear(); }

  void run(PyObject* root) {
    write_value(root);
    while (!frames_.empty()) {
      EncodeFrame& frame = frames_.back();
      switch (frame.kind) {
        case FrameKind::kList:
          next_list_item(frame);
          break;
        case FrameKind::kTuple:
          next_tuple_item(frame);
          break;
        case FrameKind::kDict:
          next_dict_member(frame);
          break;
        case FrameKind::kItemPairs:
          next_item_pair(frame);
          break;
      }
    }
  }

 private:
  // Each next_* writes members of the innermost container until one of them opens a
  // container of its own (then it returns at once: pushing that frame may have moved
  // `frame`) or the container ends (then it closes it).
  //
  // Members are read as borrowed references: only user code can drop them while they are
  // written (a Decimal's __str__ emptying the list it is in), and write_other_value, the one
  // path that runs user code, holds its own reference first.
  void next_list_item(EncodeFrame& frame) {
    PyObject* list = frame.container.get();
    // The size is re-read every time: code run by an item could shrink the list.
    while (frame.position < PyList_GET_SIZE(list)) {
      PyObject* item = PyList_GET_ITEM(list, frame.position);
      write_separator(frame);
      ++frame.position;
      if (write_value(item)) {
        return;
      }
    }
    close(']');
  }

  void next_tuple_item(EncodeFrame& frame) {
    PyObject* tuple = frame.container.get();
    while (frame.position < PyTuple_GET_SIZE(tuple)) {
      PyObject* item = PyTuple_GET_ITEM(tuple, frame.position);  // The tuple keeps it alive.
      write_separator(frame);
      ++frame.position;
      if (write_value(item)) {
        return;
      }
    }
    close(']');
  }

  void next_dict_member(EncodeFrame& frame) {
    PyObject* key = nullptr;
    PyObject* value = nullptr;
    while (PyDict_Next(frame.container.get(), &frame.position, &key, &value)) {
      write_separator(frame);
      // Writing a key runs no user code, and the key is not needed once written.
      if (PyUnicode_CheckExact(key)) {
        write_json_string(key, writer_);
      } else {
        write_key(key);
      }
      writer_.put(':');
      if (write_value(value)) {
        return;
      }
    }
    close('}');
  }

  // dict subclasses: simplejson iterates their items(), which they may override.
  void next_item_pair(EncodeFrame& frame) {
    PythonRef pair(PyIter_Next(frame.container.get()));
    if (!pair) {
      if (PyErr_Occurred()) {
        throw_python_error();
      }
      close('}');
      return;
    }
    if (!PyTuple_Check(pair.get()) || PyTuple_GET_SIZE(pair.get()) != 2) {
      throw EncodeError("items must return 2-tuples");
    }
    write_separator(frame);
    write_key(PyTuple_GET_ITEM(pair.get(), 0));
    writer_.put(':');
    write_value(PyTuple_GET_ITEM(pair.get(), 1));
  }

  void write_separator(EncodeFrame& frame) {
    if (frame.has_members) {
      writer_.put(',');
    }
    frame.has_members = true;
  }

  void close(char closing) {
    writer_.put(closing);
    frames_.pop_back();
  }

  // Always true: write_value returns open(...) when it pushed a frame.
  bool open(FrameKind kind, PythonRef container, PythonRef owner, PyObject* identity, char opening) {
    if (frames_.size() >= static_cast<size_t>(kMaxDepth)) {
      throw EncodeError(std::string(kTooDeep));
    }
    // Containers on the stack are the ones being written; typical depths are small enough
    // that a scan beats hashing.
    for (const EncodeFrame& open_frame : frames_) {
      if (open_frame.identity == identity) {
        throw EncodeError("Circular reference detected");
      }
    }
    frames_.push_back(EncodeFrame{std::move(container), std::move(owner), identity, 0, kind, false});
    writer_.put(opening);
    return true;
  }

  // Writes `value`, or opens its frame and returns true (its members come later).
  bool write_value(PyObject* value) {
    PyTypeObject* type = Py_TYPE(value);
    // Exact builtin types first: the bulk of any result.
    if (type == &PyUnicode_Type) {
      write_json_string(value, writer_);
    } else if (type == &PyLong_Type) {
      write_int(value);
    } else if (type == &PyFloat_Type) {
      write_float(PyFloat_AS_DOUBLE(value));
    } else if (value == Py_None) {
      writer_.append("null", 4);
    } else if (value == Py_True) {
      writer_.append("true", 4);
    } else if (value == Py_False) {
      writer_.append("false", 5);
    } else if (type == &PyDict_Type) {
      if (PyDict_GET_SIZE(value) == 0) {
        writer_.append("{}", 2);
      } else {
        return open(FrameKind::kDict, PythonRef::borrow(value), PythonRef(), value, '{');
      }
    } else if (type == &PyList_Type) {
      if (PyList_GET_SIZE(value) == 0) {
        writer_.append("[]", 2);
      } else {
        return open(FrameKind::kList, PythonRef::borrow(value), PythonRef(), value, '[');
      }
    } else if (type == &PyTuple_Type) {
      if (PyTuple_GET_SIZE(value) == 0) {
        writer_.append("[]", 2);
      } else {
        return open(FrameKind::kTuple, PythonRef::borrow(value), PythonRef(), value, '[');
      }
    } else {
      return write_other_value(value);
    }
    return false;
  }

  // Subclasses and everything else, in simplejson's order of checks; as write_value. User
  // code may run from here on (__str__, _asdict, items()), and could drop `value` from the
  // container it was borrowed from: hold a reference.
  bool write_other_value(PyObject* borrowed) {
    const PythonRef held = PythonRef::borrow(borrowed);
    PyObject* const value = held.get();
    if (PyUnicode_Check(value)) {  // str subclasses and str enums: their str value
      write_json_string(value, writer_);
      return false;
    }
    if (PyBytes_Check(value)) {  // simplejson decodes bytes as UTF-8 text
      write_bytes_as_string(value);
      return false;
    }
    if (PyLong_Check(value)) {  // IntEnum, IntFlag: their int value
      write_int(value);
      return false;
    }
    if (PyFloat_Check(value)) {
      write_float(PyFloat_AS_DOUBLE(value));
      return false;
    }
    if (is_simplejson_raw_json(value)) {
      PythonRef text(checked(PyObject_GetAttrString(value, "encoded_json")));
      write_raw_text(text.get());
      return false;
    }
    PyObject* decimal_type = decimal_type_if_imported();
    const bool is_exact_decimal =
        decimal_type != nullptr && reinterpret_cast<PyObject*>(Py_TYPE(value)) == decimal_type;
    if (!is_exact_decimal && try_write_numpy(value)) {  // written whole, from its buffer
      return false;
    }
    // Decimal has no _asdict; skipping the lookup keeps DynamoDB-style results fast.
    if (!is_exact_decimal && try_write_asdict(value)) {
      return true;
    }
    if (PyList_Check(value) || PyTuple_Check(value)) {
      // Subclasses go through iteration, which they may override (PySequence_Fast).
      PythonRef items(checked(PySequence_Fast(value, "_iterencode_list needs a sequence")));
      const FrameKind kind = PyList_Check(items.get()) ? FrameKind::kList : FrameKind::kTuple;
      return open(kind, std::move(items), PythonRef::borrow(value), value, '[');
    }
    if (PyDict_Check(value)) {
      PythonRef items(checked(PyObject_CallMethod(value, "items", nullptr)));
      PythonRef iterator(checked(PyObject_GetIter(items.get())));
      return open(FrameKind::kItemPairs, std::move(iterator), PythonRef::borrow(value), value, '{');
    }
    if (decimal_type != nullptr) {
      const int is_decimal = PyObject_IsInstance(value, decimal_type);
      if (is_decimal < 0) {
        throw_python_error();
      }
      if (is_decimal) {
        write_decimal(value, is_exact_decimal);
        return false;
      }
    }
    throw EncodeError("Object of type " + class_name_of(value) + " is not JSON serializable");
  }

  // numpy arrays and scalars, written from their buffers (numpy_encoding.h); an ndarray
  // subclass (a masked array) through its own tolist(), which knows what its data means.
  bool try_write_numpy(PyObject* value) {
    const NumpyTypes* numpy = numpy_types_if_imported();
    if (numpy == nullptr) {
      return false;
    }
    if (Py_TYPE(value) == numpy->ndarray || PyObject_TypeCheck(value, numpy->generic)) {
      write_numpy_value(value, writer_);
      return true;
    }
    if (!PyObject_TypeCheck(value, numpy->ndarray)) {
      return false;
    }
    PythonRef items(checked(PyObject_CallMethod(value, "tolist", nullptr)));
    if (PyList_CheckExact(items.get())) {
      open(FrameKind::kList, std::move(items), PythonRef::borrow(value), value, '[');
    } else {
      write_value(items.get());  // zero-dimensional: one scalar (a container opens its own frame)
    }
    return true;
  }

  // simplejson's namedtuple_as_object: any object with a callable _asdict() returning a dict
  // is written as that dict (a TypeError from the call means "not applicable").
  bool try_write_asdict(PyObject* value) {
    PythonRef method(PyObject_GetAttrString(value, "_asdict"));
    if (!method) {
      if (clear_python_error_if(PyExc_AttributeError)) {
        return false;
      }
      throw_python_error();
    }
    if (!PyCallable_Check(method.get())) {
      return false;
    }
    PythonRef members(PyObject_CallNoArgs(method.get()));
    if (!members) {
      if (clear_python_error_if(PyExc_TypeError)) {
        return false;
      }
      throw_python_error();
    }
    if (!PyDict_Check(members.get())) {
      throw EncodeError("_asdict() must return a dict, not " + class_name_of(members.get()));
    }
    if (PyDict_CheckExact(members.get())) {
      open(FrameKind::kDict, std::move(members), PythonRef::borrow(value), value, '{');
    } else {
      PythonRef items(checked(PyObject_CallMethod(members.get(), "items", nullptr)));
      PythonRef iterator(checked(PyObject_GetIter(items.get())));
      open(FrameKind::kItemPairs, std::move(iterator), PythonRef::borrow(value), value, '{');
    }
    return true;
  }

  // awslambdaric's default(): a NaN Decimal is the float NaN, any other is str() as a raw number.
  void write_decimal(PyObject* value, bool is_exact_decimal) {
    if (!is_exact_decimal) {
      // A subclass may override is_nan() or __str__; call them as awslambdaric does.
      PythonRef is_nan(checked(PyObject_CallMethod(value, "is_nan", nullptr)));
      const int truth = PyObject_IsTrue(is_nan.get());
      if (truth < 0) {
        throw_python_error();
      }
      if (truth) {
        writer_.append("NaN", 3);
        return;
      }
      PythonRef text(checked(PyObject_Str(value)));
      write_raw_text(text.get());
      return;
    }
    PythonRef text(checked(PyObject_Str(value)));
    Py_ssize_t length = 0;
    const char* data = PyUnicode_AsUTF8AndSize(text.get(), &length);
    if (data == nullptr) {
      throw_python_error();
    }
    // str(Decimal) is "NaN", "sNaN" or one of them after a '-' exactly when is_nan() is true
    // ("Infinity" is written as it is, as awslambdaric writes it).
    std::string_view unsigned_text(data, static_cast<size_t>(length));
    if (!unsigned_text.empty() && unsigned_text.front() == '-') {
      unsigned_text.remove_prefix(1);
    }
    if (!unsigned_text.empty() && (unsigned_text.front() == 'N' || unsigned_text.front() == 's')) {
      writer_.append("NaN", 3);
      return;
    }
    writer_.append(data, static_cast<size_t>(length));
  }

  void write_raw_text(PyObject* text) {
    if (!PyUnicode_Check(text)) {
      throw EncodeError("Object of type " + class_name_of(text) + " is not JSON serializable");
    }
    Py_ssize_t length = 0;
    const char* data = PyUnicode_AsUTF8AndSize(text, &length);
    if (data == nullptr) {
      throw_python_error();
    }
    writer_.append(data, static_cast<size_t>(length));
  }

  void write_bytes_as_string(PyObject* bytes) {
    const char* data = PyBytes_AS_STRING(bytes);
    const Py_ssize_t length = PyBytes_GET_SIZE(bytes);
    if (!ActiveKernel::validate_utf8(data, static_cast<size_t>(length))) {
      // CPython's decoder words the error as simplejson reports it.
      PythonRef text(PyUnicode_DecodeUTF8(data, length, nullptr));
      if (!text) {
        throw_python_error();
      }
      throw EncodeError("'utf-8' codec can't decode bytes: invalid UTF-8");
    }
    write_json_string_utf8(data, static_cast<size_t>(length), writer_);
  }

  void write_int(PyObject* value) {
    int overflow = 0;
    const long long small = PyLong_AsLongLongAndOverflow(value, &overflow);
    if (overflow == 0) {
      if (small == -1 && PyErr_Occurred()) {
        throw_python_error();
      }
      char* out = writer_.reserve(kMaxNumberTextLength);
      writer_.advance_to(out + format_int64(small, out));
      return;
    }
    // int's own repr, not a subclass's: raises Python's digit limit error past 4300 digits.
    PythonRef text(checked(PyLong_Type.tp_repr(value)));
    write_raw_text(text.get());
  }

  void write_float(double value) {
    if (std::isnan(value)) {
      writer_.append("NaN", 3);
    } else if (std::isinf(value)) {
      if (value > 0) {
        writer_.append("Infinity", 8);
      } else {
        writer_.append("-Infinity", 9);
      }
    } else {
      char* out = writer_.reserve(kMaxNumberTextLength);
      writer_.advance_to(out + format_double_repr(value, out));
    }
  }

  // Keys as simplejson converts them: str, bytes (UTF-8), float, bool, None, int.
  void write_key(PyObject* key) {
    if (PyUnicode_Check(key)) {
      write_json_string(key, writer_);
    } else if (PyBytes_Check(key)) {
      write_bytes_as_string(key);
    } else if (PyFloat_Check(key)) {
      writer_.put('"');
      write_float(PyFloat_AS_DOUBLE(key));
      writer_.put('"');
    } else if (key == Py_True) {
      writer_.append("\"true\"", 6);
    } else if (key == Py_False) {
      writer_.append("\"false\"", 7);
    } else if (key == Py_None) {
      writer_.append("\"null\"", 6);
    } else if (PyLong_Check(key)) {
      writer_.put('"');
      write_int(key);
      writer_.put('"');
    } else {
      throw EncodeError("keys must be str, int, float, bool or None, not " + class_name_of(key));
    }
  }

  OutputWriter& writer_;
  std::vector<EncodeFrame>& frames_;
};

ReusableWorkspace<EncoderWorkspace>& encoder_workspace() {
  // Destroyed at exit, after the interpreter: safe, as it holds no Python reference between calls.
  static ReusableWorkspace<EncoderWorkspace> workspace;
  return workspace;
}

template <class Output>
void encode_with(PyObject* value, Output& out, std::vector<EncodeFrame>& frames) {
  OutputWriter writer(out);
  Encoder encoder(writer, frames);
  encoder.run(value);
  writer.commit();
}

}  // namespace

void encode(PyObject* value, std::string& out) {
  ReusableWorkspace<EncoderWorkspace>::Lease workspace(encoder_workspace());
  encode_with(value, out, workspace->frames);
}

PyObject* encode_to_bytes(PyObject* value) {
  ReusableWorkspace<EncoderWorkspace>::Lease workspace(encoder_workspace());
  encode_with(value, workspace->output, workspace->frames);
  PyObject* bytes = PyBytes_FromStringAndSize(workspace->output.data(),
                                              static_cast<Py_ssize_t>(workspace->output.size()));
  if (bytes == nullptr) {
    throw EncodeError(take_python_error_message());
  }
  return bytes;
}

}  // namespace lamina::json
