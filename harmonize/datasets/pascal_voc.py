"""PASCAL VOC 2012 segmentation (+ the SBD "aug" set): reader.

The look-alike generator is :mod:`harmonize.lookalike.pascal_voc`.

Native layout (reference: scene_datasets.md §2, the devkit's ``VOCinit.m``)::

    VOCdevkit/VOC2012/
      JPEGImages/{id}.jpg                      # id like 2007_000033
      SegmentationClass/{id}.png               # palette PNG, index = class 0..20, 255 void
      SegmentationObject/{id}.png              # palette PNG, 1..N object, 0 background, 255 void
      ImageSets/Segmentation/{train,val,trainval}.txt
    benchmark_RELEASE/dataset/                 # SBD (optional, §2.6)
      img/{id}.jpg  cls/{id}.mat (struct GTcls)  inst/{id}.mat (struct GTinst)  train.txt  val.txt

``root`` may be the folder holding ``VOCdevkit`` (and ``benchmark_RELEASE``), ``VOCdevkit`` itself or
``VOC2012`` itself; an SBD-only root (``benchmark_RELEASE`` or its ``dataset`` folder) works too.

The VOC2012 part is declared in ``taxonomies/datasets/pascal_voc.yaml`` (``layout:``) and read by the
generic :class:`~harmonize.datasets.layout.LayoutReader`, which this reader extends with SBD's
``.mat`` files. The VOC 2012 ``test`` list (images, no labels) is not read: a sample has a semantic
map in every layer of harmonize (:class:`~harmonize.types.RawSample`, the engine, the store).

Splits and sample ids
---------------------
* ``train`` / ``val``: the VOC lists; sample id = the VOC id (``2007_000033``). ``trainval.txt`` is the
  union of the two and is not exposed as a split (it would repeat every sample id). The VOC 2012
  ``test`` list has no labels and is ignored.
* ``sbd_train`` / ``sbd_val``: SBD's ``train.txt`` / ``val.txt``; sample id = ``sbd_<id>`` so that an
  image present in both VOC and SBD never collides. By default (``sbd_exclude_voc=True``) SBD images
  listed in VOC ``train`` or ``val`` are left out, exactly as mmsegmentation's ``voc_aug.py`` builds
  ``aug.txt`` = (SBD train ∪ SBD val) − (VOC train ∪ VOC val): splits ``train + sbd_train + sbd_val``
  are then the usual 10582-image "trainaug" set, with no VOC val image leaking into training.

Labels
------
* Semantic: the PNG palette **index** (never the colour), 0 background, 1..20 in VOC order, 255 void.
  Mode ``L`` PNGs holding the same indices are accepted (tools re-save VOC labels as grey, §2.3).
  Other values (21..254) are returned as stored; the run's ``unknown_values`` decides (``error``:
  :class:`~harmonize.errors.UnmappedValueError` naming the file and values; ``ignore``: ignore).
* Instances: ``SegmentationObject`` value k = object k, 0 and 255 -> 0 (no instance); void pixels stay
  255 in the semantic map. VOC has no per-instance class table, so the class of object k is read from
  ``SegmentationClass`` under its pixels (as ChainerCV does). With ``object_classes="strict"`` (default)
  every object must lie on exactly one class 1..20 (void pixels under an object are tolerated);
  anything else is a :class:`~harmonize.errors.CorruptFileError` naming the object PNG. With
  ``object_classes="vote"`` the reader gives no per-instance table and the engine takes the majority.
* SBD: ``GTcls.Segmentation`` (0..20; no void band [U: commonly reported], 255 tolerated as void),
  ``GTinst.Segmentation`` (0 = none, 1..N) and ``GTinst.Categories`` (class of instance k at row k).
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any, ClassVar, Literal

import numpy as np

from harmonize.datasets import _io, register
from harmonize.datasets.layout import LayoutReader
from harmonize.errors import (
    ClassIdError,
    CorruptFileError,
    MissingFileError,
    MissingKeyError,
    ShapeError,
)
from harmonize.types import RawSample, SampleRef

__all__ = ["VOC_CLASSES", "VOID", "PascalVOCReader", "voc_colormap"]

#: VOC class names by id (``VOCopts.classes`` with background = 0), §2.2.
VOC_CLASSES: tuple[str, ...] = (
    "background",
    "aeroplane",
    "bicycle",
    "bird",
    "boat",
    "bottle",
    "bus",
    "car",
    "cat",
    "chair",
    "cow",
    "diningtable",
    "dog",
    "horse",
    "motorbike",
    "person",
    "pottedplant",
    "sheep",
    "sofa",
    "train",
    "tvmonitor",
)
#: Void / "difficult" border value in VOC label PNGs.
VOID = 255
#: Number of VOC classes, background included (21).
N_CLASSES = len(VOC_CLASSES)

ObjectClasses = Literal["strict", "vote"]


def voc_colormap(n: int = 256) -> np.ndarray:
    """The VOC palette (``VOClabelcolormap.m``): ``(n, 3)`` uint8 RGB colours by index.

    Bit ``3*j + c`` of the index sets bit ``7 - j`` of channel ``c`` (c = R, G, B). Index 255 gives
    the cream void colour (224, 224, 192).
    """
    idx = np.arange(n, dtype=np.int64)
    cmap = np.zeros((n, 3), np.int64)
    c = idx.copy()
    for j in range(8):
        for ch in range(3):
            cmap[:, ch] |= ((c >> ch) & 1) << (7 - j)
        c >>= 3
    return cmap.astype(np.uint8)


# -- layout ---------------------------------------------------------------------------------------
def _find_sbd(base: Path) -> Path | None:
    """SBD's ``dataset`` folder (holding ``cls/``) at ``base``, ``base/dataset`` or
    ``base/benchmark_RELEASE/dataset``."""
    for cand in (base, base / "dataset", base / "benchmark_RELEASE" / "dataset"):
        if (cand / "cls").is_dir():
            return cand
    return None


# -- decoding helpers -----------------------------------------------------------------------------
def _struct_field(mat: dict[str, Any], var: str, name: str, path: Path) -> np.ndarray:
    """``mat[var][0][name][0]`` of a MATLAB struct loaded by scipy, with typed errors."""
    s = mat[var]
    if s.dtype.names is None or name not in s.dtype.names:
        raise MissingKeyError(
            f"struct {var!r} has no field {name!r} (fields: {list(s.dtype.names or ())})", path=path
        )
    if s.size < 1:
        raise ShapeError(f"struct {var!r} is empty", path=path)
    return np.asarray(s.reshape(-1)[0][name])


def _int_map(a: np.ndarray, path: Path, what: str, dtype: type) -> np.ndarray:
    if a.ndim != 2:
        raise ShapeError(f"{what} must be a 2-D map, got shape {a.shape}", path=path)
    if not np.issubdtype(a.dtype, np.integer):
        if not np.issubdtype(a.dtype, np.floating) or not np.array_equal(a, np.round(a)):
            raise ShapeError(f"{what} must hold integers, got dtype {a.dtype}", path=path)
    info = np.iinfo(dtype)
    if a.size and (a.min() < info.min or a.max() > info.max):
        raise ShapeError(f"{what} holds values outside {info.min}..{info.max}", path=path)
    return np.ascontiguousarray(a.astype(dtype))


# -- reader ---------------------------------------------------------------------------------------
class PascalVOCReader(LayoutReader):
    """Reader of PASCAL VOC 2012 segmentation, plus SBD as the extra splits ``sbd_train``/``sbd_val``.

    The VOC splits are the generic layout reader's (``layout:`` in the taxonomy YAML); SBD is read
    here.

    Options
    -------
    sbd_root : path, None or False
        SBD's ``benchmark_RELEASE`` folder (or its ``dataset`` folder). ``None`` (default) looks for
        ``benchmark_RELEASE/dataset`` (or ``dataset/cls``, ``cls``) under ``root``; ``False`` ignores SBD.
    sbd_exclude_voc : bool
        Leave out SBD images listed in VOC train or val (mmsegmentation's ``aug.txt``; default True).
    object_classes : {"strict", "vote"}
        How the class of a VOC object is found (see the module docstring).
    """

    name = "pascal_voc"
    split_names = ("train", "val", "sbd_train", "sbd_val")
    layout_hint = (
        "expected VOCdevkit/VOC2012/{JPEGImages,SegmentationClass,SegmentationObject,"
        "ImageSets/Segmentation/{train,val}.txt} and/or benchmark_RELEASE/dataset/"
        "{img,cls,inst,train.txt,val.txt}"
    )
    extra_options: ClassVar[dict[str, Any]] = {"sbd_root": None, "sbd_exclude_voc": True}

    def check_options(self, options: dict[str, Any]) -> dict[str, Any]:
        opts = super().check_options(options)
        sbd_root = opts["sbd_root"]
        if sbd_root is False:
            self._sbd = None
        elif sbd_root is None or sbd_root is True:
            self._sbd = _find_sbd(self.root)
        else:
            base = Path(sbd_root)
            if not base.exists():
                raise MissingFileError("SBD root folder does not exist", path=base)
            self._sbd = _find_sbd(base)
            if self._sbd is None:
                raise MissingFileError(
                    "no SBD cls/ folder here (expected benchmark_RELEASE/dataset/cls)", path=base
                )
        return opts

    # listing -------------------------------------------------------------------------------
    def _list(self) -> Iterator[SampleRef]:
        yield from super()._list()  # VOC2012, as the layout declares it
        sbd = self._sbd
        if sbd is None:
            return
        exclude: set[str] = set()
        if self.options["sbd_exclude_voc"]:
            exclude = set(self.layout_ids("train")) | set(self.layout_ids("val"))
        for split in ("train", "val"):
            p = sbd / f"{split}.txt"
            if not p.is_file():
                continue
            for sid in _io.read_id_list(p):
                if sid in exclude:
                    continue
                paths = (
                    str(sbd / "img" / f"{sid}.jpg"),
                    str(sbd / "cls" / f"{sid}.mat"),
                    str(sbd / "inst" / f"{sid}.mat"),
                )
                yield SampleRef(
                    self.name, f"sbd_{sid}", f"sbd_{split}", paths, ("sbd", sid), {"source": "sbd"}
                )

    # reading -------------------------------------------------------------------------------
    def read(self, ref: SampleRef) -> RawSample:
        if ref.key[0] == "sbd":
            return self._read_sbd(ref)
        return super().read(ref)

    def _read_sbd(self, ref: SampleRef) -> RawSample:
        img_p, cls_p, inst_p = (Path(p) for p in ref.paths)
        cls_mat = _io.read_mat(cls_p, ["GTcls"])
        seg = _struct_field(cls_mat, "GTcls", "Segmentation", cls_p)
        sem = _int_map(seg, cls_p, "GTcls.Segmentation", np.uint8)
        load_image = self.image_loader(img_p, sem.shape, cls_p)
        inst_mat = _io.read_mat(inst_p, ["GTinst"])
        iseg = _int_map(
            _struct_field(inst_mat, "GTinst", "Segmentation", inst_p),
            inst_p,
            "GTinst.Segmentation",
            np.uint16,
        )
        _io.check_same_size(sem.shape, iseg.shape, inst_p, "GTcls and GTinst segmentations")
        cats = _struct_field(inst_mat, "GTinst", "Categories", inst_p).reshape(-1)
        cats = _int_map(cats.reshape(1, -1), inst_p, "GTinst.Categories", np.uint8).reshape(-1)
        iseg = np.where(iseg == VOID, np.uint16(0), iseg)  # defensive, as VOC's void [U]
        ids = np.unique(iseg)
        ids = ids[ids != 0].astype(np.int64)
        if len(ids) and ids[-1] > len(cats):
            raise CorruptFileError(
                f"instance id {int(ids[-1])} has no entry in GTinst.Categories "
                f"({len(cats)} entries)",
                path=inst_p,
            )
        classes = cats[ids - 1] if len(ids) else np.zeros(0, np.uint8)
        bad = (classes == 0) | (classes >= N_CLASSES)
        if bad.any():
            raise ClassIdError(
                f"GTinst.Categories holds {sorted(set(classes[bad].tolist()))}, not VOC classes "
                "1..20",
                path=inst_p,
            )
        return RawSample(
            ref=ref,
            semantic=sem,
            instance=iseg,
            instance_ids=ids,
            instance_classes=classes.astype(np.uint8),
            meta=dict(ref.meta),
            load_image=load_image,
        )


register(
    "pascal_voc",
    reader=PascalVOCReader,
    synthesize="harmonize.lookalike.pascal_voc:synthesize",
    description="PASCAL VOC 2012 segmentation (palette PNGs, 255 void) with SBD as extra splits",
)
