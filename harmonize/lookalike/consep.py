"""CoNSeP look-alike: ``CoNSeP/{Train,Test}/{Images,Labels,Overlay}`` as the HoVer-Net release has it.

The format and its reader: :mod:`harmonize.datasets.consep`.
"""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np

from harmonize.datasets.base import SynthResult, SynthTruth
from harmonize.datasets.consep import CLASS_NAMES
from harmonize.lookalike._draw import he_image, random_ellipses, write_mat, write_rgb

__all__ = ["synthesize"]

_MAX_CLASS = max(CLASS_NAMES)


_README = """CoNSeP look-alike written by harmonize (synthetic data, not the real dataset).

Each .mat file in Labels/ contains:
'inst_map': instance map, 0 = background, 1..N = nucleus id
'type_map': type map, 0 = background, 1..7 = class
'inst_type': Nx1 class of each instance, in order of inst_map id
'inst_centroid': Nx2 (x, y) centroid of each instance, in order of inst_map id

Class values: 1 other, 2 inflammatory, 3 healthy epithelial, 4 dysplastic/malignant epithelial,
5 fibroblast, 6 muscle, 7 endothelial.
"""


def _write_sample(
    rng: np.random.Generator,
    sdir: Path,
    stem: str,
    shape: tuple[int, int],
    count: int,
    quirks: tuple[str, ...],
) -> tuple[np.ndarray, np.ndarray, dict[int, int], list[tuple[str, str]]]:
    from skimage.segmentation import find_boundaries

    ellipses = random_ellipses(rng, shape, count, (4.0, 10.0), overlap="overlap" in quirks)
    n = len(ellipses)
    classes = rng.integers(1, _MAX_CLASS + 1, size=n).astype(np.int64)
    inst = np.zeros(shape, np.int32)
    for k, e in enumerate(ellipses, start=1):
        inst[e.mask(shape)] = k
    if "gap_id" in quirks and n >= 2:
        inst[inst == 2] = 0  # id 2 keeps its inst_type row but has no pixels
    lut = np.r_[0, classes].astype(np.int32)
    tmap = lut[inst]
    cents = np.zeros((n, 2), np.float64)
    for k, e in enumerate(ellipses, start=1):
        rows, cols = np.nonzero(inst == k)
        cents[k - 1] = (cols.mean(), rows.mean()) if rows.size else (e.col, e.row)  # (x, y)
    img = he_image(rng, inst)
    written: list[tuple[str, str]] = []
    img_path = sdir / "Images" / f"{stem}.png"
    write_rgb(img_path, img, alpha="rgba" in quirks)
    if "legacy_npy" in quirks:
        lab_path = sdir / "Labels" / f"{stem}.npy"
        lab_path.parent.mkdir(parents=True, exist_ok=True)
        np.save(lab_path, np.stack([inst, tmap], axis=-1).astype(np.int32))
    else:
        lab_path = sdir / "Labels" / f"{stem}.mat"
        write_mat(
            lab_path,
            {
                "inst_map": inst,
                "type_map": tmap,
                "inst_type": classes.reshape(-1, 1).astype(np.float64),
                "inst_centroid": cents,
            },
        )
    overlay = img.copy()
    overlay[find_boundaries(inst, mode="inner")] = (0, 255, 0)
    write_rgb(sdir / "Overlay" / f"{stem}.png", overlay)
    for q in quirks:
        written.append((q, str(img_path if q == "rgba" else lab_path)))
    present = np.unique(inst)
    truth_classes = {int(i): int(lut[i]) for i in present[present > 0]}
    return inst, tmap.astype(np.uint8), truth_classes, written


def synthesize(
    out: str | Path,
    *,
    n: int = 3,
    seed: int = 0,
    size: tuple[int, int] = (96, 96),
    edge_cases: bool = False,
) -> SynthResult:
    """Write a miniature CoNSeP look-alike under ``out/CoNSeP``.

    Parameters
    ----------
    out : path-like
        Folder to write into (``CoNSeP/`` is created inside it).
    n : int
        Tiles in ``Train``; ``Test`` gets ``ceil(n / 2)``.
    seed : int
        Random seed; output bytes are identical for a seed (fixed ``.mat`` header text).
    size : (int, int)
        ``(H, W)`` in px (real tiles are 1000x1000; keep small for tests).
    edge_cases : bool
        Add quirks: a tile with zero instances (``inst_type`` shape (0, 1)), an RGBA PNG, a legacy
        ``.npy`` label file, and a tile with overlapping nuclei and an id without pixels.

    Notes
    -----
    ``.mat`` dtypes follow the reference's suggestion: ``inst_map``/``type_map`` int32,
    ``inst_type`` float64 (N, 1), ``inst_centroid`` float64 (N, 2) as (x, y).
    """
    root = Path(out) / "CoNSeP"
    root.mkdir(parents=True, exist_ok=True)
    (root / "README.txt").write_text(_README, encoding="utf-8")
    rng = np.random.default_rng(seed)
    count = max(2, size[0] * size[1] // 800)
    plans: list[tuple[str, str, int, tuple[str, ...]]] = [
        ("train", f"train_{i}", count, ()) for i in range(1, n + 1)
    ]
    m = math.ceil(n / 2)
    plans += [("test", f"test_{i}", count, ()) for i in range(1, m + 1)]
    if edge_cases:
        plans += [
            ("train", f"train_{n + 1}", 0, ("zero_instances",)),
            ("train", f"train_{n + 2}", count, ("rgba",)),
            ("train", f"train_{n + 3}", count, ("legacy_npy",)),
            ("test", f"test_{m + 1}", count * 2, ("overlap", "gap_id")),
        ]
    samples: dict[str, SynthTruth] = {}
    quirks: dict[str, list[str]] = {}
    for split, stem, k, qs in plans:
        sdir = root / ("Train" if split == "train" else "Test")
        inst, sem, cls, written = _write_sample(rng, sdir, stem, size, k, qs)
        for q, p in written:
            quirks.setdefault(q, []).append(p)
        samples[stem] = SynthTruth(
            sample_id=stem,
            split=split,
            semantic=sem,
            instance=inst,
            instance_classes=cls,
            image_shape=size,
            meta={"quirks": list(qs)},
        )
    return SynthResult(dataset="consep", root=root, samples=samples, quirks=quirks)
