"""CDR decoding without ROS: rosbags' typestore fed with the definitions a recording carries.

Each recording gets a typestore of its own holding the definitions it stores (MCAP schemas, the
``message_definitions`` table of newer sqlite3 bags). A type the recording does not define is taken from
the ROS distro's built-in typestore when rosbags knows it; otherwise its topic is skipped with one warning
(Humble-era bags store no definitions, so custom types there cannot be decoded unless the user supplies
their ``.msg`` files: :mod:`~rerun_bridge.cdr.msg_path`).
"""

from __future__ import annotations

import ast
import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from rosbags.interfaces import Nodetype
from rosbags.typesys import Stores, TypesysError, get_types_from_idl, get_types_from_msg, get_typestore
from rosbags.typesys.store import Typestore

from rerun_bridge.cdr.fast import FastDecoder, MalformedCdrError, fast_decoder
from rerun_bridge.model.records import MessageDefinition, TopicInfo
from rerun_bridge.model.type_names import normalize_type_name, service_of_event

Decoder = Callable[[bytes | memoryview], Any]

_DISTRO_STORES = {
    "humble": Stores.ROS2_HUMBLE,
    "iron": Stores.ROS2_IRON,
    "jazzy": Stores.ROS2_JAZZY,
    "kilted": Stores.ROS2_KILTED,
    "rolling": Stores.LATEST,
}
# Bags older than metadata v8 do not name their distro: try the long-lived releases in this order.
_DEFAULT_STORES = (Stores.ROS2_HUMBLE, Stores.ROS2_JAZZY)
_MSG_SEPARATOR = re.compile(r"^={10,}\s*$", re.MULTILINE)
_IDL_SEPARATOR = re.compile(r"^-{10,}\s*$", re.MULTILINE)
# The line between a .srv file's request and response.
_SRV_SEPARATOR = re.compile(r"^---[ \t]*\r?$", re.MULTILINE)
# What a service event adds to its .srv (rosidl's service_msgs, Iron on): a recording that stores only the
# .srv text, as rosbag2 does, carries neither.
_EVENT_INFO = "service_msgs/msg/ServiceEventInfo"
_EVENT_INFO_TYPES = {
    **get_types_from_msg(
        "uint8 REQUEST_SENT = 0\nuint8 REQUEST_RECEIVED = 1\nuint8 RESPONSE_SENT = 2\n"
        "uint8 RESPONSE_RECEIVED = 3\nuint8 event_type\nbuiltin_interfaces/Time stamp\n"
        "char[16] client_gid\nint64 sequence_number\n",
        _EVENT_INFO,
    ),
    **get_types_from_msg("int32 sec\nuint32 nanosec\n", "builtin_interfaces/msg/Time"),
}


def split_ros2msg(type_name: str, text: str) -> dict[str, str]:
    """A concatenated ``ros2msg`` schema as {type name: its own .msg text}.

    The first block is the type itself; every later block starts with ``MSG: pkg/Type``.
    """
    blocks = _MSG_SEPARATOR.split(text)
    out = {normalize_type_name(type_name): blocks[0]}
    for block in blocks[1:]:
        stripped = block.strip("\n")
        first, _, body = stripped.partition("\n")
        if first.startswith("MSG:"):
            out[normalize_type_name(first[4:].strip())] = body
    return out


def srv_types(service: str, text: str) -> dict[str, Any]:
    """A ``.srv`` definition (request ``---`` response) of ``pkg/srv/Name`` as rosbags field definitions
    of ``pkg/srv/Name_Request`` and ``pkg/srv/Name_Response``."""
    parts = _SRV_SEPARATOR.split(text, maxsplit=1)
    if len(parts) != 2:
        raise ValueError(f"{service}: a .srv definition needs one '---' line between request and response")
    package, _, name = service.partition("/srv/")
    types: dict[str, Any] = {}
    for side, part in zip(("Request", "Response"), parts, strict=True):
        # Parsed as pkg/msg/...: a bare type name in a .srv means pkg/msg/<Type>, as rosidl reads it.
        try:
            parsed = get_types_from_msg(part, f"{package}/msg/{name}_{side}")
        except TypesysError as err:
            raise ValueError(parse_error(err, f"{service}_{side}")) from err
        types[f"{service}_{side}"] = parsed.pop(f"{package}/msg/{name}_{side}")
        types.update(parsed)
    return types


def service_event_types(service: str) -> dict[str, Any]:
    """``pkg/srv/Name_Event`` as rosidl generates it for a service (its ``_Request`` / ``_Response``
    defined elsewhere): ``ServiceEventInfo info``, ``Name_Request[<=1] request``,
    ``Name_Response[<=1] response``, with ``service_msgs/msg/ServiceEventInfo`` and its ``Time``."""
    fields = [
        ("info", (Nodetype.NAME, _EVENT_INFO)),
        ("request", (Nodetype.SEQUENCE, ((Nodetype.NAME, f"{service}_Request"), 1))),
        ("response", (Nodetype.SEQUENCE, ((Nodetype.NAME, f"{service}_Response"), 1))),
    ]
    return {f"{service}_Event": ([], fields), **_EVENT_INFO_TYPES}


@dataclass(frozen=True, slots=True)
class DecoderChoice:
    """How a topic decodes, or why it cannot (``decoder`` None, ``reason`` set)."""

    decoder: Decoder | None
    typestore: Typestore | None
    reason: str = ""


class TypeResolver:
    """Builds decoders for the topics of one recording."""

    def __init__(
        self,
        topics: Iterable[TopicInfo],
        ros_distro: str = "",
        supplied: Mapping[str, Any] | None = None,
        rejected: Mapping[str, str] | None = None,
    ) -> None:
        """``supplied``: user-given definitions by type name (rosbags field definitions, from
        :func:`~rerun_bridge.cdr.msg_path.load_definitions`), tried after the recording's own;
        ``rejected``: types a supplied definition was left out for, and why (said as their reason)."""
        named = _DISTRO_STORES.get(ros_distro.lower())
        self._fallback_names = ((named,) if named else ()) + _DEFAULT_STORES
        self._fallback_stores: list[Typestore] | None = None
        self._supplied = dict(supplied or {})
        self._rejected = dict(rejected or {})
        self._supplied_store: Typestore | None = None
        self._own = get_typestore(Stores.EMPTY)
        self._broken: dict[str, str] = {}
        for topic in topics:
            if topic.definition is not None:
                self._register(topic.type_name, topic.definition)

    def _fallbacks(self) -> list[Typestore]:
        """The distro typestores, built on first use (each takes a while to build)."""
        if self._fallback_stores is None:
            self._fallback_stores = [get_typestore(store) for store in self._fallback_names]
        return self._fallback_stores

    def _supplied_stores(self) -> list[Typestore]:
        """The supplied definitions on top of the first distro store (they may use its std_msgs /
        geometry_msgs types); built on first use, and only when there are any."""
        if not self._supplied:
            return []
        if self._supplied_store is None:
            store = get_typestore(self._fallback_names[0])
            store.register(
                {name: defs for name, defs in self._supplied.items() if name not in store.fielddefs}
            )
            self._supplied_store = store
        return [self._supplied_store]

    def _register(self, type_name: str, definition: MessageDefinition) -> None:
        key = normalize_type_name(type_name)
        if key in self._own.fielddefs or key in self._broken:
            return
        if definition.encoding not in ("ros2msg", "ros2idl", ""):
            # A jsonschema or protobuf schema read as a .msg gave "does not parse" (found by an audit).
            self._broken[key] = f"its stored definition is {definition.encoding}, not ros2msg or ros2idl"
            return
        try:
            service = service_of_event(key)
            types: dict[str, Any] = {}
            if definition.encoding == "ros2idl":
                for block in _IDL_SEPARATOR.split(definition.text):
                    body = "\n".join(line for line in block.splitlines() if not line.startswith("IDL:"))
                    types.update(get_types_from_idl(body))
            else:
                for name, text in split_ros2msg(key, definition.text).items():
                    # rosbag2 stores a service event's definition as its .srv text (request --- response).
                    if name == key and service is not None and _SRV_SEPARATOR.search(text):
                        types.update(srv_types(service, text))
                    else:
                        types.update(get_types_from_msg(text, name))
            if service is not None and key not in types:
                # The event type itself is never stored, only the service's request and response.
                missing = [
                    f"{service}_{side}"
                    for side in ("Request", "Response")
                    if f"{service}_{side}" not in types
                ]
                if missing:
                    raise ValueError(f"it defines no {' or '.join(missing)}")
                types = {**service_event_types(service), **types}
            # Types already present keep their first definition: re-registering a clash would raise.
            self._own.register(
                {name: fields for name, fields in types.items() if name not in self._own.fielddefs}
            )
        except Exception as err:  # rosbags raises several error types for bad definitions
            # One line: rosbags' parse errors quote the whole definition over many lines.
            self._broken[key] = (
                f"its stored {definition.encoding} definition does not parse ({parse_error(err)})"
            )

    def choose(self, type_name: str, serialization_format: str = "cdr") -> DecoderChoice:
        key = normalize_type_name(type_name)
        if serialization_format and serialization_format != "cdr":
            return DecoderChoice(None, None, f"serialization format '{serialization_format}' is not CDR")
        # The recording's own definition comes first; distro ones back it up, because some bags store
        # broken definitions (rosbag2's sqlite3 talker fixture stores 'uint8 level' for rcl_interfaces/Log).
        # The distro stores take a while to build (100 ms): a recording that stores every definition, as
        # MCAP files do, needs them only if one of its messages does not decode with its own.
        known = [store for store in (self._own, *self._supplied_stores()) if key in store.fielddefs]
        backups: Callable[[], list[Typestore]] | None = None
        if known:

            def backups() -> list[Typestore]:
                return [store for store in self._fallbacks() if key in store.fielddefs]

        else:
            known = [store for store in self._fallbacks() if key in store.fielddefs]
        if known:
            decoder = _make_decoder(known, key, backups)
            fast = fast_decoder(known[0], key)
            return DecoderChoice(_with_fast_path(fast, decoder) if fast else decoder, known[0])
        reason = (
            self._broken.get(key)
            or self._rejected.get(key)
            or ("the recording stores no definition for it and the distro typestore does not know it")
        )
        return DecoderChoice(None, None, reason)


def parse_error(err: Exception, block: str = "") -> str:
    """One line for why a definition does not parse. rosbags' parse errors quote the whole definition
    (its repr, the position, the rest of the text): keep the block's type and the text it stopped at."""
    lines = str(err).strip().splitlines() or [type(err).__name__]
    if lines[0].startswith("Could not parse") and len(lines) >= 3 and lines[2].strip().isdigit():
        try:
            text = ast.literal_eval(lines[1])
        except (ValueError, SyntaxError):
            text = None
        if isinstance(text, str):
            rest = text[int(lines[2]) :].strip()
            where = f"at {rest.splitlines()[0][:60]!r}" if rest else "at its end"
            header = text.split("\n", 1)[0]
            block = block or (header[len("MSG: ") :] if header.startswith("MSG: ") else "")
            return f"{block}: cannot parse {where}" if block else f"cannot parse {where}"
    first = lines[0]
    return first if len(first) <= 160 else first[:157] + "..."


def _make_decoder(
    stores: list[Typestore], type_name: str, backups: Callable[[], list[Typestore]] | None = None
) -> Decoder:
    """Decode with the first store; when that fails, try the others and keep the first that works.
    ``backups``: more stores, asked for once, the first time none of ``stores`` decodes a message.

    Definitions of a type drift between distros (an Eloquent-era ``Log`` has a size Jazzy rejects), and a
    bag without ``ros_distro`` does not say which one it used.
    """
    order = list(stores)
    pending = [backups] if backups is not None else []

    def attempt(view: memoryview, first: int, errors: list[Exception]) -> tuple[bool, Any]:
        for index in range(first, len(order)):
            try:
                message = order[index].deserialize_cdr(view, type_name)
            except MemoryError:  # never a property of the bytes alone: a bug to see, not a bad message
                raise
            except Exception as err:  # rosbags raises assorted errors on a mismatch
                errors.append(err)
                continue
            if index:
                order.insert(0, order.pop(index))
            return True, message
        return False, None

    def decode(data: bytes | memoryview) -> Any:
        # rosbags slices off the encapsulation header: from bytes that copies the whole payload (16 MB
        # for a big map); a view of the same immutable bytes does not, and its arrays stay read-only.
        view = memoryview(data) if isinstance(data, bytes) else data
        errors: list[Exception] = []
        done, message = attempt(view, 0, errors)
        if not done and pending:
            tried = len(order)
            order.extend(store for store in pending.pop()() if store not in order)
            done, message = attempt(view, tried, errors)
        if done:
            return message
        # One error type for every payload that does not decode, whatever the store raised.
        raise MalformedCdrError(f"{type_name}: {_decode_error(errors[0])}") from errors[0]

    return decode


def _decode_error(err: Exception) -> str:
    """What went wrong decoding, in words: rosbags raises a bare KeyError for a type the definition uses
    and nothing defines (``unit8 y``: "'my_pkg/msg/unit8'", found by an audit)."""
    if isinstance(err, KeyError) and err.args and isinstance(err.args[0], str):
        return f"its definition uses type {err.args[0]!r}, which neither the recording nor the distro defines"
    return str(err)


def _with_fast_path(fast: FastDecoder, full: Decoder) -> Decoder:
    """``fast`` first; a message it cannot read goes to ``full``, which decodes it or raises as before."""

    def decode(data: bytes | memoryview) -> Any:
        try:
            return fast(data)
        except MalformedCdrError:
            return full(data)

    return decode
