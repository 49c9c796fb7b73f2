"""MoNuSeg 2018 (official release): ``.tif`` tissue images with Aperio ImageScope XML polygons.

Layout (reference: ``nuclei_datasets.md`` §4.1, [S])::

    MoNuSeg 2018 Training Data/            (the zip may unpack to a doubled folder: tolerated)
    ├── Tissue Images/  TCGA-xx-xxxx-01Z-00-DX1.tif    (1000x1000 RGB, 40x)
    └── Annotations/    TCGA-xx-xxxx-01Z-00-DX1.xml
    MoNuSegTestData/                       (images and XMLs in the same folder)
    ├── TCGA-2Z-A9J9-01A-01-TS1.tif
    └── TCGA-2Z-A9J9-01A-01-TS1.xml

Splits: ``train`` (30 classic + 7 extra images in the current zip), ``test`` (14). Sample id = file
stem (a TCGA slide id; unique across the release).

Classes: none. Every ``Region`` of the (single) ``Annotation`` is one nucleus; its ``Attribute`` is a
generic description, ignored. Native values: semantic 0 background, 1 nucleus (``instance > 0``).

Overlapping polygons exist in the release (stardist issue #140), so the painting order matters.
The reader option ``overlap`` picks it:

``"area"`` (default)
    HoVer-Net's converter (``tensorflow-final:src/misc/proc_kumar_ann.py``): regions sorted by
    area **ascending** (stable: ties keep file order) and painted in that order, so **larger nuclei
    end up on top**; instance ids are the paint rank ``1..N``. This is the order of HoVer-Net's Kumar
    ``.mat`` files, which hold the same images. Two documented deviations: the area is the true
    pixel count of the clipped polygon (HoVer-Net sums a mask filled with ``idx + 1``, which weights
    the area by the file index), and polygons are filled with ``skimage.draw.polygon(Y, X)`` on
    the float vertices like every other Aperio reader here (HoVer-Net fills ``cv2.drawContours`` of
    ``int32(vertices + 0.5)``, contour included), so boundary pixels can differ by one pixel.
``"file"``
    CellViT's ``prepare_monuseg.py``: file order, later regions on top; ids ``1..N`` in file order.

Regions fully covered by later ones disappear from the instance map (their id has no pixel);
``RawSample.instance_ids`` lists only ids with pixels. Polygons are clipped to the image.
"""

from __future__ import annotations

import functools
from collections.abc import Iterator
from pathlib import Path
from typing import Any, Literal

import numpy as np

from harmonize.datasets import register
from harmonize.datasets._aperio import parse_aperio_xml, region_pixels
from harmonize.datasets._hovernet import natural_key
from harmonize.datasets._io import read_image_rgb, read_image_size
from harmonize.datasets.base import Reader
from harmonize.errors import ConfigError, MissingFileError
from harmonize.types import RawSample, SampleRef

__all__ = ["MoNuSegReader", "paint_order", "rasterize"]

TRAIN_DIR = "MoNuSeg 2018 Training Data"
TEST_DIR = "MoNuSegTestData"
Overlap = Literal["area", "file"]


def paint_order(areas: list[int], overlap: Overlap) -> list[int]:
    """Indices of regions in the order they are painted (the last one ends up on top).

    ``"area"``: ascending area, stable (HoVer-Net, larger on top); ``"file"``: file order.
    """
    if overlap == "file":
        return list(range(len(areas)))
    return sorted(range(len(areas)), key=lambda i: areas[i])


def rasterize(
    path: str | Path,
    shape: tuple[int, int],
    overlap: Overlap = "area",
    *,
    strict: bool = True,
    warnings: list[dict] | None = None,
) -> np.ndarray:
    """Paint every region of a MoNuSeg XML into an instance map.

    Parameters
    ----------
    path : path-like
        The ``.xml`` annotation.
    shape : (H, W)
        Image size (from the TIFF).
    overlap : {"area", "file"}
        Paint order, see the module docstring.
    strict, warnings
        Degenerate, outside and clipped regions: see :func:`~harmonize.datasets._aperio.
        region_pixels` (``strict`` raises, else ``warnings`` is appended to).

    Returns
    -------
    ndarray, shape (H, W), int32
        0 = background, ``k`` = the region painted ``k``-th.
    """
    doc = parse_aperio_xml(path)
    sink: list[dict] = [] if warnings is None else warnings
    pixels = [
        region_pixels(r, shape, doc.path, strict=strict, warnings=sink) for r in doc.regions()
    ]
    inst = np.zeros(shape, np.int32)
    for rank, i in enumerate(paint_order([len(rr) for rr, _ in pixels], overlap), start=1):
        rr, cc = pixels[i]
        inst[rr, cc] = rank
    return inst


def _unnest(d: Path) -> Path:
    """``X/X`` -> ``X/X`` (the zip's doubled folder), else ``X``."""
    return d / d.name if (d / d.name).is_dir() else d


class MoNuSegReader(Reader):
    """Reader of the MoNuSeg 2018 release.

    Options
    -------
    overlap : {"area", "file"}, default "area"
        Order in which overlapping polygons are painted (module docstring).
    """

    name = "monuseg"
    split_names = ("train", "test")
    layout_hint = (
        "expected 'MoNuSeg 2018 Training Data'/{'Tissue Images'/*.tif, Annotations/*.xml} "
        "and/or MoNuSegTestData/*.{tif,xml}"
    )

    def check_options(self, options: dict[str, Any]) -> dict[str, Any]:
        extra = sorted(set(options) - {"overlap"})
        if extra:
            raise TypeError(f"monuseg reader takes only the option 'overlap', got {extra}")
        overlap = options.get("overlap", "area")
        if overlap not in ("area", "file"):
            raise ConfigError(f"monuseg option overlap must be 'area' or 'file', not {overlap!r}")
        return {"overlap": overlap}

    def split_dirs(self, split: str) -> tuple[Path, Path] | None:
        """``(image folder, annotation folder)`` of ``split``, or None when absent."""
        if split == "train":
            base = self.root / TRAIN_DIR
            if not base.is_dir():
                return None
            base = _unnest(base)
            return base / "Tissue Images", base / "Annotations"
        base = self.root / TEST_DIR
        if not base.is_dir():
            return None
        base = _unnest(base)
        return base, base

    def _list(self) -> Iterator[SampleRef]:
        for split in self.split_names:
            if self.splits is not None and split not in self.splits:
                continue
            dirs = self.split_dirs(split)
            if dirs is None:
                continue
            img_dir, ann_dir = dirs
            tifs = {p.stem: p for p in _files(img_dir, (".tif", ".tiff"))}
            xmls = {p.stem: p for p in _files(ann_dir, (".xml",))}
            for stem in sorted(set(tifs) | set(xmls), key=natural_key):
                tif = tifs.get(stem, img_dir / f"{stem}.tif")
                xml = xmls.get(stem, ann_dir / f"{stem}.xml")
                yield SampleRef(
                    dataset=self.name,
                    sample_id=stem,
                    split=split,
                    paths=tuple(str(p) for p in (tif, xml) if p.exists()),
                    key=(str(tif), str(xml)),
                    meta={"magnification": "40x", "mpp": 0.25},
                )

    def read(self, ref: SampleRef) -> RawSample:
        tif, xml = Path(ref.key[0]), Path(ref.key[1])
        if not tif.is_file():
            raise MissingFileError(
                "tissue image of this annotation not found (its header gives the label map's "
                "size, so it is needed even when the run writes no images)",
                path=tif,
            )
        if not xml.is_file():
            raise MissingFileError("annotation XML of this tissue image not found", path=xml)
        shape = read_image_size(tif)
        warnings: list[dict] = []
        inst = rasterize(
            xml,
            shape,
            self.options["overlap"],
            strict=self.on_error == "raise",
            warnings=warnings,
        )
        ids = np.unique(inst)
        ids = ids[ids != 0].astype(np.int32)
        return RawSample(
            ref=ref,
            semantic=(inst > 0).astype(np.uint8),
            instance=inst,
            instance_ids=ids,
            instance_classes=np.ones(len(ids), np.int32),
            meta={**ref.meta, "overlap": self.options["overlap"]},
            load_image=functools.partial(read_image_rgb, str(tif)) if self.images else None,
            warnings=tuple(warnings),
        )


def _files(folder: Path, suffixes: tuple[str, ...]) -> list[Path]:
    if not folder.is_dir():
        return []
    return [p for p in folder.iterdir() if p.is_file() and p.suffix.lower() in suffixes]


register(
    "monuseg",
    reader=MoNuSegReader,
    synthesize="harmonize.lookalike.monuseg:synthesize",
    description="MoNuSeg 2018 official release: .tif + Aperio XML polygons, class-less, 40x",
)
