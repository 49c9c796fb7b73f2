"""PASCAL VOC 2012 (+ SBD) look-alike: ``VOCdevkit/VOC2012`` and ``benchmark_RELEASE``.

The format and its reader: :mod:`harmonize.datasets.pascal_voc`.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from harmonize.datasets import _io
from harmonize.datasets.base import SynthResult, SynthTruth
from harmonize.datasets.pascal_voc import N_CLASSES, VOC_CLASSES, VOID, voc_colormap
from harmonize.lookalike._draw import scene_image, write_mat, write_rgb

__all__ = ["synthesize"]

#: Plausible RGB per class for the synthetic photos (not the palette; indexed by class 0..20).
_PHOTO_COLOURS = np.clip(voc_colormap(N_CLASSES).astype(np.int64) * 3 // 5 + 70, 0, 255).astype(
    np.uint8
)


def _random_object(rng: np.random.Generator, shape: tuple[int, int]) -> np.ndarray:
    """A random convex polygon or ellipse mask of plausible object size."""
    from skimage.draw import ellipse, polygon

    h, w = shape
    r = rng.uniform(0.12, 0.3) * min(h, w)
    cy, cx = rng.uniform(r * 0.6, h - r * 0.6), rng.uniform(r * 0.6, w - r * 0.6)
    m = np.zeros(shape, bool)
    if rng.random() < 0.5:
        k = int(rng.integers(3, 8))
        ang = np.sort(rng.uniform(0, 2 * np.pi, k))
        rad = r * rng.uniform(0.6, 1.0, k)
        rr, cc = polygon(cy + rad * np.sin(ang), cx + rad * np.cos(ang), shape=shape)
    else:
        rr, cc = ellipse(
            cy, cx, r, r * rng.uniform(0.5, 1.2), shape=shape, rotation=rng.uniform(0, 3)
        )
    m[rr, cc] = True
    return m


def _compose(
    shape: tuple[int, int],
    objects: list[tuple[np.ndarray, int, int]],
    *,
    void_band: bool,
) -> tuple[np.ndarray, np.ndarray, dict[int, int]]:
    """Paint ``(mask, class, group)`` objects in order (later on top) and add VOC's void band.

    The band (about 3 px, straddling the edge) surrounds each *group* of objects: objects of one
    group touch without void between them (same-class neighbours). Returns the class map and the
    object map as files hold them (255 on the band) and the class of each object id 1..N; objects
    left without pixels are dropped and ids renumbered 1..N in paint order.
    """
    from scipy import ndimage

    sem = np.zeros(shape, np.uint8)
    obj = np.zeros(shape, np.int64)
    for k, (mask, cls, _) in enumerate(objects, start=1):
        sem[mask] = cls
        obj[mask] = k
    if void_band and objects:
        band = np.zeros(shape, bool)
        for g in sorted({grp for _, _, grp in objects}):
            members = [k for k, (_, _, grp) in enumerate(objects, start=1) if grp == g]
            union = np.isin(obj, members)
            if union.any():
                outer = ndimage.binary_dilation(union, iterations=2)
                inner = ndimage.binary_erosion(union, iterations=1)
                band |= outer & ~inner
        sem[band] = VOID
        obj[band] = VOID
    out = np.zeros(shape, np.uint8)
    classes: dict[int, int] = {}
    new = 0
    for k, (_, cls, _) in enumerate(objects, start=1):
        here = obj == k
        if here.any():
            new += 1
            out[here] = new
            classes[new] = cls
    out[obj == VOID] = VOID
    return sem, out, classes


def _voc_xml(vid: str, shape: tuple[int, int], obj: np.ndarray, classes: dict[int, int]) -> str:
    """A minimal ``Annotations/{id}.xml`` with objects in instance order (§6; [U] order rule)."""
    h, w = shape
    parts = [
        "<annotation>",
        "\t<folder>VOC2012</folder>",
        f"\t<filename>{vid}.jpg</filename>",
        f"\t<size><width>{w}</width><height>{h}</height><depth>3</depth></size>",
        "\t<segmented>1</segmented>",
    ]
    for k, cls in classes.items():
        rr, cc = np.nonzero(obj == k)
        parts += [
            "\t<object>",
            f"\t\t<name>{VOC_CLASSES[cls]}</name>",
            "\t\t<difficult>0</difficult>",
            f"\t\t<bndbox><xmin>{cc.min() + 1}</xmin><ymin>{rr.min() + 1}</ymin>"
            f"<xmax>{cc.max() + 1}</xmax><ymax>{rr.max() + 1}</ymax></bndbox>",
            "\t</object>",
        ]
    parts.append("</annotation>")
    return "\n".join(parts) + "\n"


def _rect(shape: tuple[int, int], r0: int, r1: int, c0: int, c1: int) -> np.ndarray:
    m = np.zeros(shape, bool)
    m[r0:r1, c0:c1] = True
    return m


def _edge_scenes(shape: tuple[int, int]) -> dict[str, list[tuple[np.ndarray, int, int]]]:
    """VOC quirks: a background-only image, touching same-class objects (no void between them),
    and an object whose pixels are all void except one."""
    h, w = shape
    return {
        "background_only": [],
        "touching_same_class": [
            (_rect(shape, h // 4, 3 * h // 4, w // 8, w // 2), 15, 0),
            (_rect(shape, h // 4, 3 * h // 4, w // 2, 7 * w // 8), 15, 0),
        ],
        "almost_all_void_object": [
            (_rect(shape, h // 6, h // 2, w // 6, w // 2), 12, 0),
            (_rect(shape, 3 * h // 4 - 1, 3 * h // 4 + 2, 3 * w // 4 - 1, 3 * w // 4 + 2), 5, 1),
        ],
    }


def _write_sbd_mats(
    dataset: Path, sid: str, sem: np.ndarray, obj: np.ndarray, cats: list[int]
) -> None:
    from scipy import ndimage, sparse

    def edge(m: np.ndarray) -> sparse.csc_matrix:
        return sparse.csc_matrix(m & ~ndimage.binary_erosion(m))

    bounds = np.empty((20, 1), dtype=object)
    for c in range(1, N_CLASSES):
        bounds[c - 1, 0] = edge(sem == c)
    present = np.array(sorted(set(np.unique(sem).tolist()) - {0}), np.uint8).reshape(-1, 1)
    write_mat(
        dataset / "cls" / f"{sid}.mat",
        {"GTcls": {"Segmentation": sem, "Boundaries": bounds, "CategoriesPresent": present}},
    )
    ibounds = np.empty((len(cats), 1), dtype=object)
    for k in range(len(cats)):
        ibounds[k, 0] = edge(obj == k + 1)
    write_mat(
        dataset / "inst" / f"{sid}.mat",
        {
            "GTinst": {
                "Segmentation": obj,
                "Boundaries": ibounds,
                "Categories": np.array(cats, np.uint8).reshape(-1, 1),
            }
        },
    )


def synthesize(
    out: str | Path,
    *,
    n: int = 3,
    seed: int = 0,
    size: tuple[int, int] = (96, 128),
    edge_cases: bool = False,
    sbd: bool = True,
) -> SynthResult:
    """Write a miniature PASCAL VOC 2012 (+ SBD) look-alike under ``out``.

    Parameters
    ----------
    out : path-like
        Folder to write ``VOCdevkit/VOC2012`` (and ``benchmark_RELEASE/dataset``) into; the reader's
        root.
    n : int
        VOC images (alternately train and val), and as many SBD images.
    seed : int
        Random seed; the bytes written depend only on the arguments.
    size : (H, W)
        Image size in pixels.
    edge_cases : bool
        Add VOC quirks (a background-only image, touching same-class objects, an object that is void
        but for one pixel) and SBD ones (an image with no instances, an SBD image also listed in VOC
        val, which the reader leaves out by default).
    sbd : bool
        Also write the SBD set.

    Returns
    -------
    SynthResult
        Truth in native ids: semantic with 255 on the void band, instance map with 0 there.
    """
    rng = np.random.default_rng(seed)
    shape = (int(size[0]), int(size[1]))
    root = Path(out)
    voc = root / "VOCdevkit" / "VOC2012"
    palette = voc_colormap(256)
    samples: dict[str, SynthTruth] = {}
    quirks: dict[str, list[str]] = {}
    lists: dict[str, list[str]] = {"train": [], "val": []}

    scenes: list[tuple[str, list[tuple[np.ndarray, int, int]]]] = []
    for _ in range(n):
        k = int(rng.integers(1, 5))
        objs = [(_random_object(rng, shape), int(rng.integers(1, N_CLASSES)), j) for j in range(k)]
        scenes.append(("", objs))
    if edge_cases:
        scenes += list(_edge_scenes(shape).items())

    for i, (quirk, objs) in enumerate(scenes):
        vid = f"{2007 + i % 6}_{1000 + 37 * i + int(seed) % 1000:06d}"
        split = "train" if i % 2 == 0 else "val"
        sem, obj, classes = _compose(shape, objs, void_band=True)
        base = np.zeros(shape, np.uint8)
        for m, cls, _ in objs:
            base[m] = cls
        write_rgb(voc / "JPEGImages" / f"{vid}.jpg", scene_image(rng, base, _PHOTO_COLOURS))
        _io.write_png(voc / "SegmentationClass" / f"{vid}.png", sem, palette=palette)
        _io.write_png(voc / "SegmentationObject" / f"{vid}.png", obj, palette=palette)
        xml = voc / "Annotations" / f"{vid}.xml"
        xml.parent.mkdir(parents=True, exist_ok=True)
        xml.write_text(_voc_xml(vid, shape, obj, classes), encoding="utf-8")
        lists[split].append(vid)
        samples[vid] = SynthTruth(
            sample_id=vid,
            split=split,
            semantic=sem,
            instance=np.where(obj == VOID, 0, obj).astype(np.uint8),
            instance_classes=classes,
            image_shape=shape,
            meta={"source": "voc2012"},
        )
        if quirk:
            quirks.setdefault(quirk, []).append(str(voc / "SegmentationObject" / f"{vid}.png"))
    sets = voc / "ImageSets" / "Segmentation"
    sets.mkdir(parents=True, exist_ok=True)
    for split, ids in lists.items():
        (sets / f"{split}.txt").write_text("".join(f"{x}\n" for x in sorted(ids)))
    (sets / "trainval.txt").write_text(
        "".join(f"{x}\n" for x in sorted(lists["train"] + lists["val"]))
    )

    if sbd:
        _synth_sbd(root, rng, shape, n, edge_cases, lists, samples, quirks)
    return SynthResult("pascal_voc", root, samples, {}, quirks)


def _synth_sbd(
    root: Path,
    rng: np.random.Generator,
    shape: tuple[int, int],
    n: int,
    edge_cases: bool,
    voc_lists: dict[str, list[str]],
    samples: dict[str, SynthTruth],
    quirks: dict[str, list[str]],
) -> None:
    dataset = root / "benchmark_RELEASE" / "dataset"
    scenes: list[tuple[str, str, list[tuple[np.ndarray, int, int]]]] = []
    for i in range(n):
        k = int(rng.integers(1, 5))
        objs = [(_random_object(rng, shape), int(rng.integers(1, N_CLASSES)), j) for j in range(k)]
        scenes.append((f"2011_{3000 + 41 * i:06d}", "", objs))
    if edge_cases:
        scenes.append(("2011_009999", "sbd_no_instances", []))
        if voc_lists["val"]:  # SBD train overlaps VOC val (real quirk, §2.6)
            k = int(rng.integers(1, 4))
            objs = [(_random_object(rng, shape), int(rng.integers(1, 21)), j) for j in range(k)]
            scenes.append((voc_lists["val"][0], "sbd_overlaps_voc_val", objs))
    lists: dict[str, list[str]] = {"train": [], "val": []}
    for i, (sid, quirk, objs) in enumerate(scenes):
        split = "train" if (i % 2 == 0 or quirk == "sbd_overlaps_voc_val") else "val"
        sem, obj, classes = _compose(shape, objs, void_band=False)
        write_rgb(dataset / "img" / f"{sid}.jpg", scene_image(rng, sem, _PHOTO_COLOURS))
        cats = [classes[k] for k in sorted(classes)]
        _write_sbd_mats(dataset, sid, sem, obj, cats)
        lists[split].append(sid)
        if quirk:
            quirks.setdefault(quirk, []).append(str(dataset / "inst" / f"{sid}.mat"))
        if quirk == "sbd_overlaps_voc_val":
            continue  # left out by the reader's default sbd_exclude_voc=True
        samples[f"sbd_{sid}"] = SynthTruth(
            sample_id=f"sbd_{sid}",
            split=f"sbd_{split}",
            semantic=sem,
            instance=obj.copy(),
            instance_classes=classes,
            image_shape=shape,
            meta={"source": "sbd"},
        )
    for split, ids in lists.items():
        (dataset / f"{split}.txt").write_text("".join(f"{x}\n" for x in sorted(ids)))
