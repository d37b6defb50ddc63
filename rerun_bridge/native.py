"""The optional C extensions: used only when built from the same sources as the Python that calls them.

Each extension (``convert/_cloud_native.c``, ``cdr/_marker_walk.c``) has a numpy fallback. An extension
that is missing (no C compiler at install) means the fallback, silently; one built from other sources (an
editable install updated without re-running setup keeps its old ``.so`` beside the new sources) could
have other functions or other meanings, so it is refused with one warning and the fallback runs.
"""

from __future__ import annotations

import logging
from types import ModuleType

_log = logging.getLogger(__name__)


def speaks(extension: ModuleType, api_version: int) -> bool:
    """Whether ``extension`` was built for ``api_version`` (its ``API_VERSION``); warns once when not."""
    found = getattr(extension, "API_VERSION", None)
    if found == api_version:
        return True
    _log.warning(
        "%s was built from other sources (API %s, this package needs %s): re-run scripts/setup.sh; "
        "using the numpy path meanwhile",
        extension.__name__,
        found,
        api_version,
    )
    return False
