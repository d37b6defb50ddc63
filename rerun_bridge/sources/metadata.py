"""rosbag2's ``metadata.yaml``, versions 4 to 9, read into one typed record.

The versions differ in small ways: ``files`` (v5+), ``custom_data`` (v6+), ``type_description_hash``
(v7+), ``ros_distro`` (v8+), and ``offered_qos_profiles`` as YAML text (up to v8) or a YAML list (v9).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypedDict, cast

import yaml

from rerun_bridge.errors import BagError
from rerun_bridge.model.records import TopicInfo
from rerun_bridge.model.yaml_limits import construct_bounded, read_bounded

SUPPORTED_VERSIONS = range(1, 10)


class _TopicMetadataYaml(TypedDict, total=False):
    name: str
    type: str
    serialization_format: str
    offered_qos_profiles: str | list[dict[str, Any]]
    type_description_hash: str


@dataclass(frozen=True, slots=True)
class BagMetadata:
    version: int
    storage_identifier: str
    relative_file_paths: tuple[str, ...]
    starting_time_ns: int
    duration_ns: int
    message_count: int
    topics: tuple[TopicInfo, ...]
    compression_format: str
    compression_mode: str
    ros_distro: str


def qos_text(value: str | list[dict[str, Any]] | None) -> str:
    """``offered_qos_profiles`` as the YAML text rosbag2 writes into MCAP channel metadata."""
    if value is None:
        return ""
    if isinstance(value, str):
        return value
    # libyaml's emitter where PyYAML has it: the pure-Python one costs ~1 ms a topic, on every bag opened.
    dumper = getattr(yaml, "CSafeDumper", yaml.SafeDumper)
    return str(yaml.dump(value, Dumper=dumper, sort_keys=False))


def read_metadata(path: Path) -> BagMetadata:
    """Parse a ``metadata.yaml``; errors name the file and the key that is wrong."""
    try:
        # libyaml's loader where PyYAML has it: the pure-Python one takes ~0.1 s on a bag's metadata.
        # Bounded like a config: the file comes with the recording (yaml_limits).
        loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)(read_bounded(path))
        try:
            document = construct_bounded(loader)
        finally:
            loader.dispose()
    except (OSError, UnicodeDecodeError, yaml.YAMLError) as err:
        raise BagError(f"{path}: cannot read metadata: {' '.join(str(err).split())}") from err
    if not isinstance(document, dict) or "rosbag2_bagfile_information" not in document:
        raise BagError(f"{path}: not a rosbag2 metadata file (no 'rosbag2_bagfile_information' key)")
    info = document["rosbag2_bagfile_information"]
    if not isinstance(info, dict):
        raise BagError(f"{path}: 'rosbag2_bagfile_information' is not a mapping")

    def number(data: Mapping[str, Any], key: str, where: str = "") -> int:
        """An integer field; a wrong value names the file and key (it was a traceback: audit)."""
        value = data.get(key, 0)
        if isinstance(value, int) and not isinstance(value, bool):
            return value
        raise BagError(f"{path}: {where}{key}: expected an integer, got {value!r}")

    version = number(info, "version")
    if version not in SUPPORTED_VERSIONS:
        raise BagError(f"{path}: metadata version {version} is not supported (1 to 9 are)")
    topics: list[TopicInfo] = []
    for index, entry in enumerate(_listed(info, "topics_with_message_count", path)):
        where = f"topics_with_message_count[{index}]."
        meta = entry.get("topic_metadata") if isinstance(entry, dict) else None
        meta = cast(_TopicMetadataYaml, meta if isinstance(meta, dict) else {})
        if not isinstance(meta.get("name"), str) or not isinstance(meta.get("type"), str):
            raise BagError(f"{path}: {where}topic_metadata needs a name and a type (strings)")
        topics.append(
            TopicInfo(
                name=meta["name"],
                type_name=meta["type"],
                serialization_format=meta.get("serialization_format", "cdr") or "cdr",
                qos_profiles=qos_text(meta.get("offered_qos_profiles")),
                message_count=number(cast(dict[str, Any], entry), "message_count", where),
            )
        )
    files = _listed(info, "relative_file_paths", path)
    if not all(isinstance(name, str) for name in files):
        raise BagError(f"{path}: relative_file_paths: expected a list of file names, got {files!r}")
    starting_time = info.get("starting_time") or {}
    duration = info.get("duration") or {}
    if not isinstance(starting_time, dict) or not isinstance(duration, dict):
        raise BagError(f"{path}: starting_time and duration must be mappings")
    return BagMetadata(
        version=version,
        storage_identifier=str(info.get("storage_identifier", "")),
        relative_file_paths=tuple(files),
        starting_time_ns=number(starting_time, "nanoseconds_since_epoch", "starting_time."),
        duration_ns=number(duration, "nanoseconds", "duration."),
        message_count=number(info, "message_count"),
        topics=tuple(topics),
        compression_format=str(info.get("compression_format") or ""),
        compression_mode=str(info.get("compression_mode") or ""),
        ros_distro=str(info.get("ros_distro") or ""),
    )


def _listed(info: Mapping[str, Any], key: str, path: Path) -> list[Any]:
    """A list field (absent or empty: none); anything else names the file and key (a string of file names
    was read character by character: audit)."""
    value = info.get(key) or []
    if not isinstance(value, list):
        raise BagError(f"{path}: {key}: expected a list, got {value!r}")
    return value
