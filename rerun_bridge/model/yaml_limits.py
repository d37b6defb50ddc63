"""Bounds on the YAML files the project reads (bridge configs, blueprints, RViz configs).

A safe loader never runs code, but YAML aliases still let a few hundred bytes stand for a billion nodes
("billion laughs"): PyYAML shares the aliased object, so loading is cheap, yet any walk or copy of the
result (``to_dict``, a deep copy of topic options) expands it. A file is therefore refused when its node
graph, every alias expanded, exceeds :data:`MAX_YAML_NODES`, when an alias refers to itself, when it
nests deeper than Python can follow, or when the file exceeds :data:`MAX_YAML_BYTES`. Each refusal is a
:class:`YamlLimitError`, a ``yaml.YAMLError``, so the callers' YAML error handling reports it with the file.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Final

import yaml

#: Far above any hand-written config or blueprint (the shipped example is 6 kB).
MAX_YAML_BYTES: Final = 8 * 1024 * 1024
#: Scalars, sequences and mappings once every alias is expanded.
MAX_YAML_NODES: Final = 1_000_000


class YamlLimitError(yaml.YAMLError):
    """A YAML file refused for its size, its alias expansion or its nesting."""


def read_bounded(path: str | Path, limit: int = MAX_YAML_BYTES) -> str:
    """The file's UTF-8 text; :class:`YamlLimitError` beyond ``limit`` bytes (read no further than that)."""
    with Path(path).open("rb") as stream:
        data = stream.read(limit + 1)
    if len(data) > limit:
        raise YamlLimitError(f"the file is larger than {limit} bytes")
    return data.decode("utf-8")


def construct_bounded(loader: yaml.SafeLoader, limit: int = MAX_YAML_NODES) -> Any:
    """The loader's single document, refused before construction when it expands beyond ``limit`` nodes."""
    try:
        node = loader.get_single_node()
        if node is None:
            return None
        size = _expanded_size(node, {}, set())
    except RecursionError as err:
        raise YamlLimitError("the document nests too deeply") from err
    if size > limit:
        raise YamlLimitError(f"the document expands to {size} nodes through aliases (at most {limit})")
    return loader.construct_document(node)


def _expanded_size(node: yaml.Node, sizes: dict[int, int], open_nodes: set[int]) -> int:
    """Nodes under ``node`` counted once per reference (what a deep copy builds); memoized per node."""
    key = id(node)
    if key in sizes:
        return sizes[key]
    if key in open_nodes:
        raise YamlLimitError(f"line {node.start_mark.line + 1}: an alias refers to the node that contains it")
    open_nodes.add(key)
    if isinstance(node, yaml.SequenceNode):
        children: list[yaml.Node] = list(node.value)
    elif isinstance(node, yaml.MappingNode):
        children = [part for pair in node.value for part in pair]
    else:
        children = []
    size = 1 + sum(_expanded_size(child, sizes, open_nodes) for child in children)
    open_nodes.discard(key)
    sizes[key] = size
    return size
