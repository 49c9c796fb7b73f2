"""Lizard (colon nuclei at 20x): PNG images, one ``.mat`` label file per image, ``info.csv`` splits.

Layout (reference: ``nuclei_datasets.md`` §5.1, [V])::

    Lizard_Images1/*.png          (80 images)
    Lizard_Images2/*.png          (158 images)
    Lizard_Labels/
    ├── Labels/<stem>.mat         (one per image, same stem)
    └── info.csv                  header Filename,Source,Split; Split in {1, 2, 3}

The Kaggle mirror's wrapping folders (``lizard_images1/Lizard_Images1/``,
``lizard_labels/Lizard_Labels/``) are tolerated: each folder is looked for at the root and one level
down. Images are looked up in ``Lizard_Images1`` then ``Lizard_Images2`` (okunator's
``lizard_datamodule.py``).

Splits: ``fold1``, ``fold2``, ``fold3`` from ``info.csv`` ``Split`` 1..3. Sample id = the file stem
(``consep_1``, ``glas_31``...). Rows are read in file order; an unknown ``Split`` value is a
:class:`~harmonize.errors.CorruptFileError` naming the CSV line.

``.mat`` keys (official ``read_label.py``): ``inst_map`` (H, W) int32 (0 = background, 1..N), ``id``
(N, 1) the ``inst_map`` value of the i-th record, ``class`` (N, 1) 1..6, ``bbox`` (N, 4)
``(y1, y2, x1, x2)``, ``centroid`` (N, 2) ``(x, y)``. The class of an instance is looked up **by the
position of its value in ``id``** (``idx = np.squeeze(id).tolist().index(value); classes[idx]``),
never by ``value - 1``: ids may be in any order. The on-disk dtypes of ``id`` and ``class`` are
undocumented [U]; values are checked to be integers.

Classes (native ids): 1 Neutrophil, 2 Epithelial, 3 Lymphocyte, 4 Plasma, 5 Eosinophil,
6 Connective (the Lizard README's "Class 5: Neutrophil" is a typo, §5.1). Any other class value is a
:class:`~harmonize.errors.ClassIdError`.

Decisions where the files could disagree with themselves:

* an ``inst_map`` value with no record in ``id`` -> :class:`~harmonize.errors.CorruptFileError`
  (its class is unknowable; ``read_label.py`` would fail there too, with ``list.index``);
* an ``id`` listed twice -> :class:`~harmonize.errors.CorruptFileError`;
* a record whose id has no pixel in ``inst_map`` is tolerated and left out of
  ``RawSample.instance_ids`` (which lists instances with pixels only);
* ``id`` and ``class`` of different lengths -> :class:`~harmonize.errors.ShapeError`.

Semantic map = class of each pixel's instance (0 background). Metadata: ``source`` (``info.csv``
``Source`` column as written [U: its exact spelling]), ``magnification`` ``"20x"``, ``mpp`` 0.5.
"""

from __future__ import annotations

import csv
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np

from harmonize.datasets import register
from harmonize.datasets._hovernet import label_array
from harmonize.datasets._io import (
    check_sample_id,
    read_mat,
    require_file,
)
from harmonize.datasets.base import Reader
from harmonize.errors import (
    ClassIdError,
    CorruptFileError,
    MissingFileError,
    MissingKeyError,
    ShapeError,
)
from harmonize.types import RawSample, SampleRef

__all__ = ["CLASS_NAMES", "LizardReader", "read_info_csv"]

#: Native class id -> name (CoNIC naming; README typo "Class 5: Neutrophil" corrected).
CLASS_NAMES: dict[int, str] = {
    1: "Neutrophil",
    2: "Epithelial",
    3: "Lymphocyte",
    4: "Plasma",
    5: "Eosinophil",
    6: "Connective",
}
IMAGE_DIRS = ("Lizard_Images1", "Lizard_Images2")
LABEL_DIR = "Lizard_Labels"
SPLITS = {"1": "fold1", "2": "fold2", "3": "fold3"}


def _find_dir(root: Path, name: str) -> Path | None:
    """``root/name``, or ``root/<any>/name`` (Kaggle mirror wrapping), or None."""
    direct = root / name
    if direct.is_dir():
        return direct
    for sub in sorted(p for p in root.iterdir() if p.is_dir()):
        if (sub / name).is_dir():
            return sub / name
    return None


def read_info_csv(path: str | Path) -> list[tuple[str, str, str, int]]:
    """Rows of ``info.csv`` as ``(filename, source, split name, line)``.

    Raises
    ------
    MissingFileError
        No ``info.csv``.
    MissingKeyError
        The header lacks ``Filename`` or ``Split`` (line 1).
    CorruptFileError
        A ``Split`` value other than 1, 2, 3, or an empty filename (with its line).
    UnsafePathError
        A filename holding a path separator or ``..`` (with its line).
    """
    p = require_file(path, "Lizard info.csv")
    try:
        text = p.read_text(encoding="utf-8-sig")
    except UnicodeDecodeError as exc:
        raise CorruptFileError(f"not UTF-8 text ({exc})", path=p) from exc
    rows = list(csv.reader(text.splitlines()))
    if not rows:
        raise CorruptFileError("empty file (expected header Filename,Source,Split)", path=p)
    header = [h.strip() for h in rows[0]]
    for col in ("Filename", "Split"):
        if col not in header:
            raise MissingKeyError(
                f"header {header} has no {col!r} column (expected Filename,Source,Split)",
                path=p,
                line=1,
            )
    i_fn, i_split = header.index("Filename"), header.index("Split")
    i_src = header.index("Source") if "Source" in header else None
    out: list[tuple[str, str, str, int]] = []
    for line, row in enumerate(rows[1:], start=2):
        if not row or not any(c.strip() for c in row):
            continue
        if len(row) < len(header):
            raise CorruptFileError(
                f"row has {len(row)} fields, header {len(header)}", path=p, line=line
            )
        fn = row[i_fn].strip()
        raw = row[i_split].strip()
        split = SPLITS.get(raw.split(".")[0] if raw.endswith(".0") else raw)
        if not fn:
            raise CorruptFileError("empty Filename", path=p, line=line)
        check_sample_id(fn, p, line)
        if split is None:
            raise CorruptFileError(f"Split {raw!r} is not 1, 2 or 3", path=p, line=line)
        src = row[i_src].strip() if i_src is not None else ""
        out.append((fn, src, split, line))
    return out


def instance_classes(mat: dict[str, Any], path: Path) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Check a loaded Lizard ``.mat`` and resolve the class of each instance by position in ``id``.

    Returns
    -------
    inst_map : ndarray, shape (H, W), int32
    ids : ndarray, shape (K,), int32
        Instance values present in ``inst_map`` (sorted).
    classes : ndarray, shape (K,), int32
        Native class of each, ``classes[j]`` = ``class[id.index(ids[j])]``.
    """
    inst = label_array(mat["inst_map"], path, "inst_map", ndim=2)
    rec_ids = label_array(np.asarray(mat["id"]).reshape(-1), path, "id", ndim=1)
    rec_cls = label_array(np.asarray(mat["class"]).reshape(-1), path, "class", ndim=1)
    if len(rec_ids) != len(rec_cls):
        raise ShapeError(
            f"'id' has {len(rec_ids)} records but 'class' has {len(rec_cls)}", path=path
        )
    bad = sorted(set(rec_cls.tolist()) - set(CLASS_NAMES))
    if bad:
        raise ClassIdError(
            f"'class' holds {bad}, not a Lizard class (1..6: {', '.join(CLASS_NAMES.values())})",
            path=path,
        )
    uniq, counts = np.unique(rec_ids, return_counts=True)
    if np.any(counts > 1):
        raise CorruptFileError(f"'id' lists {uniq[counts > 1].tolist()} more than once", path=path)
    present = np.unique(inst)
    present = present[present != 0]
    pos = np.searchsorted(uniq, present)
    pos = np.minimum(pos, max(len(uniq) - 1, 0))
    missing = present[(uniq[pos] != present) if len(uniq) else np.ones(len(present), bool)]
    if len(missing):
        raise CorruptFileError(
            f"inst_map holds instance values {missing[:10].tolist()} that have no record in 'id' "
            "(their class is unknown)",
            path=path,
        )
    order = np.argsort(rec_ids, kind="stable")  # position in 'id' of each sorted id
    classes = rec_cls[order[pos]] if len(present) else np.zeros(0, np.int32)
    return inst, present.astype(np.int32), classes.astype(np.int32)


class LizardReader(Reader):
    """Reader of the Lizard release (see the module docstring)."""

    name = "lizard"
    split_names = ("fold1", "fold2", "fold3")
    layout_hint = (
        "expected Lizard_Images1/*.png, Lizard_Images2/*.png, Lizard_Labels/Labels/*.mat and "
        "Lizard_Labels/info.csv"
    )

    def _list(self) -> Iterator[SampleRef]:
        labels = _find_dir(self.root, LABEL_DIR)
        if labels is None:
            if any(_find_dir(self.root, d) for d in IMAGE_DIRS):
                raise MissingFileError(
                    f"{LABEL_DIR}/ (labels and info.csv) not found next to the image folders",
                    path=self.root / LABEL_DIR,
                )
            return
        rows = read_info_csv(labels / "info.csv")
        image_dirs = [d for d in (_find_dir(self.root, n) for n in IMAGE_DIRS) if d is not None]
        for fn, source, split, line in rows:
            stem = Path(fn).stem if fn.lower().endswith(".png") else fn
            image = next(
                (d / f"{stem}.png" for d in image_dirs if (d / f"{stem}.png").is_file()), None
            )
            label = labels / "Labels" / f"{stem}.mat"
            meta: dict[str, Any] = {"magnification": "20x", "mpp": 0.5, "info_csv_line": line}
            if source:
                meta["source"] = source
            yield SampleRef(
                dataset=self.name,
                sample_id=stem,
                split=split,
                paths=tuple(str(p) for p in (image, label) if p is not None and p.exists()),
                key=(str(image) if image is not None else None, str(label), stem),
                meta=meta,
            )

    def read(self, ref: SampleRef) -> RawSample:
        image_s, label_s, stem = ref.key
        label = Path(label_s)
        if image_s is None and self.images:
            raise MissingFileError(
                f"image {stem}.png (listed in info.csv) is in neither {' nor '.join(IMAGE_DIRS)} "
                "(a run whose output.layers leave out `image` reads the labels without it)",
                path=self.root / IMAGE_DIRS[0] / f"{stem}.png",
            )
        mat = read_mat(label, ["inst_map", "id", "class"])
        inst, ids, classes = instance_classes(mat, label)
        load_image = self.image_loader(image_s, inst.shape, label) if image_s else None
        lut = np.zeros(int(inst.max(initial=0)) + 1, np.uint8)
        lut[ids] = classes
        return RawSample(
            ref=ref,
            semantic=lut[inst],
            instance=inst,
            instance_ids=ids,
            instance_classes=classes,
            meta=dict(ref.meta),
            load_image=load_image,
        )


register(
    "lizard",
    reader=LizardReader,
    synthesize="harmonize.lookalike.lizard:synthesize",
    description="Lizard: colon PNGs + .mat (inst_map, id, class by position), info.csv folds, 20x",
)
