"""Vectorized handlers: numeric arrays of the event read straight into numpy arrays.

A handler declares, with :func:`vectorized`, which parts of its event are numeric arrays and
gets each as a keyword argument::

    import numpy as np
    from numpy.typing import NDArray
    from lamina import Columns, Float64, Int32, Records, vectorized

    @vectorized(values=Float64["values"])                 # {"values": [1.5, 2.25, ...]}
    def handler(event: dict, context: object, values: NDArray[np.float64]) -> dict:
        return {"mean": values.mean(), "max": values.max()}

    @vectorized(orders=Records["Records"](price=Float64, qty=Int32))
    def revenue(event: dict, context: object, orders: Columns) -> dict:
        return {"revenue": (orders.price * orders.qty).sum()}

Under lamina's runtime the arrays are read from the event's JSON bytes into the arrays'
buffers: no Python object per element. The handler's ``event`` is the whole decoded event,
with each declared path holding the same object as the argument (so ``event["values"] is
values``). Anything the declaration does not match is a ``Runtime.UnmarshalError`` naming the
path, the index and the field: ``event["values"][3] is a string, expected a float64 number``.

Called with a plain event (in a unit test, or under another runtime), the handler reads the
same arrays from it, by the same rules, before calling the function.

This module is imported only by handlers that use it: it is what imports numpy.
"""

from __future__ import annotations

import functools
from typing import TYPE_CHECKING, Any, Callable, Generic, Iterator, Mapping, TypeVar, Union

from lamina import _core

if TYPE_CHECKING:
    from numpy.typing import NDArray

__all__ = [
    "Array",
    "Bool",
    "Columns",
    "Dtype",
    "Float32",
    "Float64",
    "Int32",
    "Int64",
    "Records",
    "RecordsDeclaration",
    "VectorizedHandler",
    "vectorized",
]

Result = TypeVar("Result")
Path = Union[str, "tuple[str, ...]"]

_MAX_DIMENSIONS = 32
_MAX_FIELDS = 64


def _as_path(path: Path) -> tuple[str, ...]:
    keys = (path,) if isinstance(path, str) else path
    if not isinstance(keys, tuple) or not all(isinstance(key, str) for key in keys):
        raise TypeError(f"a path is object keys (str), not {path!r}")
    return keys


def _describe_path(path: tuple[str, ...]) -> str:
    return "event" + "".join(f'["{key}"]' for key in path)


class Dtype:
    """The element type of a declared array, as numpy names it: :data:`Float64`,
    :data:`Float32`, :data:`Int64`, :data:`Int32` or :data:`Bool`.

    Subscript it with a path to declare an array: ``Float64["values"]`` (``event["values"]``),
    ``Float64["body", "values"]`` (``event["body"]["values"]``), ``Float64[()]`` (the event
    itself is the array)."""

    __slots__ = ("name",)

    def __init__(self, name: str) -> None:
        self.name = name

    def __getitem__(self, path: Path) -> Array:
        return Array(self, _as_path(path))

    def __repr__(self) -> str:
        return self.name.capitalize()


Float64 = Dtype("float64")
"""JSON numbers → ``numpy.float64``, correctly rounded (as ``float()`` reads them)."""
Float32 = Dtype("float32")
"""JSON numbers → ``numpy.float32`` (through the float64 value, as numpy converts a float)."""
Int64 = Dtype("int64")
"""JSON integers → ``numpy.int64``; a fraction, an exponent, or a value out of range is an error."""
Int32 = Dtype("int32")
"""JSON integers → ``numpy.int32``; a fraction, an exponent, or a value out of range is an error."""
Bool = Dtype("bool")
"""JSON ``true``/``false`` → ``numpy.bool``; anything else (0, 1, null) is an error."""

_DTYPES = {dtype.name: dtype for dtype in (Float64, Float32, Int64, Int32, Bool)}


class Array:
    """A JSON array of numbers (or booleans) at ``path``, read into an ndarray of ``dtype``.

    Nested arrays of equal length give a 2-D (or deeper) array, as ``numpy.array`` shapes
    nested lists; ``Float64["points"](ndim=2)`` also requires that depth."""

    __slots__ = ("dtype", "ndim", "path")

    def __init__(self, dtype: Dtype, path: tuple[str, ...], ndim: int | None = None) -> None:
        if ndim is not None and not 1 <= ndim <= _MAX_DIMENSIONS:
            raise ValueError(f"ndim is 1 to {_MAX_DIMENSIONS}, not {ndim}")
        self.dtype = dtype
        self.path = path
        self.ndim = ndim

    def __call__(self, *, ndim: int) -> Array:
        """The same array, required to be ``ndim``-dimensional."""
        return Array(self.dtype, self.path, ndim)

    def __repr__(self) -> str:
        keys = ", ".join(repr(key) for key in self.path) if self.path else "()"
        return f"{self.dtype!r}[{keys}]" + (f"(ndim={self.ndim})" if self.ndim is not None else "")


class RecordsDeclaration:
    """A JSON array of records (objects) at ``path``, read into one array per declared field
    (:class:`Columns`): ``Records["Records"](price=Float64, qty=Int32)``.

    A field is declared by its dtype (``Float64``, or a name numpy knows: ``"float64"``,
    ``np.float64``), and its key in each record is the argument's name; ``Float64["unit-price"]``
    reads a key that is not a Python name. Every record must have every declared field; other
    fields are skipped without being decoded."""

    __slots__ = ("fields", "path")

    def __init__(self, path: tuple[str, ...], fields: Mapping[str, tuple[str, Dtype]] | None = None) -> None:
        self.path = path
        self.fields: dict[str, tuple[str, Dtype]] = dict(fields or {})  # name -> (key, dtype)

    def __call__(self, **fields: Dtype | Array | str | Any) -> RecordsDeclaration:
        if not fields:
            raise TypeError("declare at least one field: Records[...](price=Float64)")
        if len(fields) > _MAX_FIELDS:
            raise ValueError(f"at most {_MAX_FIELDS} fields per array of records")
        declared = {}
        for name, spec in fields.items():
            if isinstance(spec, Array):
                if len(spec.path) != 1 or spec.ndim is not None:
                    raise TypeError(f"field {name}: give one key, as in Float64['unit-price'], not {spec!r}")
                declared[name] = (spec.path[0], spec.dtype)
            else:
                declared[name] = (name, _dtype_of(spec))
        return RecordsDeclaration(self.path, declared)

    def __repr__(self) -> str:
        keys = ", ".join(repr(key) for key in self.path) if self.path else "()"
        fields = ", ".join(f"{name}={dtype!r}" for name, (_, dtype) in self.fields.items())
        return f"Records[{keys}]({fields})"


class _RecordsAt:
    """``Records[path]``: the array of records at ``path`` (see :class:`RecordsDeclaration`)."""

    __slots__ = ()

    def __getitem__(self, path: Path) -> RecordsDeclaration:
        return RecordsDeclaration(_as_path(path))

    def __repr__(self) -> str:
        return "Records"


Records = _RecordsAt()
"""``Records["Records"](price=Float64, qty=Int32)``: an array of records read into columns."""


def _dtype_of(spec: Any) -> Dtype:
    if isinstance(spec, Dtype):
        return spec
    if isinstance(spec, str) and spec in _DTYPES:
        return _DTYPES[spec]
    import numpy

    try:
        name = numpy.dtype(spec).name
    except TypeError:
        name = None
    if name not in _DTYPES:
        raise TypeError(f"a declared dtype is one of Float64, Float32, Int64, Int32, Bool, not {spec!r}")
    return _DTYPES[name]


class Columns:
    """The columns of an array of records: one 1-D ndarray per declared field, all as long as
    the number of records.

    ``orders.price`` or ``orders["price"]`` is a column; ``len(orders)`` the number of
    records; iterating gives the field names, as a DataFrame's columns. A handler may return
    it: it is written as ``{"price": [...], "qty": [...]}``."""

    __slots__ = ("_columns", "_length")

    def __init__(self, columns: Mapping[str, NDArray[Any]]) -> None:
        self._columns = dict(columns)
        lengths = {len(column) for column in self._columns.values()}
        if len(lengths) > 1:
            raise ValueError(f"columns of different lengths: {sorted(lengths)}")
        self._length = lengths.pop() if lengths else 0

    def __getattr__(self, name: str) -> NDArray[Any]:
        if name.startswith("__"):
            raise AttributeError(name)
        try:
            return self._columns[name]
        except KeyError:
            raise AttributeError(f"no column {name!r}; columns: {', '.join(self._columns)}") from None

    def __getitem__(self, name: str) -> NDArray[Any]:
        return self._columns[name]

    def __len__(self) -> int:
        return self._length

    def __iter__(self) -> Iterator[str]:
        return iter(self._columns)

    def __contains__(self, name: object) -> bool:
        return name in self._columns

    def keys(self) -> Any:
        return self._columns.keys()

    def items(self) -> Any:
        return self._columns.items()

    def _asdict(self) -> dict[str, NDArray[Any]]:
        """The columns by name (what the encoder writes when a handler returns this)."""
        return dict(self._columns)

    def __repr__(self) -> str:
        columns = ", ".join(f"{name}: {column.dtype}" for name, column in self._columns.items())
        return f"<Columns of {self._length} records: {columns}>"


class VectorizedHandler(Generic[Result]):
    """A handler made by :func:`vectorized`: called as ``handler(event, context)``, it calls the
    function as ``function(event, context, **arrays)``."""

    def __init__(self, function: Callable[..., Result], arrays: Mapping[str, Array | RecordsDeclaration]) -> None:
        import numpy

        functools.update_wrapper(self, function)
        self.function = function
        self.arrays = dict(arrays)
        declarations: list[tuple[Any, ...]] = []
        self._expected: list[tuple[str, tuple[str, ...], Any, int | None]] = []
        for name, declared in self.arrays.items():
            if isinstance(declared, Array):
                dtype = numpy.dtype(declared.dtype.name)
                declarations.append(("array", declared.path, declared.dtype.name, dtype, declared.ndim or 0))
                self._expected.append((name, declared.path, dtype, declared.ndim))
            else:
                columns = [
                    (field, key, field_dtype.name, numpy.dtype(field_dtype.name))
                    for field, (key, field_dtype) in declared.fields.items()
                ]
                declarations.append(("records", declared.path, columns))
                self._expected.append((name, declared.path, Columns, None))
        try:
            self.numeric_arrays = _core.NumericArrayPlan(declarations, numpy.ndarray, Columns)
        except ValueError as exc:
            paths = ", ".join(f"{name}={_describe_path(declared.path)}" for name, declared in self.arrays.items())
            raise ValueError(f"@vectorized({paths}): {exc}") from None
        self._ndarray = numpy.ndarray

    def __call__(self, event: Any, context: Any) -> Result:
        arguments = self._arguments(event)
        if arguments is None:
            # Not decoded by lamina's runtime (a unit test, another runtime): read the arrays
            # from the event by the same rules, through the same decoder.
            event = _core.decode_json_with_arrays(_core.encode_json(event), self.numeric_arrays)
            arguments = self._arguments(event)
            assert arguments is not None
        return self.function(event, context, **arguments)

    def _arguments(self, event: Any) -> dict[str, Any] | None:
        """The declared arrays, when the event already holds them as declared."""
        arguments = {}
        for name, path, expected, ndim in self._expected:
            value = event
            for key in path:
                if type(value) is not dict or key not in value:
                    return None
                value = value[key]
            if expected is Columns:
                if type(value) is not Columns:
                    return None
            elif type(value) is not self._ndarray or value.dtype != expected or (ndim and value.ndim != ndim):
                return None
            arguments[name] = value
        return arguments

    def __repr__(self) -> str:
        arrays = ", ".join(f"{name}={declared!r}" for name, declared in self.arrays.items())
        return f"<vectorized({arrays}) {getattr(self.function, '__qualname__', self.function)!r}>"


def vectorized(
    **arrays: Array | RecordsDeclaration,
) -> Callable[[Callable[..., Result]], VectorizedHandler[Result]]:
    """Declares the numeric arrays of a handler's event, each passed as the keyword argument
    of its name::

        @vectorized(values=Float64["values"], weights=Float32["weights"])
        def handler(event, context, values, weights): ...

    An argument is an :class:`Array` (``Float64["values"]``) or a :class:`RecordsDeclaration`
    (``Records["Records"](price=Float64)``). No path may be inside another."""
    if not arrays:
        raise TypeError("declare at least one array: @vectorized(values=Float64['values'])")
    for name, declared in arrays.items():
        if name in ("event", "context"):
            raise TypeError(f"{name} is the handler's own argument; give the array another name")
        if isinstance(declared, RecordsDeclaration):
            if not declared.fields:
                raise TypeError(f"{name}: declare the fields, as in Records[...](price=Float64)")
        elif not isinstance(declared, Array):
            raise TypeError(f"{name}: expected Float64[path], Int32[path], Records[path](...), ..., not {declared!r}")

    def decorate(function: Callable[..., Result]) -> VectorizedHandler[Result]:
        return VectorizedHandler(function, arrays)

    return decorate
