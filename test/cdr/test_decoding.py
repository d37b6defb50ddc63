"""Choosing decoders: the recording's own definitions first, the distro typestores built only when a
message needs them (a recording that stores a definition its messages do not match)."""

from __future__ import annotations

import numpy as np
import pytest
from rosbags.typesys import Stores, get_typestore

from rerun_bridge.cdr.decoding import TypeResolver
from rerun_bridge.cdr.fast import MalformedCdrError
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


def _service_event_resolver(type_name: str, definition: MessageDefinition) -> TypeResolver:
    return TypeResolver([TopicInfo("/srv/_service_event", type_name, definition=definition)])


def test_a_service_event_is_built_from_its_srv_text_as_rosidl_defines_it() -> None:
    # rosbag2 stores the .srv (request --- response) and its dependencies; a bare name is pkg/msg/<Type>.
    text = (
        "Goal goal\n---\nbool ok\n"
        "================================================================================\n"
        "MSG: demo_msgs/Goal\nfloat64 x\n"
    )
    resolver = _service_event_resolver("demo_msgs/srv/Plan_Event", MessageDefinition("ros2msg", text))
    choice = resolver.choose("demo_msgs/srv/Plan_Event")
    assert choice.decoder is not None, choice.reason
    assert choice.typestore is not None
    store = choice.typestore
    assert [name for name, _ in store.fielddefs["demo_msgs/srv/Plan_Event"][1]] == [
        "info",
        "request",
        "response",
    ]
    assert store.fielddefs["demo_msgs/srv/Plan_Request"][1][0][1][1] == "demo_msgs/msg/Goal"
    types = store.types
    event = types["demo_msgs/srv/Plan_Event"](
        info=types["service_msgs/msg/ServiceEventInfo"](
            event_type=1,
            stamp=types["builtin_interfaces/msg/Time"](sec=5, nanosec=6),
            client_gid=np.arange(16, dtype=np.uint8),
            sequence_number=7,
        ),
        request=[types["demo_msgs/srv/Plan_Request"](goal=types["demo_msgs/msg/Goal"](x=2.5))],
        response=[],
    )
    payload = bytes(store.serialize_cdr(event, "demo_msgs/srv/Plan_Event"))
    decoded = choice.decoder(payload)
    assert (decoded.info.sequence_number, decoded.request[0].goal.x, decoded.response) == (7, 2.5, [])


def test_a_service_event_stored_as_idl_gets_its_event_type() -> None:
    idl = (
        "IDL: demo_msgs/srv/Add\nmodule demo_msgs {\n  module srv {\n"
        "    struct Add_Request {\n      int64 a;\n    };\n"
        "    struct Add_Response {\n      int64 sum;\n    };\n  };\n};\n"
    )
    resolver = _service_event_resolver("demo_msgs/srv/Add_Event", MessageDefinition("ros2idl", idl))
    assert resolver.choose("demo_msgs/srv/Add_Event").decoder is not None


def test_a_definition_that_does_not_parse_is_one_line_naming_the_part() -> None:
    text = "int64 a\n---\nint64 b\n---\nint64 c\n"  # two separators: no .srv
    resolver = _service_event_resolver("demo_msgs/srv/Bad_Event", MessageDefinition("ros2msg", text))
    reason = resolver.choose("demo_msgs/srv/Bad_Event").reason
    assert reason == (
        "its stored ros2msg definition does not parse (demo_msgs/srv/Bad_Response: cannot parse at '---')"
    )


def test_a_definition_naming_a_type_nobody_defines_says_so() -> None:
    """``unit8 y`` (a typo of uint8) gave a bare KeyError, "'my_pkg/msg/unit8'" (audit)."""
    definition = MessageDefinition("ros2msg", "int32 x\nunit8 y\n")
    resolver = TypeResolver([TopicInfo("/thing", "my_pkg/msg/Thing", definition=definition)], "jazzy")
    decoder = resolver.choose("my_pkg/msg/Thing").decoder
    assert decoder is not None
    with pytest.raises(MalformedCdrError, match="uses type 'my_pkg/msg/unit8', which neither the recording"):
        decoder(b"\x00\x01\x00\x00" + bytes(8))
