"""MoNuSAC 2020: per-patient folders of sub-images (``.svs`` + ``.tif``) with Aperio ImageScope XML.

The look-alike generator is :mod:`harmonize.lookalike.monusac`.

Layout (reference: ``nuclei_datasets.md`` §3.1)::

    MoNuSAC_images_and_annotations/                 train
    └── TCGA-5P-A9K0-01Z-00-DX1/                    one folder per patient (slide)
        ├── TCGA-5P-A9K0-01Z-00-DX1_1.svs           sub-image as Aperio SVS (read when no .tif)
        ├── TCGA-5P-A9K0-01Z-00-DX1_1.tif           the same sub-image as TIFF (RGB or RGBA)
        └── TCGA-5P-A9K0-01Z-00-DX1_1.xml           annotations (§3.2)
    MoNuSAC Testing Data and Annotations/           test (note the spaces)
    └── <patient>/ <sub>.svs <sub>.tif <sub>.xml

Splits: ``train``, ``test``.

Classes (native ids, §3.3; eva ``monusac.py`` and Foucart's ``LABELS_CHANNELS``): 0 background,
1 Epithelial, 2 Lymphocyte, 3 Neutrophil, 4 Macrophage, 5 Ambiguous. The class of a region is the
``Attributes/Attribute@Name`` of its ``Annotation`` (``Annotation@Name`` is always empty); names
are matched ignoring case and surrounding blanks [U: whether real files vary]; any other name is a
:class:`~harmonize.errors.ClassIdError` naming the file, line and name.

Semantic and instance maps
    Regions are painted in document order (annotations in file order, regions in file order);
    **where regions overlap, the later one overwrites** both maps, as the official n-ary notebook
    does within a class (ruchikaverma-iitg/MoNuSAC ``n-ary_mask_generation.ipynb``). Each region
    gets the notebook's per-image running counter as instance id (``gt``: 1, 2, ... across all
    classes, in document order). ``Ambiguous`` regions (test split only) are *ignore regions*, not
    nuclei: their pixels are 5 in the semantic map and 0 in the instance map, but they still
    consume a counter value, so instance ids match the notebook's and may have gaps.
    Polygons are rasterized with ``skimage.draw.polygon(Y, X, shape)`` and clipped to the image.
    ``RawSample.instance_ids`` / ``instance_classes`` list every instance with pixels left.

Images
    The reader decodes the ``.tif`` (alpha dropped: some are RGBA) and, when a sub-image has no TIFF
    -- some test TIFFs are missing from the release (torch-em ``_convert_missing_tif_from_svs``,
    [S]) -- its ``.svs``. An Aperio SVS is a TIFF whose first page is level 0, the full-resolution
    sub-image (tiled JPEG or JPEG 2000): tifffile reads that page and imagecodecs decodes its tiles,
    as torch-em's ``tiffslide`` route does; no OpenSlide is needed. ``meta["image_file"]`` says which
    (``"tif"`` or ``"svs"``). The label map's size is the image's, so the image header is read even
    by a reader opened with ``images=False`` (the XML holds no size). Do not regenerate TIFFs the way
    the official notebook does (``cv2.imwrite`` of an RGBA array swaps channels, §3.5).

Sample ids
    Sub-image names are inconsistent (``..._1``, ``...-1``, ``..._001``; a patient folder may carry
    a ``.<uuid>`` suffix, §3.5). The id is ``<split>_<slide>_<k>``: the stem with a trailing UUID
    removed, its ``_k`` / ``-k`` / ``_00k`` index parsed as an integer (e.g.
    ``train_TCGA-55-1594-01Z-00-DX1_1``). The split prefix keeps ids unique because a few patients
    appear in both splits (torch-em ``ORGAN_SPLITS``: TCGA-MP-A4T7, TCGA-A2-A0ES). Two files that
    canonicalise to one id (``X_1`` and ``X-1`` in one folder) are a
    :class:`~harmonize.errors.DuplicateSampleError` naming both, never silently merged. The raw
    stem is kept in ``meta["stem"]``.

Metadata: ``patient`` (TCGA case id), ``slide`` (folder name, UUID removed), ``organ`` (from
torch-em's ``ORGAN_SPLITS`` table of the organisers' description, [S]; omitted for unknown
patients), ``magnification`` ``"40x"``, ``mpp`` 0.25 (§0, §3.5).
"""

from __future__ import annotations

import functools
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np

from harmonize.datasets import register
from harmonize.datasets._aperio import (
    parse_aperio_xml,
    region_pixels,
)
from harmonize.datasets._hovernet import natural_key
from harmonize.datasets._io import read_image_rgb, read_image_size
from harmonize.datasets.base import Reader
from harmonize.errors import ClassIdError, MissingFileError, MissingKeyError
from harmonize.types import RawSample, SampleRef

__all__ = ["CLASS_IDS", "MoNuSACReader", "canonical_sub_image"]

#: Folder of each split under the dataset root (the test folder name has spaces).
SPLIT_DIRS: dict[str, tuple[str, ...]] = {
    "train": ("MoNuSAC_images_and_annotations",),
    # the underscore spelling is tolerated for copies that replaced the spaces [U]
    "test": ("MoNuSAC Testing Data and Annotations", "MoNuSAC_Testing_Data_and_Annotations"),
}

#: Native class id per ``Attribute@Name`` (eva / Foucart convention, §3.3).
CLASS_IDS: dict[str, int] = {
    "Epithelial": 1,
    "Lymphocyte": 2,
    "Neutrophil": 3,
    "Macrophage": 4,
    "Ambiguous": 5,
}
AMBIGUOUS = 5
_CLASS_BY_KEY = {k.lower(): v for k, v in CLASS_IDS.items()}

#: Patient (TCGA case) -> organ, from torch-em ``histopathology/monusac.py`` ``ORGAN_SPLITS``
#: (the organisers' data description), train and test merged; the two patients listed in both
#: splits have the same organ in both. [S]
ORGANS: dict[str, str] = {
    **dict.fromkeys(
        "TCGA-55-1594 TCGA-69-7760 TCGA-69-A59K TCGA-73-4668 TCGA-78-7220 TCGA-86-7713 "
        "TCGA-86-8672 TCGA-L4-A4E5 TCGA-MP-A4SY TCGA-MP-A4T7 TCGA-49-6743 TCGA-50-6591 "
        "TCGA-55-7570 TCGA-55-7573 TCGA-73-4662 TCGA-78-7152".split(),
        "lung",
    ),
    **dict.fromkeys(
        "TCGA-5P-A9K0 TCGA-B9-A44B TCGA-B9-A8YI TCGA-DW-7841 TCGA-EV-5903 TCGA-F9-A97G "
        "TCGA-G7-A8LD TCGA-MH-A560 TCGA-P4-AAVK TCGA-SX-A7SR TCGA-UZ-A9PO TCGA-UZ-A9PU "
        "TCGA-2Z-A9JG TCGA-2Z-A9JN TCGA-DW-7838 TCGA-DW-7963 TCGA-F9-A8NY TCGA-IZ-A6M9 "
        "TCGA-MH-A55W".split(),
        "kidney",
    ),
    **dict.fromkeys(
        "TCGA-A2-A0CV TCGA-A2-A0ES TCGA-B6-A0WZ TCGA-BH-A18T TCGA-D8-A1X5 TCGA-E2-A154 "
        "TCGA-E9-A22B TCGA-E9-A22G TCGA-EW-A6SD TCGA-S3-AA11 TCGA-A2-A04X TCGA-D8-A3Z6 "
        "TCGA-E2-A108 TCGA-EW-A6SB".split(),
        "breast",
    ),
    **dict.fromkeys(
        "TCGA-EJ-5495 TCGA-EJ-5505 TCGA-EJ-5517 TCGA-G9-6342 TCGA-G9-6499 TCGA-J4-A67Q "
        "TCGA-J4-A67T TCGA-KK-A59X TCGA-KK-A6E0 TCGA-KK-A7AW TCGA-V1-A8WL TCGA-V1-A9O9 "
        "TCGA-X4-A8KQ TCGA-YL-A9WY TCGA-G9-6356 TCGA-G9-6367 TCGA-VP-A87E TCGA-VP-A87H "
        "TCGA-X4-A8KS TCGA-YL-A9WL".split(),
        "prostate",
    ),
}

_UUID_RE = re.compile(
    r"\.[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$"
)
_SUB_RE = re.compile(r"^(?P<base>.+?)[_-](?P<k>\d+)$")
_PATIENT_RE = re.compile(r"^(TCGA-[0-9A-Za-z]{2}-[0-9A-Za-z]{4})")


def strip_uuid(name: str) -> str:
    """Remove a trailing ``.<uuid>`` suffix (``TCGA-EJ-5495-01Z-00-DX1.0db6207b-...``)."""
    return _UUID_RE.sub("", name)


def canonical_sub_image(stem: str) -> tuple[str, int | None]:
    """Split a sub-image stem into ``(slide, k)``.

    ``TCGA-X-DX1_1``, ``TCGA-X-DX1-1`` and ``TCGA-X-DX1_001`` all give ``("TCGA-X-DX1", 1)``; a
    trailing ``.<uuid>`` on the slide part is removed. A stem without a numeric ``_k``/``-k``
    suffix gives ``(stem, None)``; such a stem can never equal a canonical ``<slide>_<k>``.
    """
    s = strip_uuid(stem)
    if s != stem:  # the stem ends with the uuid itself: no sub-image index
        return s, None
    m = _SUB_RE.match(stem)
    if m is None:
        return stem, None
    return strip_uuid(m.group("base")), int(m.group("k"))


def patient_id(name: str) -> str | None:
    """The TCGA case id (``TCGA-XX-XXXX``) a slide or stem starts with, if any."""
    m = _PATIENT_RE.match(name)
    return m.group(1).upper() if m else None


def class_id(name: str | None, path: Path, line: int | None) -> int:
    """Native class id of an ``Attribute@Name``; :class:`ClassIdError` for an unknown name."""
    if name is None:
        raise MissingKeyError(
            "<Annotation> has no <Attributes><Attribute Name=...> (the class name)",
            path=path,
            line=line,
        )
    cid = _CLASS_BY_KEY.get(name.strip().lower())
    if cid is None:
        raise ClassIdError(
            f"unknown MoNuSAC class name {name!r} in Attribute@Name; "
            f"expected one of {', '.join(CLASS_IDS)}",
            path=path,
            line=line,
        )
    return cid


def rasterize(
    path: str | Path,
    shape: tuple[int, int],
    *,
    strict: bool = True,
    warnings: list[dict] | None = None,
) -> tuple[np.ndarray, np.ndarray, dict[int, int]]:
    """Paint one MoNuSAC XML into native semantic and instance maps.

    Parameters
    ----------
    path : path-like
        The sub-image's ``.xml``.
    shape : (H, W)
        Size of the sub-image (from its TIFF).
    strict, warnings
        Degenerate, outside and clipped regions: see :func:`~harmonize.datasets._aperio.
        region_pixels` (``strict`` raises, else ``warnings`` is appended to).

    Returns
    -------
    semantic : ndarray, shape (H, W), uint8
        0 background, 1..4 nucleus classes, 5 Ambiguous.
    instance : ndarray, shape (H, W), int32
        The notebook's running region counter; 0 for background and Ambiguous.
    classes : dict of int to int
        Class of every counter value given to a nucleus region (Ambiguous excluded).
    """
    doc = parse_aperio_xml(path)
    sink: list[dict] = [] if warnings is None else warnings
    semantic = np.zeros(shape, np.uint8)
    instance = np.zeros(shape, np.int32)
    classes: dict[int, int] = {}
    counter = 0
    for ann in doc.annotations:
        cid = class_id(ann.label, doc.path, ann.line)
        for region in ann.regions:
            counter += 1
            rr, cc = region_pixels(region, shape, doc.path, strict=strict, warnings=sink)
            semantic[rr, cc] = cid
            if cid == AMBIGUOUS:
                instance[rr, cc] = 0
            else:
                instance[rr, cc] = counter
                classes[counter] = cid
    return semantic, instance, classes


class MoNuSACReader(Reader):
    """Reader of the MoNuSAC 2020 release (see the module docstring for layout and conventions)."""

    name = "monusac"
    split_names = ("train", "test")
    layout_hint = (
        "expected MoNuSAC_images_and_annotations/<patient>/<sub>.{tif,svs,xml} and/or "
        "'MoNuSAC Testing Data and Annotations'/<patient>/<sub>.{tif,svs,xml}"
    )

    def split_dir(self, split: str) -> Path | None:
        """The folder of ``split`` under the root (a doubled folder from unzipping tolerated)."""
        for name in SPLIT_DIRS[split]:
            d = self.root / name
            if d.is_dir():
                if (d / name).is_dir():
                    d = d / name
                return d
        return None

    def _list(self) -> Iterator[SampleRef]:
        for split in self.split_names:
            if self.splits is not None and split not in self.splits:
                continue
            base = self.split_dir(split)
            if base is None:
                continue
            for patient_dir in sorted(
                (p for p in base.iterdir() if p.is_dir()), key=lambda p: natural_key(p.name)
            ):
                yield from self._list_patient(split, patient_dir)

    def _list_patient(self, split: str, folder: Path) -> Iterator[SampleRef]:
        stems: dict[str, dict[str, Path]] = {}
        for f in folder.iterdir():
            suffix = f.suffix.lower()
            if f.is_file() and suffix in (".tif", ".tiff", ".xml", ".svs"):
                stems.setdefault(f.stem, {})[suffix] = f
        slide_folder = strip_uuid(folder.name)

        def order(stem: str) -> tuple[Any, ...]:
            slide, k = canonical_sub_image(stem)
            return (natural_key(slide), -1 if k is None else k, natural_key(stem))

        for stem in sorted(stems, key=order):
            files = stems[stem]
            if ".xml" not in files and ".tif" not in files and ".tiff" not in files:
                continue  # an .svs alone: no annotation, nothing to read
            slide, k = canonical_sub_image(stem)
            sample_id = f"{split}_{slide}_{k}" if k is not None else f"{split}_{slide}"
            image = (
                files.get(".tif")
                or files.get(".tiff")
                or files.get(".svs")
                or folder / f"{stem}.tif"
            )
            xml = files.get(".xml") or folder / f"{stem}.xml"
            meta: dict[str, Any] = {
                "stem": stem,
                "slide": slide_folder,
                "sub_image": k,
                "magnification": "40x",
                "mpp": 0.25,
                "image_file": image.suffix.lower().lstrip("."),
            }
            pid = patient_id(slide_folder) or patient_id(stem)
            if pid is not None:
                meta["patient"] = pid
                if pid in ORGANS:
                    meta["organ"] = ORGANS[pid]
            yield SampleRef(
                dataset=self.name,
                sample_id=sample_id,
                split=split,
                paths=tuple(str(p) for p in (image, xml) if p.exists()),
                key=(str(image), str(xml)),
                meta=meta,
            )

    def read(self, ref: SampleRef) -> RawSample:
        image, xml = Path(ref.key[0]), Path(ref.key[1])
        if not xml.is_file():
            raise MissingFileError(
                f"annotation XML of sub-image {ref.meta.get('stem')!r} not found", path=xml
            )
        if not image.is_file():
            raise MissingFileError(
                f"sub-image {ref.meta.get('stem')!r} has neither a .tif nor an .svs next to its "
                "XML (the image's header gives the label map's size, so it is needed even when "
                "the run writes no images)",
                path=image,
            )
        shape = read_image_size(image)
        warnings: list[dict] = []
        semantic, instance, classes = rasterize(
            xml, shape, strict=self.on_error == "raise", warnings=warnings
        )
        present = np.unique(instance)
        present = present[present != 0]
        ids = present.astype(np.int32)
        cls = np.array([classes[int(i)] for i in present], dtype=np.int32)
        return RawSample(
            ref=ref,
            semantic=semantic,
            instance=instance,
            instance_ids=ids,
            instance_classes=cls,
            meta=dict(ref.meta),
            load_image=functools.partial(read_image_rgb, str(image)) if self.images else None,
            warnings=tuple(warnings),
        )


register(
    "monusac",
    reader=MoNuSACReader,
    synthesize="harmonize.lookalike.monusac:synthesize",
    description="MoNuSAC 2020: per-patient .tif (or .svs) + Aperio XML, 4 classes + Ambiguous, 40x",
)
