"""``TensorData`` components (``Tensor:data``, ``BarChart:values``, ``BarChart:abscissa``) as numpy arrays.

Two layouts reach the store: Rerun's ``TensorData`` struct (``shape: list<uint64>``, ``names: list<string>``,
``buffer``: a dense union with one list child per element type, U8 ... F64), as read from ``.rrd`` files;
and the bridge's own appended rows, where a numpy array became nested fixed-size lists (its first axis
the instances). Anything else raises :class:`TensorDataError`, whose message names the layout found.
"""

from __future__ import annotations

import math
from typing import Any, NamedTuple

import numpy as np
import numpy.typing as npt
import pyarrow as pa


class TensorDataError(ValueError):
    """A component that is not a tensor of numbers in a layout this viewer knows."""


class TensorValue(NamedTuple):
    """One tensor: its values (any numeric dtype, float16 widened to float32) and its dimension names."""

    array: npt.NDArray[Any]
    names: list[str]


def tensor_value(values: pa.Array | None) -> TensorValue | None:
    """The first tensor instance of a component; None when there is none."""
    if values is None or len(values) == 0 or not values[0].is_valid:
        return None
    if pa.types.is_struct(values.type) and {"shape", "buffer"} <= {field.name for field in values.type}:
        return _from_struct(values[0])
    if pa.types.is_fixed_size_list(values.type):
        return _from_fixed_size_lists(values)
    raise TensorDataError(f"expected Rerun's TensorData struct or a numeric array, got {values.type}")


def _from_struct(item: pa.StructScalar) -> TensorValue:
    shape = [int(size) for size in item["shape"].as_py() or []]
    names = [str(name) for name in item["names"].as_py() or []]
    buffer = item["buffer"]
    chosen = buffer.value if isinstance(buffer, pa.UnionScalar) else None
    if chosen is None or not chosen.is_valid:
        raise TensorDataError("TensorData without a buffer")
    flat = _numbers(chosen.values)
    if flat.size != math.prod(shape):
        raise TensorDataError(
            f"TensorData shape {shape} needs {math.prod(shape)} values, the buffer has {flat.size}"
        )
    return TensorValue(flat.reshape(shape), names if len(names) == len(shape) else [])


def _from_fixed_size_lists(values: pa.Array) -> TensorValue:
    shape: list[int] = []
    flat: pa.Array = values.slice(0, 1)
    while pa.types.is_fixed_size_list(flat.type):
        shape.append(flat.type.list_size)
        flat = flat.flatten()
    return TensorValue(_numbers(flat).reshape(shape), [])


def _numbers(array: pa.Array) -> npt.NDArray[Any]:
    if not (pa.types.is_integer(array.type) or pa.types.is_floating(array.type)):
        raise TensorDataError(f"tensor elements must be numbers, got {array.type}")
    numbers = np.asarray(array.to_numpy(zero_copy_only=False))
    return numbers.astype(np.float32) if numbers.dtype == np.float16 else numbers
