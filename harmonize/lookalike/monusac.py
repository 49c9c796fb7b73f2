"""MoNuSAC look-alike: per-patient ``.svs`` / ``.tif`` sub-images with Aperio ImageScope XML.

The format and its reader: :mod:`harmonize.datasets.monusac`.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from harmonize.datasets.base import SynthResult, SynthTruth
from harmonize.datasets.monusac import SPLIT_DIRS
from harmonize.lookalike._aperio import round_vertices, write_aperio_svs, write_aperio_xml
from harmonize.lookalike._draw import Ellipse, he_image, random_ellipses, write_rgb

__all__ = ["synthesize"]

#: Slides used by the generator (real TCGA case ids of each split, -01Z-00-DX1 as in §3.1).
_SYNTH_SLIDES = {
    "train": ["TCGA-5P-A9K0", "TCGA-55-1594", "TCGA-A2-A0CV", "TCGA-EJ-5505"],
    "test": ["TCGA-2Z-A9JG", "TCGA-G9-6356", "TCGA-49-6743", "TCGA-A2-A04X"],
}
_SYNTH_ORGANS = {
    "TCGA-5P-A9K0": "kidney",
    "TCGA-55-1594": "lung",
    "TCGA-A2-A0CV": "breast",
    "TCGA-EJ-5505": "prostate",
    "TCGA-2Z-A9JG": "kidney",
    "TCGA-G9-6356": "prostate",
    "TCGA-49-6743": "lung",
    "TCGA-A2-A04X": "breast",
    "TCGA-EJ-5495": "prostate",
}
_UUID = "0db6207b-4c3e-4f8a-9d2e-7a1b5c6d8e9f"
_NUCLEUS_CLASSES = ("Epithelial", "Lymphocyte", "Neutrophil", "Macrophage")


def _sub_name(slide: str, k: int) -> str:
    """Sub-image stem in the three spellings that occur: ``_1``, ``-2``, ``_003``."""
    style = (k - 1) % 3
    if style == 0:
        return f"{slide}_{k}"
    if style == 1:
        return f"{slide}-{k}"
    return f"{slide}_{k:03d}"


def _paint_truth(
    annotations: list[tuple[str, list[np.ndarray]]], shape: tuple[int, int]
) -> tuple[np.ndarray, np.ndarray, dict[int, int]]:
    from skimage.draw import polygon

    names = {"Epithelial": 1, "Lymphocyte": 2, "Neutrophil": 3, "Macrophage": 4, "Ambiguous": 5}
    sem = np.zeros(shape, np.uint8)
    inst = np.zeros(shape, np.int32)
    classes: dict[int, int] = {}
    k = 0
    for name, polys in annotations:
        for poly in polys:
            k += 1
            rr, cc = polygon(poly[:, 1], poly[:, 0], shape=shape)
            sem[rr, cc] = names[name]
            inst[rr, cc] = 0 if name == "Ambiguous" else k
            if name != "Ambiguous":
                classes[k] = names[name]
    left = set(np.unique(inst).tolist()) - {0}
    return sem, inst, {i: c for i, c in classes.items() if i in left}


def _group(ellipses: list[Ellipse], labels: list[str]) -> list[tuple[str, list[np.ndarray]]]:
    """One annotation per class present, in the canonical class order, regions in draw order."""
    out: list[tuple[str, list[np.ndarray]]] = []
    for name in (*_NUCLEUS_CLASSES, "Ambiguous"):
        polys = [
            round_vertices(e.polygon(14))
            for e, lab in zip(ellipses, labels, strict=True)
            if lab == name
        ]
        if polys:
            out.append((name, polys))
    return out


def synthesize(
    out: str | Path,
    *,
    n: int = 3,
    seed: int = 0,
    size: tuple[int, int] | int = (64, 80),
    edge_cases: bool = False,
) -> SynthResult:
    """Write a MoNuSAC look-alike under ``out`` (layout of :mod:`harmonize.datasets.monusac`, §3.1, §3.2, §9).

    Parameters
    ----------
    out : path-like
        Root folder to create.
    n : int
        Number of regular sub-images; about a third (at least one when ``n >= 2``) go to the test
        split, which carries an ``Ambiguous`` annotation. Up to three sub-images per patient,
        named ``<slide>_1``, ``<slide>-2``, ``<slide>_003``.
    seed : int
        Output bytes are identical for a seed.
    size : (H, W) or int
        Typical sub-image size in pixels; each sub-image varies around it (ragged sizes).
    edge_cases : bool
        Also write: a patient folder with a ``.<uuid>`` suffix holding overlapping regions of
        different classes, a polygon extending past the border and a tiny crop with one nucleus;
        a test sub-image whose Ambiguous region overlaps a nucleus; and a test sub-image whose
        ``.tif`` is missing (only its ``.svs`` and XML ship, as for some real test sub-images).

    Every sub-image is written as ``<sub>.tif`` (RGB; the first one RGBA) and as ``<sub>.svs``
    (Aperio SVS: tiled JPEG level 0 plus a thumbnail, :func:`~harmonize.lookalike._aperio.
    write_aperio_svs`), next to ``<sub>.xml``, as the release ships them.

    Returns
    -------
    SynthResult
        Root, per-sample truth (semantic with Ambiguous = 5, instance map with the notebook's
        counter ids) and the quirk files.
    """
    root = Path(out)
    root.mkdir(parents=True, exist_ok=True)
    hw = (size, size) if isinstance(size, int) else (int(size[0]), int(size[1]))
    rng = np.random.default_rng(seed)
    n_test = max(1, n // 3) if n >= 2 else 0
    plan: list[dict[str, Any]] = []
    for split, count in (("train", n - n_test), ("test", n_test)):
        for i in range(count):
            slide = _SYNTH_SLIDES[split][(i // 3) % len(_SYNTH_SLIDES[split])] + "-01Z-00-DX1"
            plan.append({"split": split, "slide": slide, "folder": slide, "k": i % 3 + 1})
    if edge_cases:
        slide = "TCGA-EJ-5495-01Z-00-DX1"
        for k, kind in enumerate(("overlap", "border", "tiny"), start=1):
            plan.append(
                {
                    "split": "train",
                    "slide": slide,
                    "folder": f"{slide}.{_UUID}",
                    "k": k,
                    "kind": kind,
                }
            )
        plan.append(
            {
                "split": "test",
                "slide": "TCGA-A2-A04X-01Z-00-DX1",
                "folder": "TCGA-A2-A04X-01Z-00-DX1",
                "k": 1,
                "kind": "ambiguous_overlap",
            }
        )
        # a test sub-image whose TIFF the release lacks: only its .svs (and XML) ship
        plan.append(
            {
                "split": "test",
                "slide": "TCGA-G9-6356-01Z-00-DX1",
                "folder": "TCGA-G9-6356-01Z-00-DX1",
                "k": 3,
                "kind": "missing_tif",
            }
        )
    samples: dict[str, SynthTruth] = {}
    quirks: dict[str, list[str]] = {}
    split_dirs = {"train": SPLIT_DIRS["train"][0], "test": SPLIT_DIRS["test"][0]}
    for idx, item in enumerate(plan):
        split, slide, k = item["split"], item["slide"], item["k"]
        kind = item.get("kind", "plain")
        folder = root / split_dirs[split] / item["folder"]
        stem = _sub_name(slide, k)
        if kind == "tiny":
            shape = (18, 22)
        else:
            shape = (
                int(hw[0] + rng.integers(-hw[0] // 4, hw[0] // 4 + 1)),
                int(hw[1] + rng.integers(-hw[1] // 4, hw[1] // 4 + 1)),
            )
        ellipses, labels = _draw(rng, shape, split, kind)
        annotations = _group(ellipses, labels)
        sem, inst, classes = _paint_truth(annotations, shape)
        rgba = idx == 0
        img = he_image(rng, sem)
        write_aperio_svs(folder / f"{stem}.svs", img)  # every sub-image ships as SVS too
        if kind != "missing_tif":
            write_rgb(folder / f"{stem}.tif", img, alpha=rgba)
        write_aperio_xml(folder / f"{stem}.xml", annotations)
        sid = f"{split}_{slide}_{k}"
        pid = slide[:12]
        meta = {"patient": pid, "organ": _SYNTH_ORGANS[pid], "stem": stem}
        samples[sid] = SynthTruth(
            sample_id=sid,
            split=split,
            semantic=sem,
            instance=inst,
            instance_classes=classes,
            image_shape=shape,
            meta=meta,
        )
        xml_path = str(folder / f"{stem}.xml")
        if rgba:
            quirks.setdefault("rgba_tiff", []).append(str(folder / f"{stem}.tif"))
        if "-" + str(k) == stem[len(slide) :]:
            quirks.setdefault("hyphen_name", []).append(xml_path)
        if stem.endswith(f"_{k:03d}"):
            quirks.setdefault("zero_padded_name", []).append(xml_path)
        if item["folder"] != slide:
            quirks.setdefault("uuid_patient_folder", []).append(xml_path)
        if "Ambiguous" in labels:
            quirks.setdefault("ambiguous", []).append(xml_path)
        if kind != "plain":
            quirks.setdefault(kind, []).append(xml_path)
    return SynthResult(dataset="monusac", root=root, samples=samples, quirks=quirks)


def _draw(
    rng: np.random.Generator, shape: tuple[int, int], split: str, kind: str
) -> tuple[list[Ellipse], list[str]]:
    """Nuclei (and Ambiguous regions) of one sub-image, in draw order, with their class names."""
    h, w = shape
    if kind == "tiny":
        e = Ellipse(h / 2, w / 2, 5.0, 6.0, float(rng.uniform(0, np.pi)))
        return [e], [str(rng.choice(_NUCLEUS_CLASSES))]
    count = int(rng.integers(3, 7))
    ellipses = random_ellipses(rng, shape, count, (4.0, 8.0), overlap=False)
    labels = [str(rng.choice(_NUCLEUS_CLASSES)) for _ in ellipses]
    if kind == "overlap":
        # a second nucleus of another class centred inside the first, a third one half over it:
        # classes differ so the overwrite order is visible in both maps
        first = ellipses[0]
        ellipses += [
            Ellipse(first.row + 2.0, first.col + 3.0, 4.0, 5.0, 0.3),
            Ellipse(first.row - 3.0, first.col - 4.0, 6.0, 4.0, 1.1),
        ]
        others = [c for c in _NUCLEUS_CLASSES if c != labels[0]]
        labels += [others[0], others[1]]
    if kind == "border":
        ellipses += [
            Ellipse(2.0, w - 3.0, 7.0, 6.0, 0.4),  # past the top and right edges
            Ellipse(h - 1.0, 3.0, 5.0, 8.0, 1.0),  # past the bottom and left edges
        ]
        labels += ["Lymphocyte", "Epithelial"]
    if split == "test":
        if kind == "ambiguous_overlap":
            target = ellipses[0]
            amb = Ellipse(target.row + 3.0, target.col + 3.0, 6.0, 6.0, 0.0)
        else:
            amb = random_ellipses(rng, shape, 1, (5.0, 9.0))[0]
            # keep Ambiguous apart from nuclei in the plain set: retry a few places
            for _ in range(20):
                if not any(
                    (amb.row - e.row) ** 2 + (amb.col - e.col) ** 2
                    < (amb.r_row + e.r_row + 10) ** 2
                    for e in ellipses
                ):
                    break
                amb = random_ellipses(rng, shape, 1, (5.0, 9.0))[0]
        ellipses.append(amb)
        labels.append("Ambiguous")
    return ellipses, labels
