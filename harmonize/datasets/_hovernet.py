"""HoVer-Net's ``<split>/Images/<stem>.<ext>`` + ``<split>/Labels/<stem>.mat`` layout, shared by the
CoNSeP, CPM17 and Kumar readers.

HoVer-Net (vqdang/hover_net ``dataset.py``, ``extract_patches.py``) redistributes these three
datasets in one shape (reference: ``nuclei_datasets.md`` §1.1, §4.2, §4.3)::

    CoNSeP/Train/Images/train_1.png      CoNSeP/Train/Labels/train_1.mat   (inst_map, type_map, ...)
    cpm17/train/Images/image_00.png      cpm17/train/Labels/image_00.mat   (inst_map)
    Kumar/train/Images/TCGA-...-DX1.tif  Kumar/train/Labels/TCGA-...-DX1.mat  (inst_map)

:class:`HoverNetReader` lists and reads that shape once; each dataset module sets its folder names,
image suffixes and sample ids, and overrides :meth:`HoverNetReader.read_labels` when its label files
hold more than an instance map (CoNSeP).

The look-alikes of this layout are written by :mod:`harmonize.lookalike._hovernet`.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, ClassVar

import numpy as np

from harmonize.datasets._io import (
    read_mat,
    require_file,
)
from harmonize.datasets.base import Reader
from harmonize.errors import (
    CorruptFileError,
    DuplicateSampleError,
    ShapeError,
)
from harmonize.types import RawSample, SampleRef

__all__ = ["HoverNetReader", "Labels", "label_array", "natural_key"]


def natural_key(text: str) -> tuple[Any, ...]:
    """Sort key that orders ``train_2`` before ``train_10`` (digits compared as numbers)."""
    return tuple(int(t) if t.isdigit() else t for t in re.split(r"(\d+)", text))


def label_array(
    arr: Any, path: str | Path, key: str, *, ndim: int = 2, max_value: int | None = None
) -> np.ndarray:
    """Check a label array read from a file and return it as ``int32``.

    Reference loaders cast blindly (``.astype("int32")``); the on-disk dtype is undocumented, so any
    numeric dtype is accepted (float64, uint16, int32, ...), but the values must be integers.

    Parameters
    ----------
    arr : array-like
        The array as loaded (``scipy.io.loadmat`` value, ``.npy`` contents).
    path : path-like
        File it came from (named in errors).
    key : str
        Key or description of the array (named in errors).
    ndim : int
        Required number of dimensions.
    max_value : int, optional
        Largest value allowed (defaults to the int32 range).

    Returns
    -------
    ndarray, int32, same shape

    Raises
    ------
    ShapeError
        Wrong number of dimensions or a non-numeric dtype.
    CorruptFileError
        NaN/inf, negative or non-integer values, or values too large for int32.
    """
    a = np.asarray(arr)
    if a.ndim != ndim:
        raise ShapeError(f"{key!r} must be {ndim}-D, got shape {a.shape}", path=path)
    if a.dtype == np.bool_:
        a = a.astype(np.uint8)
    if not (np.issubdtype(a.dtype, np.integer) or np.issubdtype(a.dtype, np.floating)):
        raise ShapeError(f"{key!r} has non-numeric dtype {a.dtype}", path=path)
    if a.size == 0:
        return a.astype(np.int32)
    if np.issubdtype(a.dtype, np.floating):
        if not np.all(np.isfinite(a)):
            raise CorruptFileError(f"{key!r} holds NaN or infinite values", path=path)
        if not np.array_equal(a, np.floor(a)):
            raise CorruptFileError(f"{key!r} holds non-integer values", path=path)
    lo, hi = a.min(), a.max()
    if lo < 0:
        raise CorruptFileError(f"{key!r} holds negative values (min {lo})", path=path)
    top = np.iinfo(np.int32).max if max_value is None else max_value
    if hi > top:
        raise CorruptFileError(f"{key!r} holds values above {top} (max {hi})", path=path)
    return a.astype(np.int32)


@dataclass
class Labels:
    """What :meth:`HoverNetReader.read_labels` returns for one label file.

    ``instance`` (H, W) int32, 0 = none; ``semantic`` (H, W) integer native class map;
    ``instance_ids`` / ``instance_classes`` (K,) where the file states a class per instance, else
    ``None``; ``meta`` extra per-sample metadata.
    """

    instance: np.ndarray
    semantic: np.ndarray
    instance_ids: np.ndarray | None = None
    instance_classes: np.ndarray | None = None
    meta: dict[str, Any] = field(default_factory=dict)


class HoverNetReader(Reader):
    """Reader of HoVer-Net's ``<split>/Images`` + ``<split>/Labels`` layout.

    ``root`` may be the dataset folder itself (``.../CoNSeP``) or the folder holding it. Samples are
    the union of image and label stems of each split folder, in natural order (``train_2`` before
    ``train_10``); a stem with only an image or only a label fails at read time with
    :class:`~harmonize.errors.MissingFileError` instead of being dropped silently.
    """

    #: Name of the dataset folder as distributed (``"CoNSeP"``, ``"cpm17"``, ``"Kumar"``).
    dataset_dir: ClassVar[str]
    #: Split name -> split folder name (``{"train": "Train"}`` for CoNSeP).
    split_dirs: ClassVar[Mapping[str, str]]
    #: Accepted image suffixes, lower case, in order of preference.
    image_suffixes: ClassVar[tuple[str, ...]] = (".png", ".tif", ".tiff")
    #: Accepted label suffixes in order of preference (the first present is used).
    label_suffixes: ClassVar[tuple[str, ...]] = (".mat",)
    #: Metadata attached to every sample (magnification, microns per pixel, ...).
    sample_meta: ClassVar[Mapping[str, Any]] = {}

    # -- hooks -------------------------------------------------------------------------------
    def sample_id(self, split: str, stem: str) -> str:
        """Sample id of file stem ``stem`` in ``split`` (default: the stem itself)."""
        return stem

    def read_labels(self, path: Path) -> Labels:
        """Read one label file. Default: ``.mat`` with an ``inst_map``; semantic = nucleus (1)."""
        mat = read_mat(path, ["inst_map"])
        inst = label_array(mat["inst_map"], path, "inst_map")
        return Labels(instance=inst, semantic=(inst > 0).astype(np.uint8))

    # -- listing -----------------------------------------------------------------------------
    def base_dir(self) -> Path:
        """The dataset folder: ``root`` if it holds a split folder, else ``root/<dataset_dir>``."""
        if any((self.root / d).is_dir() for d in self.split_dirs.values()):
            return self.root
        inner = self.root / self.dataset_dir
        if inner.is_dir():
            return inner
        return self.root

    def _files(self, folder: Path, suffixes: Sequence[str], prefer: bool) -> dict[str, Path]:
        out: dict[str, Path] = {}
        if not folder.is_dir():
            return out
        for p in sorted(folder.iterdir()):
            suffix = p.suffix.lower()
            if not p.is_file() or p.name.startswith(".") or suffix not in suffixes:
                continue
            old = out.get(p.stem)
            if old is None:
                out[p.stem] = p
            elif prefer:  # labels: keep the preferred suffix (.mat over legacy .npy)
                if suffixes.index(suffix) < suffixes.index(old.suffix.lower()):
                    out[p.stem] = p
            else:
                raise DuplicateSampleError(
                    f"two images share the stem {p.stem!r} (also {old.name}); remove one",
                    path=p,
                )
        return out

    def _list(self) -> Iterator[SampleRef]:
        base = self.base_dir()
        for split in self.split_names:
            if self.splits is not None and split not in self.splits:
                continue
            sdir = base / self.split_dirs[split]
            images = self._files(sdir / "Images", self.image_suffixes, prefer=False)
            labels = self._files(sdir / "Labels", self.label_suffixes, prefer=True)
            for stem in sorted(set(images) | set(labels), key=natural_key):
                img = images.get(stem, sdir / "Images" / (stem + self.image_suffixes[0]))
                lab = labels.get(stem, sdir / "Labels" / (stem + self.label_suffixes[0]))
                yield SampleRef(
                    dataset=self.name,
                    sample_id=self.sample_id(split, stem),
                    split=split,
                    paths=(str(img), str(lab)),
                    key=(split, stem),
                    meta=dict(self.sample_meta),
                )

    # -- reading -----------------------------------------------------------------------------
    def read(self, ref: SampleRef) -> RawSample:
        img_path, lab_path = (Path(p) for p in ref.paths[:2])
        labels = self.read_labels(require_file(lab_path, "label file"))
        load_image = self.image_loader(img_path, labels.instance.shape, lab_path)
        meta = {**ref.meta, **labels.meta}
        return RawSample(
            ref=ref,
            semantic=labels.semantic,
            instance=labels.instance,
            instance_ids=labels.instance_ids,
            instance_classes=labels.instance_classes,
            meta=meta,
            load_image=load_image,
        )
