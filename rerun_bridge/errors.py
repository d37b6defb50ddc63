"""One error hierarchy for the whole bridge.

Boundaries re-raise library errors as one of these, ``from`` the original, so callers catch one family
and messages always say which file, topic or key is at fault.
"""

from __future__ import annotations

from typing import Any


class BridgeError(Exception):
    """Base of every error the bridge raises on purpose."""


class ConfigError(BridgeError):
    """A configuration file or option is invalid; the message names the file and key path."""


class EntityPathError(BridgeError):
    """An entity path could not be parsed."""


class ConversionError(BridgeError):
    """A message could not be converted; the message names topic and type."""


class PartialConversionError(ConversionError):
    """Part of a message could not be converted (one of a custom type's mappings): counted as an error,
    and ``rows``, what did convert, are written all the same."""

    def __init__(self, message: str, rows: list[Any]) -> None:
        super().__init__(message)
        self.rows = rows


class BagError(BridgeError):
    """A recording could not be opened or read; the message names the file."""


class RecordingError(BridgeError):
    """An output file could not be written."""


class TransformError(BridgeError):
    """Base of the TF lookup errors (tf2's ``TransformException``)."""


class FrameLookupError(TransformError):
    """A frame is unknown (tf2's ``LookupException``)."""


class ConnectivityError(TransformError):
    """Two frames are not connected in the tree (tf2's ``ConnectivityException``)."""


class ExtrapolationError(TransformError):
    """A lookup time lies outside an edge's buffered data (tf2's ``ExtrapolationException``)."""
