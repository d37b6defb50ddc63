"""rosbag2's ``metadata.yaml``, versions 4 to 9, read into one typed record.

The versions differ in small ways: ``files`` (v5+), ``custom_data`` (v6+), ``type_description_hash``
(v7+), ``ros_distro`` (v8+), and ``offered_qos_profiles`` as YAML text (up to v8) or a YAML list (v9).
"""

from __future__ import annotations

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
    version = int(info.get("version", 0))
    if version not in SUPPORTED_VERSIONS:
        raise BagError(f"{path}: metadata version {version} is not supported (1 to 9 are)")
    topics: list[TopicInfo] = []
    for index, entry in enumerate(info.get("topics_with_message_count") or []):
        meta = cast(_TopicMetadataYaml, entry.get("topic_metadata") or {})
        if "name" not in meta or "type" not in meta:
            raise BagError(f"{path}: topics_with_message_count[{index}].topic_metadata needs name and type")
        topics.append(
            TopicInfo(
                name=meta["name"],
                type_name=meta["type"],
                serialization_format=meta.get("serialization_format", "cdr") or "cdr",
                qos_profiles=qos_text(meta.get("offered_qos_profiles")),
                message_count=int(entry.get("message_count", 0)),
            )
        )
    return BagMetadata(
        version=version,
        storage_identifier=str(info.get("storage_identifier", "")),
        relative_file_paths=tuple(str(p) for p in info.get("relative_file_paths") or []),
        starting_time_ns=int((info.get("starting_time") or {}).get("nanoseconds_since_epoch", 0)),
        duration_ns=int((info.get("duration") or {}).get("nanoseconds", 0)),
        message_count=int(info.get("message_count", 0)),
        topics=tuple(topics),
        compression_format=str(info.get("compression_format") or ""),
        compression_mode=str(info.get("compression_mode") or ""),
        ros_distro=str(info.get("ros_distro") or ""),
    )
