"""The on-disk layout of a harmonize store (documented for humans in ``docs/store-format.md``).

A store is one Zarr v3 group::

    out.zarr/
      zarr.json                      root attributes["harmonize"]: format, status, ontology, config, ...
      sources/<source>/              one group per *source* of the run config (never per sample)
        semantic   (N, H, W)         ontology ids, smallest unsigned dtype; fill = ignore id
        instance   (N, H, W) uint16  1..K per sample, 0 = none (``instance_dtype``; uint32 in v1)
        image      (N, H, W, 3) uint8
        height, width (N,) uint32    true size of sample i; the rest of its slot is padding
        sample_id, split, paths (N,) strings (paths: JSON list)
        pixel_counts, instance_counts (N, C) int64, columns = root ``class_ids``
        class_id, class_name (C,)    the columns' ontology ids and names (written by finalize)
        n_instances (N,) uint32
        shard_done (n_shards,) string: JSON summary of a finished shard ("" = not written)
        instance_class (total K,), instance_offset (N + 1,)    written when the run completes
        box_* (total B, ...), box_offset (N + 1,)              when boxes are written (label id and
                                     name, native and stored instance id, xywh, visible xywh)
        valid (N,) bool              False for samples skipped under on_error="skip"

``H, W`` are the largest sample of that source; smaller samples are padded with the fill value, whose
chunks zarr never writes, so ragged sizes cost no storage. Chunks are ``(1, tile, tile)`` inside shards
of ``samples_per_shard`` whole samples: a sample is read from one shard file, and each writer owns
whole shards (zarr loses data when two writers share one).

This module only computes names, shapes and chunking; it imports zarr lazily.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

from harmonize._records import Record

__all__ = [
    "FORMAT",
    "FORMAT_VERSION",
    "LAYERS",
    "SourceLayout",
    "default_samples_per_shard",
    "default_tile",
]

FORMAT = "harmonize.store"
FORMAT_VERSION = 2

#: Pixel layers a run may write.
LAYERS = ("semantic", "instance", "image")

DIMS = {
    "semantic": ("sample", "y", "x"),
    "instance": ("sample", "y", "x"),
    "image": ("sample", "y", "x", "channel"),
}


def default_tile(height: int, width: int) -> int:
    """Inner chunk edge, chosen for reading: training crops are 256-1024 px, and a random crop
    decompresses every tile it touches. 512 px tiles from 1 Mpx (Cityscapes frames: a 512 px crop
    touches at most four 512 px tiles, 4x the patch, against four 1024 px tiles, 16x, before), 256 px
    below (PanNuke/CoNSeP tiles and their 256 px crops).

    zarr's sharding spends a fixed ~0.3-0.5 ms of CPU per inner chunk on writing, so smaller tiles
    write somewhat slower (``python -m benchmarks pipeline``); a store is written once and read
    every epoch, so the read path decides.
    """
    px = height * width
    return 512 if px >= 1 << 20 else 256


def default_samples_per_shard(height: int, width: int, target_bytes: int = 64 << 20) -> int:
    """Samples per shard so that one shard of all layers is about ``target_bytes`` uncompressed
    (8 bytes/pixel: 1-2 semantic + 4 instance + 3 image); between 1 and 64."""
    per_sample = max(1, height * width * 8)
    return int(max(1, min(64, target_bytes // per_sample)))


@dataclass(frozen=True)
class SourceLayout(Record):
    """Shapes and chunking of one source's arrays.

    Attributes
    ----------
    name : str
        Source name (unique within the store; group ``sources/<name>``).
    dataset : str
        Dataset registry name.
    n_samples : int
        Slots of this source: samples skipped while reading keep their slot with ``valid = False``;
        samples that already failed while sizing (planning) get none. Both are listed, with file
        and reason, in the run report and the root attribute ``skipped``.
    height, width : int
        Slot size: the largest sample of the source.
    samples_per_shard : int
        Whole samples per shard; the unit of work and of resumption.
    tile : int
        Inner chunk edge (pixels).
    semantic_dtype : str
        Output dtype of the semantic layer.
    fill_semantic : int
        Fill value of the semantic layer (the ontology's ignore id).
    n_classes : int
        Columns of the count tables.
    layers : tuple of str
        Which pixel layers are written.
    boxes : bool
        Whether box tables are written.
    instance_dtype : str
        Dtype of the instance layer (``uint16`` by default; stores of format 1 are ``uint32``).
    """

    name: str
    dataset: str
    n_samples: int
    height: int
    width: int
    samples_per_shard: int
    tile: int
    semantic_dtype: str
    fill_semantic: int
    n_classes: int
    layers: tuple[str, ...] = ("semantic", "instance", "image")
    boxes: bool = False
    instance_dtype: str = "uint16"
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def n_shards(self) -> int:
        return max(1, math.ceil(self.n_samples / self.samples_per_shard))

    def shard_range(self, shard: int) -> tuple[int, int]:
        """``[start, stop)`` sample indices of ``shard``."""
        start = shard * self.samples_per_shard
        return start, min(self.n_samples, start + self.samples_per_shard)

    @property
    def chunk_hw(self) -> tuple[int, int]:
        return min(self.tile, self.height), min(self.tile, self.width)

    @property
    def shard_hw(self) -> tuple[int, int]:
        ch, cw = self.chunk_hw
        return math.ceil(self.height / ch) * ch, math.ceil(self.width / cw) * cw

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> SourceLayout:
        d = dict(d)
        d["layers"] = tuple(d["layers"])
        d.setdefault("instance_dtype", "uint32")  # format 1 stores
        return cls(**d)
