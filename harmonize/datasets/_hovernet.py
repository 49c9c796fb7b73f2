"""HoVer-Net's ``<split>/Images/<stem>.<ext>`` + ``<split>/Labels/<stem>.mat`` layout, shared by the
CoNSeP, CPM17 and Kumar readers and their look-alike generators.

HoVer-Net (vqdang/hover_net ``dataset.py``, ``extract_patches.py``) redistributes these three
datasets in one shape (reference: ``nuclei_datasets.md`` §1.1, §4.2, §4.3)::

    CoNSeP/Train/Images/train_1.png      CoNSeP/Train/Labels/train_1.mat   (inst_map, type_map, ...)
    cpm17/train/Images/image_00.png      cpm17/train/Labels/image_00.mat   (inst_map)
    Kumar/train/Images/TCGA-...-DX1.tif  Kumar/train/Labels/TCGA-...-DX1.mat  (inst_map)

:class:`HoverNetReader` lists and reads that shape once; each dataset module sets its folder names,
image suffixes and sample ids, and overrides :meth:`HoverNetReader.read_labels` when its label files
hold more than an instance map (CoNSeP).

The generator helpers (:func:`draw_instances`, :func:`synthesize_instance_only`; ``.mat`` files
are written with :func:`harmonize.datasets._synth.write_mat`) serve the look-alike generators only.
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
from harmonize.datasets._synth import write_mat
from harmonize.datasets.base import Reader, SynthResult, SynthTruth
from harmonize.errors import (
    CorruptFileError,
    DuplicateSampleError,
    ShapeError,
)
from harmonize.types import RawSample, SampleRef

__all__ = [
    "HoverNetReader",
    "Labels",
    "draw_instances",
    "label_array",
    "natural_key",
    "synthesize_instance_only",
]


# ----------------------------------------------------------------------------------------------
# reading
# ----------------------------------------------------------------------------------------------
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


# ----------------------------------------------------------------------------------------------
# generating (look-alikes only)
# ----------------------------------------------------------------------------------------------
def draw_instances(
    rng: np.random.Generator,
    shape: tuple[int, int],
    count: int,
    *,
    overlap: bool = False,
    radius: tuple[float, float] = (4.0, 10.0),
) -> np.ndarray:
    """Paint ``count`` random nucleus ellipses with ids ``1..count`` in order (later on top).

    Returns an ``(H, W)`` int32 instance map. With ``overlap=True`` a later ellipse may cover
    part (or all) of an earlier one, as HoVer-Net's Kumar converter paints larger nuclei on top.
    """
    from harmonize.datasets._synth import random_ellipses

    inst = np.zeros(shape, np.int32)
    for k, e in enumerate(random_ellipses(rng, shape, count, radius, overlap=overlap), start=1):
        inst[e.mask(shape)] = k
    return inst


def relabel(inst: np.ndarray, new_ids: Mapping[int, int]) -> np.ndarray:
    """Return ``inst`` with ids replaced by ``new_ids`` (ids not in the mapping kept)."""
    out = inst.copy()
    for old, new in new_ids.items():
        out[inst == old] = new
    return out


@dataclass(frozen=True)
class InstanceOnlyPlan:
    """One sample of an instance-only look-alike: where it goes and which quirks it carries."""

    split: str
    split_dir: str
    stem: str
    sample_id: str
    shape: tuple[int, int]
    count: int
    quirks: tuple[str, ...] = ()


def synthesize_instance_only(
    dataset: str,
    root: Path,
    plans: Sequence[InstanceOnlyPlan],
    *,
    seed: int,
    image_suffix: str,
    inst_dtype: np.dtype | type = np.int32,
) -> SynthResult:
    """Write a CPM17/Kumar-style look-alike: ``<split_dir>/Images/<stem><suffix>`` and
    ``<split_dir>/Labels/<stem>.mat`` with key ``inst_map``.

    Quirks per plan: ``"empty"`` (no nuclei), ``"overlap"`` (overlapping nuclei, later on top),
    ``"noncontiguous"`` (ids ``1000 + 7k``), ``"float_inst_map"`` (inst_map stored as float64),
    ``"rgba"`` (image with an alpha channel).
    """
    from harmonize.datasets._synth import he_image, write_rgb

    rng = np.random.default_rng(seed)
    samples: dict[str, SynthTruth] = {}
    quirks: dict[str, list[str]] = {}
    for plan in plans:
        count = 0 if "empty" in plan.quirks else plan.count
        inst = draw_instances(rng, plan.shape, count, overlap="overlap" in plan.quirks)
        if "noncontiguous" in plan.quirks:
            inst = relabel(inst, {k: 1000 + 7 * k for k in range(1, count + 1)})
        img = he_image(rng, inst)
        sdir = root / plan.split_dir
        img_path = sdir / "Images" / f"{plan.stem}{image_suffix}"
        lab_path = sdir / "Labels" / f"{plan.stem}.mat"
        write_rgb(img_path, img, alpha="rgba" in plan.quirks)
        stored = inst.astype(np.float64 if "float_inst_map" in plan.quirks else inst_dtype)
        write_mat(lab_path, {"inst_map": stored})
        for q in plan.quirks:
            quirks.setdefault(q, []).append(str(img_path if q == "rgba" else lab_path))
        ids = np.unique(inst)
        samples[plan.sample_id] = SynthTruth(
            sample_id=plan.sample_id,
            split=plan.split,
            semantic=(inst > 0).astype(np.uint8),
            instance=inst,
            instance_classes={int(i): 1 for i in ids[ids > 0]},
            image_shape=plan.shape,
            meta={"quirks": list(plan.quirks)},
        )
    return SynthResult(dataset=dataset, root=root, samples=samples, quirks=quirks)
