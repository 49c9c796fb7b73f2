"""CoNIC 2022 (Colon Nuclei Identification and Counting): 256x256 patches cut from Lizard.

Layout (reference ``nuclei_datasets.md`` §5.2; TissueImageAnalytics/CoNIC ``extract_patches.py``
and ``notebooks/data.ipynb`` @c1c4964)::

    images.npy        uint8  (N, 256, 256, 3)  RGB
    labels.npy        uint16 (N, 256, 256, 2)  [..., 0] instance map 0..n (per patch), [..., 1] type
    counts.csv        header neutrophil,epithelial,lymphocyte,plasma,eosinophil,connective;
                      row k = patch k (written with ``index=False``: no index column)
    patch_info.csv    header patch_info; row k = "<Lizard stem>-<4-digit patch index>",
                      e.g. consep_1-0000, glas_31-0008
    README.txt        (not read)

Type map: 0 background, 1 neutrophil, 2 epithelial, 3 lymphocyte, 4 plasma, 5 eosinophil,
6 connective -- Lizard's class ids (``extract_patches.py`` paints Lizard's ``class`` per instance).
The instance map is ``remap_label``-ed per patch (contiguous 1..n), stored ``astype("uint16")``.

Counts (``extract_patches.py``): a nucleus counts for class ``c`` when any of its pixels of type
``c`` lies in the central 224x224 region (``cropping_center``: rows and columns 16..239). Patches
whose size is not 256 (look-alikes) use the same 16-pixel margin.

Memory: both arrays are opened with ``np.load(mmap_mode="r")``, as the PanNuke reader does; listing
reads the two ``.npy`` headers and the two CSV files (a few hundred kB for the 4,981 patches), and
reading patch ``k`` copies one ``(256, 256, 2)`` label patch (and, on demand, one image) out of the
maps. The 1.6 GB of the release is never loaded.

Decisions (refuse rather than guess; every error names the file, and the CSV line where one):

* ``images.npy`` must be uint8 ``(N, H, W, 3)``; ``labels.npy`` an integer ``(N, H, W, 2)`` array
  (uint16 in the release; any integer dtype is read, floats are refused) with the same ``N, H, W``
  (:class:`~harmonize.errors.ShapeError` / :class:`~harmonize.errors.SizeMismatchError`).
* ``patch_info.csv`` and ``counts.csv`` must have exactly ``N`` rows (:class:`ShapeError`),
  the headers above (:class:`~harmonize.errors.MissingKeyError`), patch names of the form
  ``<stem>-<dddd>`` and non-negative integer counts (:class:`~harmonize.errors.CorruptFileError`
  with the line).
* A type value outside 0..6 is a :class:`~harmonize.errors.ClassIdError`; a typed pixel outside
  every instance, or an instance whose pixels carry two types (0 included), a
  :class:`CorruptFileError` naming ``labels.npy`` and the patch.
* A ``counts.csv`` row that disagrees with the counts recomputed from the patch's labels is a
  :class:`CorruptFileError` naming ``counts.csv`` and the line. Reader option
  ``check_counts=False`` skips the check (and then ``counts.csv`` is not required).

Splits: CoNIC has no official split (the challenge's test patches were not released with the
data [U]); every patch is in split ``train``. Split by ``source_image`` (HoVer-Net ``conic``
branch ``generate_split.py`` groups by it), never by patch.

Sample id = the ``patch_info`` name (``consep_1-0000``). Metadata: ``source_image`` (the Lizard
file stem, equal to the Lizard reader's sample id: ``consep_1``), ``cohort`` (the part before the
first ``_``: consep, crag, dpath, glas, pannuke), ``patch`` (the 4-digit index), ``index`` (row in
the arrays), ``magnification`` ``"20x"``, ``mpp`` 0.5, ``counts`` (the ``counts.csv`` row).

CoNIC *is* Lizard (re-cut, border patches overlapping) and Lizard re-annotates CoNSeP, PanNuke,
GlaS, CRAG and DigestPath tissue: never merge CoNIC with Lizard, and keep CoNIC's ``consep_*`` /
``pannuke_*`` patches out of CoNSeP/PanNuke test sets (``docs/leakage.md``).
"""

from __future__ import annotations

import csv
import functools
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np

from harmonize.datasets import register
from harmonize.datasets._io import check_sample_id, require_file
from harmonize.datasets.base import Reader
from harmonize.datasets.pannuke import load_image, open_npy
from harmonize.errors import (
    ClassIdError,
    CorruptFileError,
    MissingKeyError,
    ShapeError,
    SizeMismatchError,
)
from harmonize.types import RawSample, SampleRef

__all__ = [
    "CLASS_NAMES",
    "COUNT_COLUMNS",
    "COUNT_MARGIN",
    "ConicReader",
    "count_nuclei",
    "parse_patch_name",
    "read_counts_csv",
    "read_patch_info",
]

#: Type-map value -> name (``notebooks/data.ipynb``; = Lizard's class ids).
CLASS_NAMES: dict[int, str] = {
    1: "neutrophil",
    2: "epithelial",
    3: "lymphocyte",
    4: "plasma",
    5: "eosinophil",
    6: "connective",
}
#: ``counts.csv`` header, in type order (``extract_patches.py``).
COUNT_COLUMNS: tuple[str, ...] = tuple(CLASS_NAMES.values())
#: Rows/columns left out of the counting region on each side (256 - 224) / 2.
COUNT_MARGIN = 16
IMAGES, LABELS, COUNTS, PATCH_INFO = "images.npy", "labels.npy", "counts.csv", "patch_info.csv"
SPLIT = "train"

_PATCH_NAME = re.compile(r"^(?P<stem>.+)-(?P<patch>[0-9]{4})$")


def _csv_rows(path: Path, what: str) -> list[list[str]]:
    p = require_file(path, what)
    try:
        text = p.read_text(encoding="utf-8-sig")
    except UnicodeDecodeError as exc:
        raise CorruptFileError(f"not UTF-8 text ({exc})", path=p) from exc
    rows = list(csv.reader(text.splitlines()))
    if not rows:
        raise CorruptFileError(f"empty {what}", path=p)
    return rows


def parse_patch_name(value: str, path: str | Path, line: int) -> tuple[str, int]:
    """``(Lizard stem, patch index)`` of a ``patch_info`` value such as ``consep_1-0000``."""
    check_sample_id(value, path, line)
    m = _PATCH_NAME.match(value)
    if m is None:
        raise CorruptFileError(
            f"patch name {value!r} is not '<Lizard image>-<4-digit patch index>' "
            "(e.g. consep_1-0000)",
            path=path,
            line=line,
        )
    return m["stem"], int(m["patch"])


def read_patch_info(path: str | Path) -> list[tuple[str, str, int, int]]:
    """Rows of ``patch_info.csv`` as ``(patch name, Lizard stem, patch index, line)``."""
    p = Path(path)
    rows = _csv_rows(p, "CoNIC patch_info.csv")
    header = [h.strip() for h in rows[0]]
    if "patch_info" not in header:
        raise MissingKeyError(f"header {header} has no 'patch_info' column", path=p, line=1)
    col = header.index("patch_info")
    out = []
    for line, row in enumerate(rows[1:], start=2):
        if not row or not any(c.strip() for c in row):
            continue
        if len(row) != len(header):
            raise CorruptFileError(
                f"row has {len(row)} fields, header {len(header)}", path=p, line=line
            )
        name = row[col].strip()
        stem, patch = parse_patch_name(name, p, line)
        out.append((name, stem, patch, line))
    return out


def read_counts_csv(path: str | Path) -> list[tuple[tuple[int, ...], int]]:
    """Rows of ``counts.csv`` as ``(counts in COUNT_COLUMNS order, line)``."""
    p = Path(path)
    rows = _csv_rows(p, "CoNIC counts.csv")
    header = [h.strip() for h in rows[0]]
    missing = [c for c in COUNT_COLUMNS if c not in header]
    if missing:
        raise MissingKeyError(
            f"header {header} lacks {missing} (expected {','.join(COUNT_COLUMNS)})",
            path=p,
            line=1,
        )
    cols = [header.index(c) for c in COUNT_COLUMNS]
    out = []
    for line, row in enumerate(rows[1:], start=2):
        if not row or not any(c.strip() for c in row):
            continue
        if len(row) != len(header):
            raise CorruptFileError(
                f"row has {len(row)} fields, header {len(header)}", path=p, line=line
            )
        values = []
        for c in cols:
            raw = row[c].strip()
            if not raw.isascii() or not raw.isdigit():
                raise CorruptFileError(
                    f"{header[c]} count {raw!r} is not a non-negative integer", path=p, line=line
                )
            values.append(int(raw))
        out.append((tuple(values), line))
    return out


def count_nuclei(
    instance: np.ndarray, ids: np.ndarray, classes: np.ndarray, margin: int = COUNT_MARGIN
) -> tuple[int, ...]:
    """Nuclei per class (``COUNT_COLUMNS`` order) with a pixel in the central counting region.

    ``ids``/``classes``: each instance's id and type (one type per instance, checked by the
    reader). Same result as ``extract_patches.py``'s per-class ``np.unique`` on the cropped maps.
    """
    h, w = instance.shape
    crop = instance[margin : h - margin, margin : w - margin]
    inside = np.isin(ids, np.unique(crop))
    return tuple(int(np.count_nonzero(inside & (classes == c))) for c in CLASS_NAMES)


def _check_arrays(
    images: np.ndarray | None, labels: np.ndarray, images_p: Path, labels_p: Path
) -> None:
    if labels.ndim != 4 or labels.shape[3] != 2:
        raise ShapeError(
            f"labels.npy must be (N, H, W, 2) (instance, type), got shape {labels.shape}",
            path=labels_p,
        )
    if not np.issubdtype(labels.dtype, np.integer):
        raise ShapeError(
            f"labels.npy must hold integers (uint16 in the release), got dtype {labels.dtype}",
            path=labels_p,
        )
    if images is None:
        return
    if images.ndim != 4 or images.shape[3] != 3:
        raise ShapeError(
            f"images.npy must be (N, H, W, 3) RGB, got shape {images.shape}", path=images_p
        )
    if images.dtype != np.uint8:
        raise ShapeError(f"images.npy must be uint8, got dtype {images.dtype}", path=images_p)
    if images.shape[:3] != labels.shape[:3]:
        raise SizeMismatchError(
            f"labels.npy is {labels.shape[:3]} (N, H, W) but images.npy is {images.shape[:3]}",
            path=labels_p,
        )


class ConicReader(Reader):
    """Reader of the CoNIC 2022 training release (see the module docstring).

    Options
    -------
    check_counts : bool
        Compare every patch's ``counts.csv`` row with the counts recomputed from its labels
        (default ``True``; ``False`` neither reads nor requires ``counts.csv``).
    """

    name = "conic"
    split_names = (SPLIT,)
    layout_hint = "expected images.npy, labels.npy, counts.csv and patch_info.csv in the root"

    def check_options(self, options: dict[str, Any]) -> dict[str, Any]:
        unknown = sorted(set(options) - {"check_counts"})
        if unknown:
            raise TypeError(f"conic reader options: unknown {unknown}; known: ['check_counts']")
        check = options.get("check_counts", True)
        if not isinstance(check, bool):
            raise ValueError(f"check_counts must be true or false, not {check!r}")
        return {"check_counts": check}

    def _list(self) -> Iterator[SampleRef]:
        images_p, labels_p = self.root / IMAGES, self.root / LABELS
        info_p, counts_p = self.root / PATCH_INFO, self.root / COUNTS
        present = [p for p in (images_p, labels_p, info_p, counts_p) if p.is_file()]
        if not present:
            return  # nothing of CoNIC here: the base reader says so with the layout hint
        labels = open_npy(labels_p)
        images = open_npy(images_p) if self.images else None
        _check_arrays(images, labels, images_p, labels_p)
        n, h, w = (int(x) for x in labels.shape[:3])
        del images, labels
        info = read_patch_info(info_p)
        if len(info) != n:
            raise ShapeError(
                f"patch_info.csv lists {len(info)} patches but labels.npy holds {n}", path=info_p
            )
        counts: list[tuple[tuple[int, ...], int]] | None = None
        if self.options["check_counts"]:
            counts = read_counts_csv(counts_p)
            if len(counts) != n:
                raise ShapeError(
                    f"counts.csv has {len(counts)} rows but labels.npy holds {n} patches",
                    path=counts_p,
                )
        paths = tuple(str(p) for p in (images_p, labels_p, info_p) if p.is_file())
        if counts is not None:
            paths += (str(counts_p),)
        for i, (name, stem, patch, line) in enumerate(info):
            meta: dict[str, Any] = {
                "source_image": stem,
                "cohort": stem.split("_", 1)[0],
                "patch": patch,
                "index": i,
                "patch_info_line": line,
                "magnification": "20x",
                "mpp": 0.5,
            }
            row = None
            if counts is not None:
                row = counts[i]
                meta["counts"] = dict(zip(COUNT_COLUMNS, row[0], strict=True))
            yield SampleRef(
                dataset=self.name,
                sample_id=name,
                split=SPLIT,
                paths=paths,
                key=(i, (h, w), row),
                meta=meta,
            )

    def peek_shape(self, ref: SampleRef) -> tuple[int, int]:
        """``(H, W)`` of every patch, from the ``labels.npy`` header read at listing."""
        return ref.key[1]

    def read(self, ref: SampleRef) -> RawSample:
        index, _, row = ref.key
        labels_p = self.root / LABELS
        labels = open_npy(labels_p)
        _check_arrays(None, labels, self.root / IMAGES, labels_p)
        if index >= labels.shape[0]:
            raise ShapeError(
                f"labels.npy has {labels.shape[0]} patches; patch {index} not available "
                "(file changed since listing?)",
                path=labels_p,
            )
        patch = np.array(labels[index])  # copy one patch out of the memory map
        del labels
        inst, types = patch[..., 0], patch[..., 1]
        if inst.min(initial=0) < 0 or types.min(initial=0) < 0:
            raise CorruptFileError(f"patch {index}: negative label values", path=labels_p)
        bad = sorted(set(np.unique(types).tolist()) - {0, *CLASS_NAMES})
        if bad:
            raise ClassIdError(
                f"patch {index}: type channel holds {bad[:10]}, not a CoNIC type "
                f"(0 background, 1..6: {', '.join(COUNT_COLUMNS)})",
                path=labels_p,
            )
        if np.any((inst == 0) & (types != 0)):
            raise CorruptFileError(
                f"patch {index}: typed pixels outside every instance (instance 0, type > 0)",
                path=labels_p,
            )
        inst = inst.astype(np.int32)
        fg = inst != 0
        pairs = np.unique(np.stack([inst[fg], types[fg].astype(np.int32)]), axis=1)
        ids, classes = pairs[0].astype(np.int32), pairs[1].astype(np.int32)
        if len(np.unique(ids)) != len(ids):
            twice = ids[np.r_[False, ids[1:] == ids[:-1]]]
            first = int(twice[0])
            raise CorruptFileError(
                f"patch {index}: instance {first} has pixels of types "
                f"{classes[ids == first].tolist()} (an instance has one type; 0 = none)"
                + (f"; also instances {twice[1:10].tolist()}" if len(twice) > 1 else ""),
                path=labels_p,
            )
        if np.any(classes == 0):
            raise CorruptFileError(
                f"patch {index}: instances {ids[classes == 0][:10].tolist()} have no type "
                "(type 0 on every pixel)",
                path=labels_p,
            )
        if row is not None:
            want, line = row
            got = count_nuclei(inst, ids, classes)
            if got != want:
                diff = ", ".join(
                    f"{c} {w} (labels: {g})"
                    for c, w, g in zip(COUNT_COLUMNS, want, got, strict=True)
                    if w != g
                )
                raise CorruptFileError(
                    f"counts for patch {ref.sample_id} (labels.npy patch {index}) disagree with "
                    f"its labels: {diff}; nuclei with a pixel in the central region count "
                    "(reader option check_counts=false skips this check)",
                    path=self.root / COUNTS,
                    line=line,
                )
        return RawSample(
            ref=ref,
            semantic=types.astype(np.uint8),
            instance=inst,
            instance_ids=ids,
            instance_classes=classes,
            meta=dict(ref.meta),
            load_image=functools.partial(load_image, self.root / IMAGES, index)
            if self.images
            else None,
        )


register(
    "conic",
    reader=ConicReader,
    synthesize="harmonize.lookalike.conic:synthesize",
    description="CoNIC 2022: Lizard patches, images.npy + labels.npy (instance, type), "
    "counts.csv, patch_info.csv (memory-mapped), 20x",
)
