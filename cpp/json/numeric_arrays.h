// Vectorized handlers' decoding (codec.md "Vectorized handlers"): the numeric arrays a handler
// declared are read from the event's JSON bytes straight into the buffers of numpy arrays,
// with no Python object per element; the rest of the event is decoded by decode().
//
// numpy is never linked or included: each array's elements are written into a bytearray,
// which the plan's `make_array` (numpy.ndarray) wraps without copying.
#pragma once

#include <Python.h>

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "json/python_ref.h"

namespace lamina::json {

// The element types an array can be declared with, as numpy names them.
enum class ElementType : uint8_t { kFloat64, kFloat32, kInt64, kInt32, kBool };

// numpy's name of the type ("float64"), and the reverse (false for any other name).
std::string_view element_type_name(ElementType type) noexcept;
bool element_type_from_name(std::string_view name, ElementType& type) noexcept;

// Most dimensions of a declared array (numpy's limit is 64; JSON events need a few).
inline constexpr int kMaxArrayDimensions = 32;

// One column of an array of records: the record field `key`, read into an array that the
// handler reaches as `name`.
struct ColumnDeclaration {
  std::string name;
  std::string key;
  ElementType type = ElementType::kFloat64;
  PythonRef dtype;  // the numpy dtype handed to make_array
};

// One part of the event a handler declared: at `path` (object keys from the root; empty for
// the event itself), either a JSON array of numbers or booleans nested `ndimensions` deep
// (0: as deep as the first elements nest), or an array of records read into `columns`.
struct ArrayDeclaration {
  std::vector<std::string> path;
  bool is_records = false;
  ElementType type = ElementType::kFloat64;
  PythonRef dtype;
  int ndimensions = 0;
  std::vector<ColumnDeclaration> columns;
};

// What a vectorized handler declared, checked and ready for every invocation. make_array is
// called as make_array(shape: tuple, dtype, buffer: bytearray) (numpy.ndarray), make_columns
// as make_columns({name: array}) (lamina.arrays.Columns).
class NumericArrayPlan {
 public:
  // Throws std::invalid_argument when the declarations overlap (one path inside another, or
  // the event itself next to anything else) or name no array.
  NumericArrayPlan(std::vector<ArrayDeclaration> declarations, PythonRef make_array,
                   PythonRef make_columns);

  const std::vector<ArrayDeclaration>& declarations() const noexcept { return declarations_; }
  PyObject* make_array() const noexcept { return make_array_.get(); }
  PyObject* make_columns() const noexcept { return make_columns_.get(); }
  // The path keys as str, built once: where the arrays are put in the decoded event.
  const std::vector<PythonRef>& python_path(size_t declaration) const { return python_paths_[declaration]; }

 private:
  std::vector<ArrayDeclaration> declarations_;
  std::vector<std::vector<PythonRef>> python_paths_;
  PythonRef make_array_;
  PythonRef make_columns_;
};

// Decodes `document` as decode() does, except that each declared path holds its numpy array
// (or make_columns' object for records) instead of lists. Returns a new reference. Requires
// the GIL. Throws DecodeError: with decode()'s message when the document is not JSON, and
// otherwise naming the path, index and field when it does not hold what was declared
// ('event["values"][3] is a string, expected a float64 number').
PyObject* decode_with_numeric_arrays(std::string_view document, const NumericArrayPlan& plan);

}  // namespace lamina::json
