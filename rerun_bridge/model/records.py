"""Plain records shared by the bag readers and the live source."""

from __future__ import annotations

from typing import NamedTuple


class MessageDefinition(NamedTuple):
    """A type's definition as stored in a recording: ``ros2msg`` or ``ros2idl`` text."""

    encoding: str
    text: str


class TopicInfo(NamedTuple):
    """One topic of a recording (or of the live graph)."""

    name: str
    type_name: str
    serialization_format: str = "cdr"
    #: rosbag2's ``offered_qos_profiles`` as YAML text ('' when unknown).
    qos_profiles: str = ""
    message_count: int = 0
    definition: MessageDefinition | None = None


class RawMessage(NamedTuple):
    """One serialized message as read from a recording, before decoding."""

    topic: str
    type_name: str
    log_time_ns: int
    data: bytes | memoryview
    #: Publish time where the storage keeps one (MCAP), else the log time.
    publish_time_ns: int
