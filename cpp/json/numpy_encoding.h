// numpy results -> JSON, written from the arrays' buffers (codec.md "Encode", numpy bullet):
// no tolist(), no Python object per element, and no numpy build or import dependency — the
// buffer protocol describes every array, and numpy's types are looked up only once something
// else has imported numpy.
#pragma once

#include <Python.h>

#include "json/output_writer.h"

namespace lamina::json {

// numpy.ndarray and numpy.generic (every numpy scalar type), or nullptr while numpy is not
// imported: then no value can be a numpy value, and importing numpy to check would cost a
// function that never uses it its cold start.
struct NumpyTypes {
  PyTypeObject* ndarray;
  PyTypeObject* generic;
};
const NumpyTypes* numpy_types_if_imported();

// Writes an exact numpy.ndarray (any shape and strides, nested arrays) or a numpy scalar of a
// bool or numeric dtype: bool as true/false, integers exactly, floating types as the repr of
// their value as a Python float (float(np.float32(x)); NaN, Infinity, -Infinity as for
// floats). Throws EncodeError for any other dtype (object, str, bytes, datetime64,
// complex, structured): "Object of type ndarray with dtype <U3 is not JSON serializable".
// Requires the GIL.
void write_numpy_value(PyObject* value, OutputWriter& writer);

}  // namespace lamina::json
