"""PanNuke look-alike: ``Fold 1..3`` with ``images.npy``, ``types.npy`` and six-channel ``masks.npy``.

The format and its reader: :mod:`harmonize.datasets.pannuke` (whose :func:`fold_paths` places the
files).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from harmonize.datasets.base import SynthResult, SynthTruth
from harmonize.datasets.pannuke import (
    BACKGROUND_CHANNEL,
    CHANNEL_CLASSES,
    FOLDS,
    N_CHANNELS,
    TISSUES,
    VOID,
    fold_paths,
)
from harmonize.lookalike._draw import he_image, random_ellipses

__all__ = ["EDGE_QUIRKS", "synthesize"]


_FOLD_README = "# PanNuke look-alike (synthetic, written by harmonize)\n"
_MASKS_README = (
    "# masks.npy\n\nChannels: 0: Neoplastic cells, 1: Inflammatory, 2: Connective/Soft tissue "
    "cells, 3: Dead Cells, 4: Epithelial, 5: Background\n"
)
_LICENSE = "Attribution-NonCommercial-ShareAlike 4.0 International (placeholder text)\n"

#: Edge-case patches appended to fold 1 in ``edge_cases`` mode.
EDGE_QUIRKS = ("overlap", "void_patch", "void_pixels", "disconnected", "empty")


def _make_patch(
    rng: np.random.Generator, shape: tuple[int, int], quirk: str | None
) -> tuple[np.ndarray, np.ndarray, np.ndarray, dict[int, int], np.ndarray]:
    """One patch: ``(mask (H, W, 6) float64, truth semantic, truth instance, classes, image)``.

    Truth is painted from the drawn nuclei in channel order (later channel on top; within a channel
    later drawn on top, as the channel image itself is painted), independent of the file encoding.
    """
    h, w = shape
    count = 0 if quirk in ("empty", "void_patch") else max(3, h * w // 500)
    overlap = quirk == "overlap"
    ellipses = random_ellipses(rng, shape, count, (3.0, 8.0), overlap=overlap)
    chans = rng.integers(0, len(CHANNEL_CLASSES), size=len(ellipses))
    base = int(rng.integers(1000, 3000))
    objs: list[tuple[int, int, int, np.ndarray]] = []  # (channel, file id, truth id, pixels)
    per_channel = [0] * len(CHANNEL_CLASSES)
    for t, (e, c) in enumerate(zip(ellipses, chans.tolist(), strict=True), start=1):
        fid = base + 7 * per_channel[c]  # large, non-contiguous, repeating across channels
        per_channel[c] += 1
        objs.append((c, fid, t, e.mask(shape)))
    if overlap and len(objs) >= 2:  # force a cross-channel overlap: copy nucleus 1 onto nucleus 0
        c0, _, _, m0 = objs[0]
        c1 = (c0 + 1 + int(rng.integers(0, 4))) % len(CHANNEL_CLASSES)
        shifted = np.roll(m0, (2, 3), axis=(0, 1))
        objs.append((c1, base + 7 * per_channel[c1], len(objs) + 1, shifted))
        per_channel[c1] += 1
    if quirk == "disconnected" and objs:  # a second blob carrying the first nucleus's id
        c0, f0, t0, m0 = objs[0]
        blob = np.zeros(shape, bool)
        blob[h - 6 : h - 1, w - 6 : w - 1] = True
        objs.append((c0, f0, t0, blob))
    mask = np.zeros((h, w, N_CHANNELS), np.float64)
    sem = np.zeros(shape, np.uint8)
    inst = np.zeros(shape, np.int64)
    for c, fid, _, m in objs:
        mask[..., c][m] = fid
    for c, _, t, m in sorted(objs, key=lambda o: o[0]):  # stable: draw order within a channel
        sem[m] = c + 1
        inst[m] = t
    mask[..., BACKGROUND_CHANNEL] = (mask[..., :BACKGROUND_CHANNEL].max(axis=-1) == 0).astype(
        np.float64
    )
    void = np.zeros(shape, bool)
    if quirk == "void_patch":
        void[:] = True
    elif quirk == "void_pixels":
        r0, c0 = int(rng.integers(0, h // 2)), int(rng.integers(0, w // 2))
        void[r0 : r0 + h // 3, c0 : c0 + w // 3] = True
    mask[void] = 0.0
    sem[void] = VOID
    inst[void] = 0
    classes = {t: c + 1 for c, _, t, _ in objs}
    present = set(np.unique(inst).tolist()) - {0}
    classes = {t: k for t, k in classes.items() if t in present}
    image = he_image(rng, inst)
    return mask, sem, inst, classes, image


def synthesize(
    out: str | Path,
    *,
    n: int = 3,
    seed: int = 0,
    size: tuple[int, int] = (64, 64),
    edge_cases: bool = False,
) -> SynthResult:
    """Write a miniature PanNuke look-alike (three folds) under ``out/PanNuke``.

    Parameters
    ----------
    out : path-like
        Folder to write into; ``PanNuke/Fold 1`` .. ``Fold 3`` are created inside it.
    n : int
        Patches per fold.
    seed : int
        Random seed; output bytes are identical for a seed.
    size : (int, int)
        ``(H, W)`` of the patches in px (real: 256x256; keep small for tests).
    edge_cases : bool
        Append to fold 1 one patch per quirk: cross-channel overlap (later channel wins),
        an all-zero void patch, void pixels inside a patch, a disconnected id (one id, two blobs),
        an empty patch (all background). Every patch also repeats ids across channels.

    Notes
    -----
    Arrays follow the release: ``images`` float64 (N, H, W, 3) 0..255, ``masks`` float64
    (N, H, W, 6) with channel 5 = 1.0 where no nucleus, ``types`` ``<U13`` tissue names.
    """
    root = Path(out) / "PanNuke"
    rng = np.random.default_rng(seed)
    samples: dict[str, SynthTruth] = {}
    quirks: dict[str, list[str]] = {}
    for fold in FOLDS:
        fold_dir, images_p, types_p, masks_p = fold_paths(root, fold)
        plan: list[str | None] = [None] * n
        if edge_cases and fold == 1:
            plan += list(EDGE_QUIRKS)
        images = np.zeros((len(plan), *size, 3), np.float64)
        masks = np.zeros((len(plan), *size, N_CHANNELS), np.float64)
        types = np.array(
            [TISSUES[int(i)] for i in rng.integers(0, len(TISSUES), len(plan))], dtype="<U13"
        )
        for i, quirk in enumerate(plan):
            mask, sem, inst, classes, image = _make_patch(rng, size, quirk)
            images[i], masks[i] = image, mask
            sid = f"fold{fold}_{i:05d}"
            samples[sid] = SynthTruth(
                sample_id=sid,
                split=f"fold{fold}",
                semantic=sem,
                instance=inst,
                instance_classes=classes,
                image_shape=size,
                meta={"tissue": str(types[i]), "fold": fold, "index": i, "quirk": quirk},
            )
            if quirk is not None:
                quirks.setdefault(quirk, []).append(str(masks_p))
        for p in (images_p, masks_p):
            p.parent.mkdir(parents=True, exist_ok=True)
        np.save(images_p, images)
        np.save(types_p, types)
        np.save(masks_p, masks)
        (fold_dir / "README.md").write_text(_FOLD_README, encoding="utf-8")
        (fold_dir / "masks" / "README.md").write_text(_MASKS_README, encoding="utf-8")
        (fold_dir / "masks" / "by-nc-sa.md").write_text(_LICENSE, encoding="utf-8")
    return SynthResult(dataset="pannuke", root=root, samples=samples, quirks=quirks)
