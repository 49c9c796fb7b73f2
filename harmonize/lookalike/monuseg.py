"""MoNuSeg 2018 look-alike: ``.tif`` tissue images with Aperio ImageScope XML polygons.

The format and its reader: :mod:`harmonize.datasets.monuseg`.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from harmonize.datasets.base import SynthResult, SynthTruth
from harmonize.datasets.monuseg import TEST_DIR, TRAIN_DIR
from harmonize.lookalike._aperio import round_vertices, write_aperio_xml
from harmonize.lookalike._draw import Ellipse, he_image, random_ellipses, write_rgb

__all__ = ["synthesize"]


_SYNTH_IDS = {
    "train": [
        "TCGA-18-5592-01Z-00-DX1",
        "TCGA-21-5784-01Z-00-DX1",
        "TCGA-A7-A13E-01Z-00-DX1",
        "TCGA-B0-5711-01Z-00-DX1",
        "TCGA-G9-6348-01Z-00-DX1",
        "TCGA-HE-7128-01Z-00-DX1",
    ],
    "test": [
        "TCGA-2Z-A9J9-01A-01-TS1",
        "TCGA-AY-A8YK-01A-01-TS1",
        "TCGA-DK-A2I6-01A-01-TS1",
        "TCGA-KB-A93J-01A-01-TS1",
    ],
}


def _truth(polys: list[np.ndarray], shape: tuple[int, int]) -> np.ndarray:
    """The generator's painting: ascending area, stable, larger on top (the default order)."""
    from skimage.draw import polygon

    fills = [polygon(p[:, 1], p[:, 0], shape=shape) for p in polys]
    order = sorted(range(len(fills)), key=lambda i: len(fills[i][0]))
    inst = np.zeros(shape, np.int32)
    for rank, i in enumerate(order, start=1):
        inst[fills[i]] = rank
    return inst


def synthesize(
    out: str | Path,
    *,
    n: int = 3,
    seed: int = 0,
    size: tuple[int, int] | int = (64, 64),
    edge_cases: bool = False,
) -> SynthResult:
    """Write a MoNuSeg look-alike under ``out`` (§4.1, §9).

    Parameters
    ----------
    out : path-like
        Root folder to create.
    n : int
        Number of images; about a third (at least one when ``n >= 2``) go to ``MoNuSegTestData``.
        The first image always holds two partly overlapping regions.
    seed : int
        Output bytes are identical for a seed.
    size : (H, W) or int
        Image size (all images share it, as in the release; real images are 1000x1000).
    edge_cases : bool
        Also write: the training folder doubled (as the zip unpacks), a small nucleus entirely
        inside a larger one (hidden under ``overlap="area"``, visible under ``"file"``), a polygon
        past the image border, and an image whose XML has no region.

    Returns
    -------
    SynthResult
        Truth painted in the reader's default order (``overlap="area"``).
    """
    root = Path(out)
    root.mkdir(parents=True, exist_ok=True)
    shape = (size, size) if isinstance(size, int) else (int(size[0]), int(size[1]))
    rng = np.random.default_rng(seed)
    n_test = max(1, n // 3) if n >= 2 else 0
    train_base = root / TRAIN_DIR
    if edge_cases:
        train_base = train_base / TRAIN_DIR
    plan: list[tuple[str, str, str]] = []
    for split, count in (("train", n - n_test), ("test", n_test)):
        for i in range(count):
            ids = _SYNTH_IDS[split]
            stem = ids[i % len(ids)] + ("" if i < len(ids) else f"-{i // len(ids)}")
            plan.append((split, stem, "overlap" if not plan else "plain"))
    if edge_cases:
        plan += [
            ("train", "TCGA-E2-A14V-01Z-00-DX1", "nested"),
            ("train", "TCGA-AR-A1AK-01Z-00-DX1", "border"),
            ("test", "TCGA-NH-A8F7-01A-01-TS1", "empty"),
        ]
    samples: dict[str, SynthTruth] = {}
    quirks: dict[str, list[str]] = {}
    h, w = shape
    for split, stem, kind in plan:
        if kind == "empty":
            ellipses: list[Ellipse] = []
        else:
            ellipses = random_ellipses(rng, shape, int(rng.integers(3, 7)), (4.0, 8.0))
        if kind in ("overlap", "nested") and ellipses:
            e = ellipses[0]
            if kind == "overlap":  # a larger nucleus half over the first one, written after it
                extra = Ellipse(e.row + 4.0, e.col + 5.0, e.r_row + 3.0, e.r_col + 2.0, 0.7)
            else:  # a small nucleus entirely inside the first, written after it
                extra = Ellipse(e.row, e.col, 2.0, 2.5, 0.0)
            if kind == "nested":
                ellipses.insert(1, extra)
            else:
                ellipses.append(extra)
        if kind == "border":
            ellipses.append(Ellipse(h - 2.0, w - 1.0, 7.0, 8.0, 0.5))
        polys = [round_vertices(e.polygon(14)) for e in ellipses]
        inst = _truth(polys, shape)
        img = he_image(rng, inst)
        if split == "train":
            tif = train_base / "Tissue Images" / f"{stem}.tif"
            xml = train_base / "Annotations" / f"{stem}.xml"
        else:
            tif = root / TEST_DIR / f"{stem}.tif"
            xml = root / TEST_DIR / f"{stem}.xml"
        write_rgb(tif, img)
        write_aperio_xml(xml, [("Description", polys)])
        samples[stem] = SynthTruth(
            sample_id=stem,
            split=split,
            semantic=(inst > 0).astype(np.uint8),
            instance=inst,
            instance_classes={int(i): 1 for i in np.unique(inst) if i != 0},
            image_shape=shape,
        )
        if kind != "plain":
            quirks.setdefault(kind, []).append(str(xml))
    if edge_cases:
        quirks["doubled_training_folder"] = [str(train_base)]
    return SynthResult(dataset="monuseg", root=root, samples=samples, quirks=quirks)
