"""Custom types from the config and the command line, ready for a conversion (:class:`TypeSupport`):
declarative mappings joined to the built-in converters, ``.msg`` / ``.idl`` definitions from the msg
paths, and the number of numeric leaves plotted for types without converter. docs/custom-types.md."""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable, Sequence
from pathlib import Path

from rerun_bridge.cdr.msg_path import load_definitions
from rerun_bridge.config import BridgeConfig, load_config
from rerun_bridge.config_custom_types import CustomTypesConfig
from rerun_bridge.convert.builtin import BUILTIN_CONVERTERS
from rerun_bridge.convert.mappings import mapping_converters
from rerun_bridge.convert.registry import Converter
from rerun_bridge.errors import ConfigError
from rerun_bridge.pipeline import TypeSupport


def custom_type_problems(config: CustomTypesConfig, source: str = "<config>") -> list[str]:
    """What is wrong with the section beyond its syntax, each naming ``source`` and the key: a mapping
    Rerun cannot take (an unknown archetype, component or colormap), a mapping of a type the bridge
    already converts, a msg folder that is not one. ``load_config`` takes it as a check, so that these are
    reported with the file's other errors, not after they are fixed."""
    return _checked(config, source)[1]


def _checked(config: CustomTypesConfig, source: str) -> tuple[list[Converter], list[str]]:
    """The mappings' converters and the section's problems (:func:`custom_type_problems`)."""
    problems: list[str] = []
    try:
        converters = mapping_converters(config.mappings, source)
    except ConfigError as err:
        problems.extend(str(err).splitlines())
        converters = []
    # From the section's keys, not the converters: a mapping that does not build (an unknown colormap)
    # hid this problem until it was fixed (found by an audit).
    problems.extend(
        f"{source}: custom_types.mappings.{type_name}: the bridge converts this type already"
        for type_name in config.mappings
        if BUILTIN_CONVERTERS.lookup(type_name) is not None
    )
    # The config's folders are named by their key here; load_definitions names the command line's.
    problems.extend(
        f"{source}: custom_types.msg_path[{index}]: {folder!r} is not a folder"
        for index, folder in enumerate(config.msg_path)
        if not Path(folder).is_dir()
    )
    return converters, problems


def type_support(
    config: CustomTypesConfig, msg_paths: Iterable[str | Path] = (), source: str = "<config>"
) -> TypeSupport:
    """``config`` plus extra msg paths (``--msg-path``) as a :class:`TypeSupport`; a mapping of a type the
    bridge already converts, a bad mapping or a missing msg folder is a ConfigError naming the key (every
    problem of the section in one error, as the rest of the config reports them)."""
    converters, problems = _checked(config, source)
    if problems:
        raise ConfigError("\n".join(problems))
    supplied = load_definitions([*config.msg_path, *msg_paths])
    return TypeSupport(
        converters=BUILTIN_CONVERTERS.extended(converters),
        definitions=supplied.types,
        rejected=supplied.rejected,
        leaf_scalars=config.leaf_scalars,
        problems=tuple(supplied.problems),
        mapping_keys={
            conv.type_name: f"{source}: custom_types.mappings.{conv.type_name}" for conv in converters
        },
    )


def command_line_types(config_path: Path | None, msg_paths: Sequence[str]) -> TypeSupport:
    """The ``custom_types`` and topic options of ``--config`` (defaults without one) and the
    ``--msg-path`` folders; a bad config is a ConfigError with every problem of the file."""
    source = str(config_path) if config_path is not None else "--msg-path"
    config = (
        load_config(config_path, lambda loaded: custom_type_problems(loaded.custom_types, source))
        if config_path is not None
        else BridgeConfig()
    )
    options = {name: topic.options for name, topic in config.topics.items() if topic.options}
    declared = {name: topic.type_name for name, topic in config.topics.items() if topic.type_name}
    return dataclasses.replace(
        type_support(config.custom_types, msg_paths, source), topic_options=options, declared_types=declared
    )
