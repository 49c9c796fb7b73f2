"""CoNSeP (colorectal nuclear segmentation and phenotypes), HoVer-Net release.

Layout (reference ``nuclei_datasets.md`` §1.1; hover_net ``extract_patches.py``; eva
``consep.py``)::

    CoNSeP/README.txt
    CoNSeP/Train/Images/train_1.png ... train_27.png    CoNSeP/Train/Labels/train_1.mat ...
    CoNSeP/Test/Images/test_1.png   ... test_14.png     CoNSeP/Test/Labels/test_1.mat  ...
    CoNSeP/{Train,Test}/Overlay/   (visualisations; not read)

Label ``.mat`` keys (CoNSeP README.txt, §1.3): ``inst_map`` (H, W) 0 = background, 1..N nucleus id;
``type_map`` (H, W) class 0..7 per pixel; ``inst_type`` (N, 1) class of each instance **in order of
inst_map id** (row ``i`` is id ``i + 1``); ``inst_centroid`` (N, 2) **(x, y)** centroid, same order.
Classes (§1.4): 0 background, 1 other, 2 inflammatory, 3 healthy epithelial, 4 dysplastic/malignant
epithelial, 5 fibroblast, 6 muscle, 7 endothelial. The legacy release (before 14/03/2020) stored
``<stem>.npy`` (H, W, 2) instead: ``[..., 0]`` instance, ``[..., 1]`` class; it is read when the
``.mat`` is absent.

Decisions (documented here because the README is silent):

* Dtypes are undocumented ([U]); any numeric dtype with integer values is accepted, cast to int32.
* Per-instance classes come from ``inst_type`` (as HoVer-Net's ``compute_stats.py`` uses them),
  returned as ``RawSample.instance_ids`` / ``instance_classes`` for the ids present in ``inst_map``.
  ``inst_type`` must have exactly ``max(inst_map)`` rows (row = id - 1); otherwise the row <-> id
  correspondence is unknowable and a :class:`~harmonize.errors.ShapeError` is raised. An id with a
  row but no pixels (a gap in 1..N) is allowed and simply not returned.
* ``inst_type`` is not forced to agree with ``type_map``: the semantic map is ``type_map`` as
  stored, and instances whose ``type_map`` majority differs from ``inst_type`` are listed in
  ``meta["inst_type_disagrees"]`` (native ids) for reports, not raised.
* Class values outside 0..255 in ``type_map`` or ``inst_type`` raise
  :class:`~harmonize.errors.ClassIdError` (a uint8 map cannot hold them). Values 8..255 are not
  CoNSeP classes but are returned as stored: the run's ``unknown_values`` decides (``error``: an
  :class:`~harmonize.errors.UnmappedValueError` naming the file and values; ``ignore``: written
  as ignore, counted in ``unknown_pixels``). Whether real files hold ``inst_type`` 0 is [U]; 0 is a
  declared class (background), so it is accepted.
* ``inst_centroid`` is returned as ``meta["inst_centroid"]`` (K, 2) float64, **(x, y)**, aligned
  with ``instance_ids``; ``inst_type`` and ``inst_centroid`` are optional (HoVer-Net's training
  loader reads only ``inst_map`` and ``type_map``); without ``inst_type`` classes are left to the
  engine's majority vote over ``type_map``.
* Whether the released PNGs carry alpha is [U]; alpha is dropped on load.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any, ClassVar

import numpy as np

from harmonize.datasets import register
from harmonize.datasets._hovernet import HoverNetReader, Labels, label_array
from harmonize.errors import ClassIdError, CorruptFileError, ShapeError, SizeMismatchError

__all__ = ["CLASS_NAMES", "ConsepReader"]

#: CoNSeP README "Class values" (confirmed in hover_net issue #69).
CLASS_NAMES: dict[int, str] = {
    0: "background",
    1: "other",
    2: "inflammatory",
    3: "healthy epithelial",
    4: "dysplastic/malignant epithelial",
    5: "fibroblast",
    6: "muscle",
    7: "endothelial",
}
_MAX_CLASS = max(CLASS_NAMES)


def _vector(arr: object, path: Path, key: str) -> np.ndarray:
    """``inst_type`` as a 1-D int32 vector: accepts (N, 1) as written, (1, N), (N,) and empty."""
    a = np.asarray(arr)
    if a.size == 0:
        return np.zeros(0, np.int32)
    if a.ndim == 2 and 1 in a.shape:
        a = a.reshape(-1)
    if a.ndim != 1:
        raise ShapeError(f"{key!r} must be (N, 1), got shape {a.shape}", path=path)
    return label_array(a, path, key, ndim=1)


def _check_classes(values: np.ndarray, path: Path, key: str) -> None:
    """Refuse class values that a uint8 class map cannot hold (they would wrap when stored).

    Values 0..255 that CoNSeP does not declare (8..255) are passed on as they are: the compiled
    mapping decides (``unknown_values: error`` names the file and values, ``ignore`` writes them
    as ignore and counts them).
    """
    bad = np.unique(values[(values < 0) | (values > 255)])
    if bad.size:
        raise ClassIdError(
            f"{key!r} holds class id(s) {bad[:10].tolist()} outside 0..255; CoNSeP classes are "
            f"0..{_MAX_CLASS} ({', '.join(f'{k} {v}' for k, v in CLASS_NAMES.items())})",
            path=path,
        )


def _majority(inst: np.ndarray, tmap: np.ndarray, ids: np.ndarray) -> np.ndarray:
    """Most frequent ``tmap`` value over each instance id of ``ids`` (ties: smallest class)."""
    fg = inst > 0
    pairs, counts = np.unique(inst[fg].astype(np.int64) * 256 + tmap[fg], return_counts=True)
    pid, pcls = pairs // 256, pairs % 256  # class values are 0..255 (_check_classes)
    order = np.lexsort((pcls, -counts, pid))  # per id: most pixels first, then smallest class
    pid, pcls = pid[order], pcls[order]
    first = np.r_[True, pid[1:] != pid[:-1]]
    table = dict(zip(pid[first].tolist(), pcls[first].tolist(), strict=True))
    return np.array([table[i] for i in ids.tolist()], np.int32)


class ConsepReader(HoverNetReader):
    """Read CoNSeP from ``CoNSeP/{Train,Test}/{Images,Labels}`` (see the module docstring).

    Samples: ids ``train_1``, ``test_14`` (the file stems); splits ``train`` / ``test``;
    ``semantic`` uint8 = ``type_map`` (0..7 declared); ``instance`` int32 = ``inst_map`` (file ids);
    ``instance_ids`` / ``instance_classes`` from ``inst_type``; meta ``magnification="40x"``,
    ``microns_per_pixel=0.25``, ``organ="colon"``, ``label_format`` (``"mat"`` or
    ``"npy_legacy"``), ``inst_centroid`` and ``inst_type_disagrees`` (see module docstring).
    """

    name = "consep"
    split_names = ("train", "test")
    layout_hint = "expected CoNSeP/{Train,Test}/Images/train_1.png and Labels/train_1.mat"
    dataset_dir = "CoNSeP"
    split_dirs: ClassVar[Mapping[str, str]] = {"train": "Train", "test": "Test"}
    image_suffixes = (".png", ".tif", ".tiff")
    label_suffixes = (".mat", ".npy")
    sample_meta: ClassVar[Mapping[str, Any]] = {
        "magnification": "40x",
        "microns_per_pixel": 0.25,
        "organ": "colon",
    }

    def read_labels(self, path: Path) -> Labels:
        if path.suffix.lower() == ".npy":
            return self._read_legacy(path)
        from harmonize.datasets._io import read_mat

        mat = read_mat(path, ["inst_map", "type_map"], optional=["inst_type", "inst_centroid"])
        inst = label_array(mat["inst_map"], path, "inst_map")
        tmap = label_array(mat["type_map"], path, "type_map")
        if inst.shape != tmap.shape:
            raise SizeMismatchError(
                f"inst_map is {inst.shape} but type_map is {tmap.shape}", path=path
            )
        _check_classes(tmap, path, "type_map")
        ids = np.unique(inst)
        ids = ids[ids > 0].astype(np.int64)
        top = int(ids[-1]) if ids.size else 0
        meta: dict[str, object] = {"label_format": "mat"}
        classes = None
        if "inst_type" in mat:
            types = _vector(mat["inst_type"], path, "inst_type")
            if types.shape[0] < top:  # rows beyond the largest present id: ids with no pixels
                raise ShapeError(
                    f"inst_type has {types.shape[0]} rows but inst_map holds id {top}; "
                    "rows must list the class of ids 1..N in order",
                    path=path,
                )
            _check_classes(types, path, "inst_type")
            classes = types[ids - 1] if ids.size else np.zeros(0, np.int32)
            if ids.size:
                major = _majority(inst, tmap, ids)
                meta["inst_type_disagrees"] = ids[major != classes].tolist()
            else:
                meta["inst_type_disagrees"] = []
        if "inst_centroid" in mat:
            cents = np.asarray(mat["inst_centroid"])
            if cents.size == 0:
                cents = np.zeros((0, 2))
            if cents.ndim != 2 or cents.shape[1] != 2 or cents.shape[0] < top:
                raise ShapeError(
                    f"inst_centroid must be (N, 2) (x, y) for ids 1..N with N >= {top} (the "
                    f"largest inst_map id), got shape {cents.shape}",
                    path=path,
                )
            if not np.issubdtype(cents.dtype, np.number):
                raise ShapeError(f"inst_centroid has non-numeric dtype {cents.dtype}", path=path)
            meta["inst_centroid"] = cents.astype(np.float64)[ids - 1]
        return Labels(
            instance=inst,
            semantic=tmap.astype(np.uint8),
            instance_ids=ids if classes is not None else None,
            instance_classes=classes,
            meta=meta,
        )

    def _read_legacy(self, path: Path) -> Labels:
        """Legacy ``<stem>.npy`` (H, W, 2): ``[..., 0]`` instance, ``[..., 1]`` class."""
        from harmonize.datasets._io import check_pixels, read_npy_shape

        shape = read_npy_shape(path)  # magic bytes and header: nothing allocated yet
        if len(shape) >= 2:
            check_pixels(shape[0], shape[1], path, ".npy label map")
        try:
            arr = np.load(path, allow_pickle=False)
        except (ValueError, OSError, EOFError) as exc:
            raise CorruptFileError(f"cannot read .npy label file ({exc})", path=path) from exc
        if arr.ndim != 3 or arr.shape[2] != 2:
            raise ShapeError(
                f"legacy CoNSeP .npy labels must be (H, W, 2) [instance, class], got {arr.shape}",
                path=path,
            )
        inst = label_array(arr[..., 0], path, "[..., 0] (instance)")
        tmap = label_array(arr[..., 1], path, "[..., 1] (class)")
        _check_classes(tmap, path, "[..., 1] (class)")
        return Labels(
            instance=inst, semantic=tmap.astype(np.uint8), meta={"label_format": "npy_legacy"}
        )


register(
    "consep",
    reader=ConsepReader,
    synthesize="harmonize.lookalike.consep:synthesize",
    description="CoNSeP nuclei, 7 classes (Train/Test; Images/*.png, Labels/*.mat or legacy .npy)",
)
