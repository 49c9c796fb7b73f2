"""NuInsSeg look-alike: per-organ folders as the Kaggle release unpacks them.

Writes ``tissue images/*.png``, ``label masks modify/*.tif`` (uint16, overlaps given to the later
ROI as ``masks_generator.m`` does with ``max``), ``label masks/*.tif`` (overlaps summed),
``mask binary/*.png`` (0/255), ``distance maps/*.png`` and ``vague areas/mask binary/*.png``
(0/255). The format and its reader: :mod:`harmonize.datasets.nuinsseg`.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
from scipy import ndimage

from harmonize.datasets._io import write_png
from harmonize.datasets.base import SynthResult, SynthTruth
from harmonize.datasets.nuinsseg import (
    IMAGE_DIR,
    LABEL_DIR,
    NUCLEUS,
    SPLIT,
    VAGUE,
    VAGUE_DIRS,
    sample_id,
)
from harmonize.lookalike._draw import Ellipse, he_image, random_ellipses, write_rgb

__all__ = ["synthesize"]

_ORGANS = ("human bladder", "mouse kidney", "human liver")


def _write_tiff16(path: Path, arr: np.ndarray) -> None:
    import tifffile

    path.parent.mkdir(parents=True, exist_ok=True)
    tifffile.imwrite(path, arr.astype(np.uint16))


def synthesize(
    out: str | Path,
    *,
    n: int = 3,
    seed: int = 0,
    size: tuple[int, int] | int = (64, 64),
    edge_cases: bool = False,
) -> SynthResult:
    """Write a NuInsSeg look-alike under ``out``.

    Parameters
    ----------
    out : path-like
        Root folder to create; organ folders go directly in it.
    n : int
        Number of images, spread over the organs "human bladder", "mouse kidney", "human liver";
        stems ``01``, ``02``, ... restart in each organ (so ids need the organ prefix).
    seed : int
        Output bytes are identical for a seed.
    size : (H, W) or int
        Image size (512 in the release; keep small for tests).
    edge_cases : bool
        Also write an RGBA tissue image, an image with no nuclei and an empty vague mask, and an
        organ whose vague masks sit in ``vague areas/mask binary_vague``.

    Returns
    -------
    SynthResult
    """
    root = Path(out)
    root.mkdir(parents=True, exist_ok=True)
    hw = (size, size) if isinstance(size, int) else (int(size[0]), int(size[1]))
    rng = np.random.default_rng(seed)
    plan = [(_ORGANS[i % len(_ORGANS)], "plain") for i in range(n)]
    if edge_cases:
        plan += [("human bladder", "rgba"), ("mouse kidney", "empty"), ("mouse colon", "alt_vague")]
    stems: dict[str, int] = {}
    samples: dict[str, SynthTruth] = {}
    quirks: dict[str, list[str]] = {}
    for organ, kind in plan:
        stems[organ] = stems.get(organ, 0) + 1
        stem = f"{stems[organ]:02d}"
        d = root / organ
        count = 0 if kind == "empty" else int(rng.integers(4, 10))
        ellipses = random_ellipses(rng, hw, count, (3.0, 7.0), overlap=True)
        modify = np.zeros(hw, np.int64)
        summed = np.zeros(hw, np.int64)
        dist = np.zeros(hw, np.float64)
        for k, e in enumerate(ellipses, start=1):
            m = e.mask(hw)
            modify = np.maximum(modify, m * k)  # masks_generator.m: the later ROI wins
            summed += m * k
            dist = np.maximum(dist, ndimage.distance_transform_edt(m))
        vague = np.zeros(hw, bool)
        if kind != "empty":
            blob = Ellipse(
                float(rng.uniform(0, hw[0])),
                float(rng.uniform(0, hw[1])),
                float(hw[0] / 5),
                float(hw[1] / 4),
                float(rng.uniform(0, np.pi)),
            )
            vague = blob.mask(hw)
        truth_inst = modify.astype(np.int32)
        semantic = np.where(truth_inst > 0, NUCLEUS, np.where(vague, VAGUE, 0)).astype(np.uint8)
        write_rgb(d / IMAGE_DIR / f"{stem}.png", he_image(rng, modify), alpha=kind == "rgba")
        label = d / LABEL_DIR / f"{stem}.tif"
        _write_tiff16(label, modify)
        _write_tiff16(d / "label masks" / f"{stem}.tif", summed)
        write_png(_mk(d / "mask binary" / f"{stem}.png"), ((summed > 0) * 255).astype(np.uint8))
        top = dist.max(initial=0.0)
        scaled = (dist / top * 255).round() if top else dist
        write_png(_mk(d / "distance maps" / f"{stem}.png"), scaled.astype(np.uint8))
        vague_dir = VAGUE_DIRS[1] if kind == "alt_vague" else VAGUE_DIRS[0]
        write_png(_mk(d / vague_dir / f"{stem}.png"), (vague * 255).astype(np.uint8))
        sid = sample_id(organ, stem)
        samples[sid] = SynthTruth(
            sample_id=sid,
            split=SPLIT,
            semantic=semantic,
            instance=truth_inst,
            instance_classes={int(v): NUCLEUS for v in np.unique(truth_inst) if v},
            image_shape=hw,
            meta={"organ": organ},
        )
        if np.any(summed != modify):
            quirks.setdefault("overlapping_nuclei", []).append(str(label))
        if kind != "plain":
            quirks.setdefault(kind, []).append(str(label))
    return SynthResult(dataset="nuinsseg", root=root, samples=samples, quirks=quirks)


def _mk(path: Path) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    return path
