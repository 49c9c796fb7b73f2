"""Look-alikes of HoVer-Net's ``<split>/Images`` + ``<split>/Labels/<stem>.mat`` layout (CPM17, Kumar).

The layout and its reader: :mod:`harmonize.datasets._hovernet`. :func:`synthesize_instance_only`
writes the instance-only variant (``.mat`` key ``inst_map``) from a list of
:class:`InstanceOnlyPlan`; CoNSeP's generator (:mod:`harmonize.lookalike.consep`) writes its richer
label files itself.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from harmonize.datasets.base import SynthResult, SynthTruth
from harmonize.lookalike._draw import he_image, random_ellipses, write_mat, write_rgb

__all__ = ["InstanceOnlyPlan", "draw_instances", "relabel", "synthesize_instance_only"]


def draw_instances(
    rng: np.random.Generator,
    shape: tuple[int, int],
    count: int,
    *,
    overlap: bool = False,
    radius: tuple[float, float] = (4.0, 10.0),
) -> np.ndarray:
    """Paint ``count`` random nucleus ellipses with ids ``1..count`` in order (later on top).

    Returns an ``(H, W)`` int32 instance map. With ``overlap=True`` a later ellipse may cover
    part (or all) of an earlier one, as HoVer-Net's Kumar converter paints larger nuclei on top.
    """
    inst = np.zeros(shape, np.int32)
    for k, e in enumerate(random_ellipses(rng, shape, count, radius, overlap=overlap), start=1):
        inst[e.mask(shape)] = k
    return inst


def relabel(inst: np.ndarray, new_ids: Mapping[int, int]) -> np.ndarray:
    """Return ``inst`` with ids replaced by ``new_ids`` (ids not in the mapping kept)."""
    out = inst.copy()
    for old, new in new_ids.items():
        out[inst == old] = new
    return out


@dataclass(frozen=True)
class InstanceOnlyPlan:
    """One sample of an instance-only look-alike: where it goes and which quirks it carries."""

    split: str
    split_dir: str
    stem: str
    sample_id: str
    shape: tuple[int, int]
    count: int
    quirks: tuple[str, ...] = ()


def synthesize_instance_only(
    dataset: str,
    root: Path,
    plans: Sequence[InstanceOnlyPlan],
    *,
    seed: int,
    image_suffix: str,
    inst_dtype: np.dtype | type = np.int32,
) -> SynthResult:
    """Write a CPM17/Kumar-style look-alike: ``<split_dir>/Images/<stem><suffix>`` and
    ``<split_dir>/Labels/<stem>.mat`` with key ``inst_map``.

    Quirks per plan: ``"empty"`` (no nuclei), ``"overlap"`` (overlapping nuclei, later on top),
    ``"noncontiguous"`` (ids ``1000 + 7k``), ``"float_inst_map"`` (inst_map stored as float64),
    ``"rgba"`` (image with an alpha channel).
    """
    rng = np.random.default_rng(seed)
    samples: dict[str, SynthTruth] = {}
    quirks: dict[str, list[str]] = {}
    for plan in plans:
        count = 0 if "empty" in plan.quirks else plan.count
        inst = draw_instances(rng, plan.shape, count, overlap="overlap" in plan.quirks)
        if "noncontiguous" in plan.quirks:
            inst = relabel(inst, {k: 1000 + 7 * k for k in range(1, count + 1)})
        img = he_image(rng, inst)
        sdir = root / plan.split_dir
        img_path = sdir / "Images" / f"{plan.stem}{image_suffix}"
        lab_path = sdir / "Labels" / f"{plan.stem}.mat"
        write_rgb(img_path, img, alpha="rgba" in plan.quirks)
        stored = inst.astype(np.float64 if "float_inst_map" in plan.quirks else inst_dtype)
        write_mat(lab_path, {"inst_map": stored})
        for q in plan.quirks:
            quirks.setdefault(q, []).append(str(img_path if q == "rgba" else lab_path))
        ids = np.unique(inst)
        samples[plan.sample_id] = SynthTruth(
            sample_id=plan.sample_id,
            split=plan.split,
            semantic=(inst > 0).astype(np.uint8),
            instance=inst,
            instance_classes={int(i): 1 for i in ids[ids > 0]},
            image_shape=plan.shape,
            meta={"quirks": list(plan.quirks)},
        )
    return SynthResult(dataset=dataset, root=root, samples=samples, quirks=quirks)
