"""ADE20K SceneParsing (ADEChallengeData2016): the generic layout reader, and the release's names.

Layout (CSAILVision/sceneparsing README.md, "Benchmark details")::

    ADEChallengeData2016/images/training/ADE_train_00000001.jpg ... ADE_train_00020210.jpg
    ADEChallengeData2016/images/validation/ADE_val_00000001.jpg ... ADE_val_00002000.jpg
    ADEChallengeData2016/annotations/{training,validation}/<same stem>.png

The annotation PNGs are single-channel uint8, value = class id (0 "other objects", 1..150 as
objectInfo150.txt). Everything the reader needs is the taxonomy YAML's ``layout:`` block
(``taxonomies/datasets/ade20k.yaml``), read by :class:`~harmonize.datasets.layout.LayoutReader`;
this module exists for the look-alike generator (:mod:`harmonize.lookalike.ade20k`), which writes
the release's file names (``ADE_train_%08d`` / ``ADE_val_%08d``, numbered from 1 per split) --
the generic generator writes numeric stems.
"""

from __future__ import annotations

from harmonize.datasets import register
from harmonize.datasets.layout import LayoutReader

__all__ = ["SPLITS", "STEM_PREFIX", "Ade20kReader", "stem"]

SPLITS: tuple[str, ...] = ("training", "validation")
#: File-name prefix per split (README: ADE_train_00000001.jpg, ADE_val_00000001.jpg).
STEM_PREFIX = {"training": "ADE_train_", "validation": "ADE_val_"}


def stem(split: str, index: int) -> str:
    """The release's file stem of image ``index`` (1-based) of ``split``."""
    return f"{STEM_PREFIX[split]}{index:08d}"


class Ade20kReader(LayoutReader):
    """ADEChallengeData2016, read from the taxonomy's ``layout:`` (see the module docstring)."""

    name = "ade20k"


register(
    "ade20k",
    reader=Ade20kReader,
    synthesize="harmonize.lookalike.ade20k:synthesize",
    description="ADE20K SceneParsing (ADEChallengeData2016; 150 classes + 0 other)",
)
