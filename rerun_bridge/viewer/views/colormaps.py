"""Colormaps by name as 256-entry lookup tables (images, depth, tensors)."""

from __future__ import annotations

from typing import Final

import numpy as np
import numpy.typing as npt
import pyqtgraph as pg

DEFAULT_COLORMAP: Final = "turbo"


def is_known_colormap(name: str) -> bool:
    """Whether :func:`lookup_table` has a table of that name (else it uses the default)."""
    if name == "grayscale":
        return True
    try:
        pg.colormap.get(name)
    except (FileNotFoundError, KeyError, ValueError):
        return False
    return True


def lookup_table(name: str, fallback: str = DEFAULT_COLORMAP) -> npt.NDArray[np.uint8]:
    """RGB rows of a colormap; ``fallback``'s for a name pyqtgraph does not know."""
    if name == "grayscale":
        ramp = np.arange(256, dtype=np.uint8)
        return np.stack([ramp, ramp, ramp], axis=1)
    try:
        colormap = pg.colormap.get(name)
    except (FileNotFoundError, KeyError, ValueError):
        colormap = pg.colormap.get(fallback)
    table: npt.NDArray[np.uint8] = colormap.getLookupTable(nPts=256, alpha=False)
    return table
