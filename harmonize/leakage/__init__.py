"""Cross-dataset leakage checks: the same image (or a crop or rescaled copy of it) in several
sources or splits of a store.

Lizard re-annotates regions that contain CoNSeP and PanNuke tiles (at 20x, where those are 40x), so a
model trained on Lizard and tested on CoNSeP has seen its test tissue. :func:`find_leakage` finds
such pairs in a store; :func:`find_duplicates` in any list of images. See ``docs/leakage.md``.
"""

from __future__ import annotations

from harmonize.leakage.check import (
    ImageRef,
    LeakageParams,
    LeakageReport,
    Match,
    find_duplicates,
    find_leakage,
)
from harmonize.leakage.hashing import content_hash

__all__ = [
    "ImageRef",
    "LeakageParams",
    "LeakageReport",
    "Match",
    "content_hash",
    "find_duplicates",
    "find_leakage",
]
