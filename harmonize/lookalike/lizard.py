"""Lizard look-alike: ``Lizard_Images{1,2}/*.png``, ``Lizard_Labels/Labels/*.mat`` and ``info.csv``.

The format and its reader: :mod:`harmonize.datasets.lizard`.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from harmonize.datasets.base import SynthResult, SynthTruth
from harmonize.datasets.lizard import IMAGE_DIRS, LABEL_DIR
from harmonize.lookalike._draw import he_image, random_ellipses, write_mat, write_rgb

__all__ = ["synthesize"]


_SOURCES = ("consep", "glas", "crag", "pannuke", "dpath")


def synthesize(
    out: str | Path,
    *,
    n: int = 3,
    seed: int = 0,
    size: tuple[int, int] | int = (64, 80),
    edge_cases: bool = False,
) -> SynthResult:
    """Write a Lizard look-alike under ``out`` (§5.1, §9).

    Parameters
    ----------
    out : path-like
        Root folder to create.
    n : int
        Number of images, named ``<source>_<k>``; the first half in ``Lizard_Images1``, the rest in
        ``Lizard_Images2``; splits 1, 2, 3 in turn. Instance ids are non-contiguous and the ``id``
        records are written in a shuffled order (class looked up by position).
    seed : int
        Output bytes are identical for a seed (``.mat`` header time fixed).
    size : (H, W) or int
        Typical image size; each image varies around it.
    edge_cases : bool
        Also write: an image with no nuclei (``id``/``class`` of shape (0, 1)), an image with a
        single nucleus (``np.squeeze(id)`` is then a scalar), and a record whose id has no pixel.

    Returns
    -------
    SynthResult
    """
    root = Path(out)
    root.mkdir(parents=True, exist_ok=True)
    hw = (size, size) if isinstance(size, int) else (int(size[0]), int(size[1]))
    rng = np.random.default_rng(seed)
    plan: list[tuple[str, str]] = [(_SOURCES[i % len(_SOURCES)], "plain") for i in range(n)]
    if edge_cases:
        plan += [("glas", "empty"), ("crag", "single"), ("dpath", "orphan_record")]
    counters: dict[str, int] = {}
    rows: list[str] = ["Filename,Source,Split"]
    samples: dict[str, SynthTruth] = {}
    quirks: dict[str, list[str]] = {}
    half = (len(plan) + 1) // 2
    for i, (source, kind) in enumerate(plan):
        counters[source] = counters.get(source, 0) + 1
        stem = f"{source}_{counters[source]}"
        split_no = i % 3 + 1
        shape = (
            int(hw[0] + rng.integers(-hw[0] // 4, hw[0] // 4 + 1)),
            int(hw[1] + rng.integers(-hw[1] // 4, hw[1] // 4 + 1)),
        )
        count = {"empty": 0, "single": 1}.get(kind, int(rng.integers(3, 8)))
        ellipses = random_ellipses(rng, shape, count, (2.5, 6.0), overlap=False)
        # non-contiguous instance values, recorded in a shuffled order
        values = np.sort(rng.choice(np.arange(1, 4 * len(ellipses) + 2), len(ellipses), False))
        inst = np.zeros(shape, np.int32)
        for e, v in zip(ellipses, values, strict=True):
            inst[e.mask(shape)] = v
        values = np.array([v for v in values if np.any(inst == v)], dtype=np.int32)
        cls = rng.integers(1, 7, size=len(values)).astype(np.int32)
        truth_classes = {int(v): int(c) for v, c in zip(values, cls, strict=True)}
        rec_ids, rec_cls = values.copy(), cls.copy()
        if kind == "orphan_record":  # a record whose id has no pixel (tolerated)
            rec_ids = np.append(rec_ids, int(values.max(initial=0)) + 7).astype(np.int32)
            rec_cls = np.append(rec_cls, 4).astype(np.int32)
        perm = rng.permutation(len(rec_ids))
        rec_ids, rec_cls = rec_ids[perm], rec_cls[perm]
        sem = np.zeros(shape, np.uint8)
        for v, c in truth_classes.items():
            sem[inst == v] = c
        img_dir = IMAGE_DIRS[0] if i < half else IMAGE_DIRS[1]
        write_rgb(root / img_dir / f"{stem}.png", he_image(rng, inst))
        mat_path = root / LABEL_DIR / "Labels" / f"{stem}.mat"
        write_mat(mat_path, _mat_dict(inst, rec_ids, rec_cls))
        rows.append(f"{stem},{source},{split_no}")
        sid = stem
        samples[sid] = SynthTruth(
            sample_id=sid,
            split=f"fold{split_no}",
            semantic=sem,
            instance=inst,
            instance_classes=truth_classes,
            image_shape=shape,
            meta={"source": source},
        )
        quirks.setdefault("shuffled_ids", []).append(str(mat_path))
        if kind != "plain":
            quirks.setdefault(kind, []).append(str(mat_path))
    info = root / LABEL_DIR / "info.csv"
    info.parent.mkdir(parents=True, exist_ok=True)
    info.write_text("\n".join(rows) + "\n", encoding="utf-8")
    return SynthResult(dataset="lizard", root=root, samples=samples, quirks=quirks)


def _mat_dict(inst: np.ndarray, ids: np.ndarray, classes: np.ndarray) -> dict[str, np.ndarray]:
    """The ``read_label.py`` keys: ``inst_map``, ``id``, ``class``, ``bbox`` (y1, y2, x1, x2),
    ``centroid`` (x, y), records in the order of ``ids``."""
    bbox = np.zeros((len(ids), 4), np.int32)
    cent = np.zeros((len(ids), 2), np.float64)
    for j, v in enumerate(ids):
        rr, cc = np.nonzero(inst == v)
        if len(rr):
            bbox[j] = (rr.min(), rr.max() + 1, cc.min(), cc.max() + 1)
            cent[j] = (cc.mean(), rr.mean())
    return {
        "inst_map": inst.astype(np.int32),
        "id": ids.reshape(-1, 1).astype(np.int32),
        "class": classes.reshape(-1, 1).astype(np.int32),
        "bbox": bbox,
        "centroid": cent,
    }
