"""CoNIC look-alike: ``images.npy``, ``labels.npy``, ``counts.csv``, ``patch_info.csv``, README.txt.

Written the way ``extract_patches.py`` (TissueImageAnalytics/CoNIC) writes the release: each
"Lizard image" is drawn whole, cut into ``size`` patches with step ``size`` plus a last patch
aligned to the right/bottom border (so border patches overlap and share nuclei), each patch's
instance map is relabelled 1..n in raster order of first appearance (``remap_label``), counts are
taken per type on the central region with ``np.unique`` as the script does, and the arrays are
stored uint8 / uint16. The format and its reader: :mod:`harmonize.datasets.conic`.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from harmonize.datasets.base import SynthResult, SynthTruth
from harmonize.datasets.conic import (
    CLASS_NAMES,
    COUNT_COLUMNS,
    COUNT_MARGIN,
    COUNTS,
    IMAGES,
    LABELS,
    PATCH_INFO,
    SPLIT,
)
from harmonize.lookalike._draw import he_image, random_ellipses

__all__ = ["synthesize"]

_COHORTS = ("consep", "glas", "crag", "pannuke", "dpath")

_README = """CoNIC look-alike written by harmonize (synthetic data).
images.npy: Nx{h}x{w}x3 uint8 RGB. labels.npy: Nx{h}x{w}x2 uint16, channel 0 instance map,
channel 1 classification map (0 background, 1 neutrophil, 2 epithelial, 3 lymphocyte, 4 plasma,
5 eosinophil, 6 connective). counts.csv: nuclei per class in the central region.
patch_info.csv: the Lizard image each patch comes from.
"""


def _starts(total: int, size: int) -> list[int]:
    """Patch origins along one axis: step ``size``, plus one aligned to the far border."""
    starts = list(range(0, total - size + 1, size))
    if starts[-1] + size < total:
        starts.append(total - size)
    return starts


def _remap_label(inst: np.ndarray) -> np.ndarray:
    """Ids 1..n in order of first appearance in raster order (0 stays 0)."""
    flat = inst.ravel()
    vals, first = np.unique(flat, return_index=True)
    order = vals[np.argsort(first)]
    order = order[order != 0]
    lut = np.zeros(int(inst.max(initial=0)) + 1, np.int64)
    lut[order] = np.arange(1, len(order) + 1)
    return lut[inst]


def _official_counts(inst: np.ndarray, cls: np.ndarray) -> list[int]:
    """``extract_patches.py``'s per-class counting on the central crop."""
    h, w = inst.shape
    m = COUNT_MARGIN
    ic, cc = inst[m : h - m, m : w - m], cls[m : h - m, m : w - m]
    return [len(np.unique(ic * (cc == c)).tolist()[1:]) for c in CLASS_NAMES]


def synthesize(
    out: str | Path,
    *,
    n: int = 3,
    seed: int = 0,
    size: tuple[int, int] | int = (64, 64),
    edge_cases: bool = False,
) -> SynthResult:
    """Write a CoNIC look-alike under ``out``.

    Parameters
    ----------
    out : path-like
        Root folder to create (the four files land directly in it).
    n : int
        Number of source ("Lizard") images; each is 1.5 patches wide, so it gives 2 to 4
        patches, the border ones overlapping.
    seed : int
        Output bytes are identical for a seed.
    size : (H, W) or int
        Patch size (256 in the release; keep small for tests, at least 40).
    edge_cases : bool
        Also write a patch with no nuclei (counts all 0) and a patch whose only nuclei lie in the
        16-pixel margin (present in the maps, counted 0).

    Returns
    -------
    SynthResult
        One truth per patch; ``quirks["overlapping_patches"]`` names pairs of patch ids that
        share pixels of their source image.
    """
    root = Path(out)
    root.mkdir(parents=True, exist_ok=True)
    ph, pw = (size, size) if isinstance(size, int) else (int(size[0]), int(size[1]))
    rng = np.random.default_rng(seed)
    images: list[np.ndarray] = []
    insts: list[np.ndarray] = []
    types: list[np.ndarray] = []
    names: list[str] = []
    counts: list[list[int]] = []
    samples: dict[str, SynthTruth] = {}
    quirks: dict[str, list[str]] = {}
    plan = [(_COHORTS[i % len(_COHORTS)], "plain") for i in range(n)]
    if edge_cases:
        plan += [("glas", "empty"), ("crag", "margin_only")]
    numbers: dict[str, int] = {}

    def add(name: str, stem: str, img: np.ndarray, inst: np.ndarray, cls: np.ndarray) -> None:
        inst = _remap_label(inst)
        sem = np.where(inst > 0, cls, 0).astype(np.uint8)
        images.append(img)
        insts.append(inst)
        types.append(sem)
        names.append(name)
        counts.append(_official_counts(inst, sem))
        classes = {int(v): int(sem[inst == v][0]) for v in np.unique(inst) if v}
        samples[name] = SynthTruth(
            sample_id=name,
            split=SPLIT,
            semantic=sem,
            instance=inst,
            instance_classes=classes,
            image_shape=(ph, pw),
            meta={"source_image": stem},
        )

    for cohort, kind in plan:
        numbers[cohort] = numbers.get(cohort, 0) + 1
        stem = f"{cohort}_{numbers[cohort]}"
        if kind == "plain":
            shape = (ph + ph // 2, pw + pw // 2) if len(names) % 2 == 0 else (ph, pw + pw // 2)
            ellipses = random_ellipses(rng, shape, int(rng.integers(6, 14)), (2.5, 5.5))
        elif kind == "empty":
            shape, ellipses = (ph, pw), []
        else:  # nuclei in the counting margin only
            shape = (ph, pw)
            ellipses = [
                e
                for e in random_ellipses(rng, shape, 12, (2.0, 3.0))
                if min(e.row, e.col) < COUNT_MARGIN - 4
            ]
        inst = np.zeros(shape, np.int64)
        cls_of = rng.integers(1, 7, size=len(ellipses) + 1)
        for k, e in enumerate(ellipses, start=1):
            inst[e.mask(shape)] = k
        full_cls = np.where(inst > 0, cls_of[inst], 0)
        img = he_image(rng, inst)
        patches = [(r, c) for r in _starts(shape[0], ph) for c in _starts(shape[1], pw)]
        made = []
        for idx, (r, c) in enumerate(patches):
            name = f"{stem}-{idx:04d}"
            win = (slice(r, r + ph), slice(c, c + pw))
            add(name, stem, img[win], inst[win], full_cls[win])
            made.append((name, r, c))
        for i, (a, ra, ca) in enumerate(made):
            for b, rb, cb in made[i + 1 :]:
                if abs(ra - rb) < ph and abs(ca - cb) < pw:
                    quirks.setdefault("overlapping_patches", []).append(f"{a} {b}")
        if kind != "plain":
            quirks.setdefault(kind, []).append(made[0][0])

    np.save(root / IMAGES, np.stack(images).astype(np.uint8))
    labels = np.stack([np.stack(insts), np.stack(types)], axis=-1).astype(np.uint16)
    np.save(root / LABELS, labels)
    rows = [",".join(COUNT_COLUMNS)] + [",".join(str(v) for v in row) for row in counts]
    (root / COUNTS).write_text("\n".join(rows) + "\n", encoding="utf-8")
    (root / PATCH_INFO).write_text("\n".join(["patch_info", *names]) + "\n", encoding="utf-8")
    (root / "README.txt").write_text(_README.format(h=ph, w=pw), encoding="utf-8")
    return SynthResult(dataset="conic", root=root, samples=samples, quirks=quirks)
