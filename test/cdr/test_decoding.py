"""Choosing decoders: the recording's own definitions first, the distro typestores built only when a
message needs them (a recording that stores a definition its messages do not match)."""

from __future__ import annotations

from rosbags.typesys import Stores, get_typestore

from rerun_bridge.cdr.decoding import TypeResolver
from rerun_bridge.model.records import MessageDefinition, TopicInfo

_JAZZY = get_typestore(Stores.ROS2_JAZZY)


def _string_payload(text: str) -> bytes:
    message = _JAZZY.types["std_msgs/msg/String"](data=text)
    return bytes(_JAZZY.serialize_cdr(message, "std_msgs/msg/String"))


def test_a_recording_with_its_definitions_decodes_without_the_distro_stores() -> None:
    stored = MessageDefinition("ros2msg", "string data")
    topic = TopicInfo("/chatter", "std_msgs/msg/String", definition=stored)
    resolver = TypeResolver([topic], "jazzy")
    decoder = resolver.choose("std_msgs/msg/String").decoder
    assert decoder is not None
    assert decoder(_string_payload("hello")).data == "hello"
    assert resolver._fallback_stores is None  # built on first use: never, here


def test_a_message_its_stored_definition_does_not_fit_decodes_with_the_distro_one() -> None:
    # A definition that parses but lies: the payload is a real String, read as eight float64.
    wrong = MessageDefinition("ros2msg", "float64[8] data")
    resolver = TypeResolver([TopicInfo("/chatter", "std_msgs/msg/String", definition=wrong)], "jazzy")
    decoder = resolver.choose("std_msgs/msg/String").decoder
    assert decoder is not None
    assert decoder(_string_payload("hello")).data == "hello"
    assert decoder(_string_payload("again")).data == "again"  # the store that worked is tried first now
