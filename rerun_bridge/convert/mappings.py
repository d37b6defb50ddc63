"""Declarative mappings: custom message types drawn as Rerun archetypes by field paths from the config
(``custom_types.mappings``, docs/custom-types.md), turned into ordinary :class:`Converter` entries that
:meth:`ConverterTable.extended` adds to the built-in ones.

A mapping is checked when its converter is built (the archetype exists, each component is one of its own,
each colormap is known) and each error names the config key. A message that lacks a field of a path is a
ConversionError naming the config file, key and path, counted against its topic like any bad message; so
are values the component does not take (text for ``positions``), checked with Rerun once per layout.
"""

from __future__ import annotations

import difflib
import functools
from collections.abc import Mapping, Sequence
from typing import Any, Final

import numpy as np
import numpy.typing as npt
import rerun as rr
from rerun.error_utils import catch_and_log_exceptions

from rerun_bridge.convert.common import topic_frame, with_frame
from rerun_bridge.convert.pointcloud import colormap_colors, colormap_table
from rerun_bridge.convert.registry import ConvertContext, Converter, ConverterFunc
from rerun_bridge.convert.sensor_msgs import archetype_fields
from rerun_bridge.errors import ConfigError, ConversionError, PartialConversionError
from rerun_bridge.model.entity_path import EntityPath
from rerun_bridge.model.field_path import EACH, FieldMapping, FieldPath, TypeMapping
from rerun_bridge.model.rows import Batch, Row

#: Components whose values Rerun keeps as float64 (plots); other numbers are written as float32.
FLOAT64_COMPONENTS: Final = frozenset({"scalars"})
#: Components of text: an empty sequence is an empty list of strings there, not an empty number array.
TEXT_COMPONENTS: Final = frozenset({"labels", "text", "names", "level", "media_type"})


def _step(values: list[Any], name: str, index: int | None, path: FieldPath) -> list[Any]:
    """One part of a path applied to every value so far."""
    out: list[Any] = []
    for value in values:
        if not hasattr(value, name):
            raise ConversionError(f"field path {path.text!r}: the message has no field {name!r} here")
        item = getattr(value, name)
        if index is None:
            out.append(item)
        elif index == EACH:
            if isinstance(item, str | bytes) or not hasattr(item, "__iter__"):
                raise ConversionError(
                    f"field path {path.text!r}: {name} is not a sequence, so {name}[] has no elements"
                )
            out.extend(list(item))
        else:
            try:
                out.append(item[index])
            except (IndexError, TypeError) as err:
                raise ConversionError(f"field path {path.text!r}: {name}[{index}] does not exist") from err
    return out


def field_values(msg: Any, path: FieldPath) -> npt.NDArray[Any] | list[str]:
    """The values at ``path``: a numeric array ((N,) or (N, k) for ``x/y/z``), or a list of strings."""
    values = [msg]
    for part in path.parts:
        values = _step(values, part.name, part.index, path)
    if path.leaves:
        columns = [_leaf_numbers(_step(values, leaf, None, path), leaf, path) for leaf in path.leaves]
        return np.stack(columns, axis=-1).reshape(-1, len(path.leaves))
    if len(values) == 1 and not isinstance(values[0], str | bytes) and np.ndim(values[0]) > 0:
        values = list(values[0])  # a sequence field named as a whole (``ranges``)
    if not values:  # an empty sequence: no instances, whatever the leaf's type
        return np.zeros(0, dtype=np.float64)
    if values and all(isinstance(value, str) for value in values):
        return [str(value) for value in values]
    try:
        return np.asarray(values, dtype=np.float64).reshape(len(values), -1).squeeze(axis=1)
    except (TypeError, ValueError) as err:
        raise ConversionError(f"field path {path.text!r} does not lead to numbers or text") from err


#: What a leaf of an ``x/y/z`` stack may hold (bools count as 0 and 1).
_NUMBERS: Final = (int, float, np.integer, np.floating, np.bool_)


def _leaf_numbers(values: list[Any], leaf: str, path: FieldPath) -> npt.NDArray[np.float64]:
    """One leaf of an ``x/y/z`` stack: a number per element (a sequence, struct or text there is an
    error naming the leaf, not numpy's)."""
    found = next((value for value in values if not isinstance(value, _NUMBERS)), None)
    if found is not None:
        raise ConversionError(
            f"field path {path.text!r}: {leaf} is {_kind_of(found)}, not a number, so it cannot be stacked"
        )
    return np.asarray(values, dtype=np.float64)


def _kind_of(value: Any) -> str:
    if isinstance(value, str | bytes):
        return "text"
    if np.ndim(value) > 0 or isinstance(value, list | tuple):
        return "a sequence"
    return "a message"


#: A packed colour's largest value: ``0xRRGGBBAA``.
_PACKED_COLOR_MAX: Final = 0xFFFFFFFF


def component_batch(msg: Any, item: FieldMapping) -> Batch:
    values = field_values(msg, item.path)
    if isinstance(values, list) or (values.size == 0 and item.component in TEXT_COMPONENTS):
        return list(values)
    if item.colormap is not None:
        return colormap_colors(values.reshape(-1), item.colormap)
    if item.component == "colors" and values.ndim == 1:
        return _packed_colors(values, item)
    return values if item.component in FLOAT64_COMPONENTS else values.astype(np.float32)


def _packed_colors(values: npt.NDArray[Any], item: FieldMapping) -> npt.NDArray[np.uint32]:
    """One number a colour, packed ``0xRRGGBBAA``, as uint32: as float32 a colour past 2^24 lost its low
    byte (opaque red became transparent), and Rerun read three or four floats as one colour."""
    if not np.array_equal(values, np.floor(values)):
        # Rerun reads one number a colour as packed 0xRRGGBBAA: 0.5 became black and transparent.
        raise ConversionError(
            f"field path {item.path.text!r} gives fractional numbers, which colors takes as packed "
            "0xRRGGBBAA: give it a colormap ({path: ..., colormap: turbo})"
        )
    if len(values) and (values.min() < 0 or values.max() > _PACKED_COLOR_MAX):
        raise ConversionError(
            f"field path {item.path.text!r} gives numbers outside 0..0xFFFFFFFF, which colors cannot take "
            "as packed 0xRRGGBBAA: give it a colormap ({path: ..., colormap: turbo})"
        )
    return values.astype(np.uint32)


def instance_count_problem(components: Mapping[str, Batch]) -> str:
    """Components of one row whose number of instances differs from that of the first one holding
    several (the mapping's first field: ``positions`` as a rule), other than one (which Rerun repeats for
    every instance) or none: a mapping of the wrong field, drawn as something plausible, so said (empty:
    none)."""
    counts = {name: len(batch) for name, batch in components.items()}
    reference = next((name for name, count in counts.items() if count > 1), None)
    if reference is None:
        return ""
    wanted = counts[reference]
    odd = [f"{name} has {count} values" for name, count in counts.items() if count not in (0, 1, wanted)]
    if not odd:
        return ""
    return (
        f"{', '.join(odd)} for {wanted} {reference}: Rerun pairs instances by index, repeating the last "
        "value of a shorter one and dropping a longer one's extra values"
    )


def _layout(batch: Batch) -> tuple[object, ...]:
    """What Rerun's acceptance of a component's values depends on: text, or the dtype and the shape of
    one instance."""
    if isinstance(batch, list):
        return ("text",)
    array = np.asarray(batch)
    return (array.dtype.str, array.shape[1:])


def check_component(archetype: str, item: FieldMapping, batch: Batch) -> None:
    """Raise a ConversionError when Rerun does not take ``batch`` as ``archetype``'s component (a number
    mapped to ``text``, one number to ``positions``): Rerun only warns, and the rows would then fail
    when the file is written, taking the whole conversion with them."""
    sample = batch[:1]
    try:
        # strict: Rerun raises instead of warning (thread-local, so other threads keep their mode).
        with catch_and_log_exceptions("custom type mapping", strict=True):
            next(iter(getattr(rr, archetype).columns(**{item.component: sample})))
    except Exception as err:  # Rerun raises ValueError, TypeError or Arrow's errors for wrong values
        kind = "text" if isinstance(batch, list) else f"numbers of shape {np.shape(batch)}"
        raise ConversionError(
            f"field path {item.path.text!r} gives {kind}, which {archetype}.{item.component} does not take "
            f"({' '.join(str(err).split())})"
        ) from err


def mapping_converter(mapping: TypeMapping, key: str = "") -> ConverterFunc:
    """The converter of one mapping: its archetype's row on the topic's entity (or ``entity`` under it),
    and the header frame's ``CoordinateFrame`` row when the message has a header. A message it cannot
    map is a ConversionError naming the mapping's config ``key`` (file included) and the field path."""
    #: (component, layout) pairs Rerun has taken: each layout is checked once, not every message.
    accepted: set[tuple[str, tuple[object, ...]]] = set()
    below = EntityPath.parse(mapping.entity).parts  # ``left/wheel``: two parts below the topic's entity

    def convert(msg: Any, ctx: ConvertContext) -> list[Row]:
        path = str(EntityPath.parse(ctx.entity_path).join(*below)) if below else ctx.entity_path
        components = {}
        for item in mapping.fields:
            try:
                batch = component_batch(msg, item)
                layout = (item.component, _layout(batch))
                if len(batch) and layout not in accepted:
                    check_component(mapping.archetype, item, batch)
                    accepted.add(layout)
                components[item.component] = batch
            except ConversionError as err:
                raise ConversionError(f"{key}.fields.{item.component}: {err}" if key else str(err)) from err
        rows = with_frame([Row(path, mapping.archetype, components)], path, topic_frame(msg, ctx))
        problem = instance_count_problem(components)
        if problem:  # written all the same (Rerun draws it), and counted
            raise PartialConversionError(f"{key}.fields: {problem}" if key else problem, rows)
        return rows

    return convert


def check_mapping(key: str, mapping: TypeMapping) -> list[str]:
    """Problems of one mapping, each naming its config key (empty: it can be built)."""
    archetype = getattr(rr, mapping.archetype, None)
    if archetype is None or not hasattr(archetype, "columns"):
        close = difflib.get_close_matches(mapping.archetype, _archetype_names(), n=1)
        hint = f" (did you mean {close[0]!r}?)" if close else ""
        return [f"{key}.archetype: {mapping.archetype!r} is not a Rerun archetype{hint}"]
    problems = []
    known = archetype_fields(mapping.archetype)
    for item in mapping.fields:
        if item.component not in known:
            problems.append(
                f"{key}.fields.{item.component}: {mapping.archetype} has no component {item.component!r} "
                f"(it has: {', '.join(sorted(known))})"
            )
        if item.colormap is not None:
            try:
                colormap_table(item.colormap)
            except ConversionError as err:
                problems.append(f"{key}.fields.{item.component}.colormap: {err}")
    return problems


@functools.cache
def _archetype_names() -> tuple[str, ...]:
    """Rerun's archetypes by name (the classes a mapping may name)."""
    return tuple(
        name
        for name in dir(rr)
        if isinstance(getattr(rr, name), type) and hasattr(getattr(rr, name), "columns")
    )


def mapping_converters(
    mappings: Mapping[str, Sequence[TypeMapping]], source: str = "<config>"
) -> list[Converter]:
    """One converter per mapped type (its mappings' rows together); every problem in one ConfigError."""
    problems: list[str] = []
    converters = []
    for type_name, entries in mappings.items():
        funcs = []
        for index, mapping in enumerate(entries):
            position = (
                mapping.position if mapping.position is not None else index if len(entries) > 1 else None
            )
            key = f"custom_types.mappings.{type_name}" + (f"[{position}]" if position is not None else "")
            problems.extend(f"{source}: {problem}" for problem in check_mapping(key, mapping))
            funcs.append(mapping_converter(mapping, f"{source}: {key}"))
        archetypes = tuple(dict.fromkeys([*(m.archetype for m in entries), "CoordinateFrame"]))
        converters.append(Converter(type_name, _joined(funcs), archetypes, raw_when_unmapped=True))
    if problems:
        raise ConfigError("\n".join(problems))
    return converters


def _joined(funcs: list[ConverterFunc]) -> ConverterFunc:
    """A type's mappings, each on its own: one that fails (a typo in its path) is the message's error,
    and the rows of the others are written all the same (one bad entry used to lose the topic)."""
    if len(funcs) == 1:
        return funcs[0]

    def convert(msg: Any, ctx: ConvertContext) -> list[Row]:
        rows: list[Row] = []
        failures: list[str] = []
        for func in funcs:
            try:
                rows += func(msg, ctx)
            except PartialConversionError as err:  # written, and said
                rows += err.rows
                failures.append(str(err))
            except ConversionError as err:
                failures.append(str(err))
        if not failures:
            return rows
        if not rows:
            raise ConversionError("; ".join(failures))
        raise PartialConversionError("; ".join(failures), rows)

    return convert
