"""PanNuke (pan-cancer nuclei, 19 tissues, 5 classes), native three-fold release.

Layout (reference ``nuclei_datasets.md`` §2.1; pathml ``_process_downloaded_pannuke``)::

    Fold 1/README.md                          <- "Fold" + SPACE + number, capital F
    Fold 1/images/fold1/images.npy            (N, 256, 256, 3) float64, RGB values 0..255
    Fold 1/images/fold1/types.npy             (N,) unicode tissue names (types live under images/)
    Fold 1/masks/README.md, by-nc-sa.md
    Fold 1/masks/fold1/masks.npy              (N, 256, 256, 6) float64
    Fold 2/ ... fold2/ ...     Fold 3/ ... fold3/ ...

Mask channels (§2.3): 0 Neoplastic, 1 Inflammatory, 2 Connective/Soft tissue, 3 Dead,
4 (Non-neoplastic) Epithelial hold instance ids (large, non-contiguous, unique within a channel
only); 5 is a binary background channel. Native class ids (agreed for harmonize): channel ``c`` ->
``c + 1``, background 0, and **255 void** where all six channels are 0 (whole empty patches and
scattered pixels exist in the release, §2.7: they are not background).

Conversion (:func:`harmonize.engine.kernels.collapse_channels`): per pixel the **later channel
wins** where class channels overlap (the official evaluation's ``binarize``, PanNuke-metrics
``utils.py``); ids are made unique across channels by offsetting channel ``c`` by the sum of the
maximum ids of the channels before it (CellViT ``prepare_pannuke.py``, running offsets), so
``(channel, id)`` is the instance key. A disconnected id (one id, several blobs) stays one
instance, as in the file.

Memory: every array is opened with ``np.load(mmap_mode="r")``; listing reads only the ``.npy``
headers and ``types.npy`` (a few kB), and reading sample ``k`` copies one ``(H, W, 6)`` mask out of
the memory map. A whole fold (~3.4 GB of masks) is never loaded.

Decisions:

* Mask values must be finite non-negative integers (stored as float64); anything else (NaN, 0.5,
  -1) is a :class:`~harmonize.errors.CorruptFileError` naming ``masks.npy`` and the patch index.
* Images are float64 0..255 in the release; :meth:`RawSample.image` rounds to the nearest integer
  and clips to 0..255 before casting to uint8 (reference loaders truncate with ``astype(uint8)``,
  which is the same for the integer-valued floats of the release).
* ``types.npy``: the reference calls its values Python ``str`` [V], the audited release stores a
  ``<U13`` unicode array [S]. Unicode and byte-string arrays are read with ``allow_pickle=False``.
  An object (pickled) array is refused unless the reader option ``allow_pickle_types=True`` is
  given: unpickling runs code from the file, so only enable it for files you trust.
* Tissue names are kept as stored; unknown names are not an error (tissue is metadata, not a class).
* ``magnification="40x"`` / ``microns_per_pixel=0.25`` are PanNuke as used by HoVer-Net/tiatoolbox
  (§0) [S]; the release itself does not state a per-patch resolution.
"""

from __future__ import annotations

import functools
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np

from harmonize.datasets import register
from harmonize.datasets._io import check_label_file
from harmonize.datasets.base import Reader
from harmonize.errors import (
    CorruptFileError,
    MissingFileError,
    ShapeError,
    SizeMismatchError,
)
from harmonize.types import RawSample, SampleRef

__all__ = [
    "BACKGROUND",
    "CHANNEL_CLASSES",
    "TISSUES",
    "VOID",
    "PanNukeReader",
    "fold_paths",
    "load_image",
]

#: Native class id of mask channels 0..4 (channel + 1); channel 5 is background.
CHANNEL_CLASSES = np.array([1, 2, 3, 4, 5], np.int64)
BACKGROUND_CHANNEL = 5
BACKGROUND = 0
#: Native value of pixels where all six channels are 0 (void / ignore).
VOID = 255
N_CHANNELS = 6

#: The 19 tissue names, exact strings (PanNuke-metrics ``run.py``; CellViT dataset_config.yaml).
TISSUES: tuple[str, ...] = (
    "Adrenal_gland", "Bile-duct", "Bladder", "Breast", "Cervix", "Colon", "Esophagus", "HeadNeck",
    "Kidney", "Liver", "Lung", "Ovarian", "Pancreatic", "Prostate", "Skin", "Stomach", "Testis",
    "Thyroid", "Uterus",
)  # fmt: skip

FOLDS = (1, 2, 3)


def fold_paths(root: str | Path, fold: int) -> tuple[Path, Path, Path, Path]:
    """``(fold_dir, images.npy, types.npy, masks.npy)`` of fold ``fold`` (1-based) in ``root``."""
    d = Path(root) / f"Fold {fold}"
    return (
        d,
        d / "images" / f"fold{fold}" / "images.npy",
        d / "images" / f"fold{fold}" / "types.npy",
        d / "masks" / f"fold{fold}" / "masks.npy",
    )


def open_npy(path: str | Path) -> np.ndarray:
    """Memory-map a ``.npy`` file read-only (``allow_pickle=False``), with typed errors."""
    p = check_label_file(path, ".npy file")
    try:
        return np.load(p, mmap_mode="r", allow_pickle=False)
    except (ValueError, OSError, EOFError) as exc:  # truncated, bad header, object dtype
        raise CorruptFileError(f"cannot memory-map .npy file ({exc})", path=p) from exc


def load_types(path: str | Path, *, allow_pickle: bool = False) -> np.ndarray:
    """Load ``types.npy`` as a 1-D array of ``str`` (unicode, bytes, or trusted pickled objects)."""
    p = check_label_file(path, "types.npy")
    try:
        arr = np.load(p, allow_pickle=False)
    except ValueError as exc:
        if "allow_pickle" not in str(exc):
            raise CorruptFileError(f"cannot read .npy file ({exc})", path=p) from exc
        if not allow_pickle:
            raise ShapeError(
                "types.npy holds pickled Python objects, not a unicode array; loading it runs "
                "code from the file. If you trust it, pass allow_pickle_types=True to the reader",
                path=p,
            ) from exc
        try:
            arr = np.load(p, allow_pickle=True)  # opted in by the user (allow_pickle_types)
        except Exception as exc2:
            raise CorruptFileError(f"cannot unpickle types.npy ({exc2})", path=p) from exc2
    except (OSError, EOFError) as exc:
        raise CorruptFileError(f"cannot read .npy file ({exc})", path=p) from exc
    if arr.ndim != 1:
        raise ShapeError(f"types.npy must be 1-D (N,), got shape {arr.shape}", path=p)
    if arr.dtype.kind == "S":
        arr = np.char.decode(arr, "utf-8")
    elif arr.dtype.kind == "O":
        if not all(isinstance(v, str) for v in arr.tolist()):
            raise ShapeError("types.npy holds non-string objects", path=p)
        arr = arr.astype(str)
    elif arr.dtype.kind != "U":
        raise ShapeError(f"types.npy must hold strings, got dtype {arr.dtype}", path=p)
    return arr


def load_image(path: str | Path, index: int) -> np.ndarray:
    """Patch ``index`` of ``images.npy`` as ``(H, W, 3)`` uint8 (rounded, clipped to 0..255)."""
    mm = open_npy(path)
    a = np.asarray(mm[index])
    if a.dtype == np.uint8:
        return np.ascontiguousarray(a)
    if np.issubdtype(a.dtype, np.floating) and not np.all(np.isfinite(a)):
        raise CorruptFileError(f"patch {index} holds NaN or infinite values", path=path)
    return np.clip(np.rint(a), 0, 255).astype(np.uint8)


def _check_mask_values(mask: np.ndarray, path: Path, index: int) -> None:
    inst = mask[..., : len(CHANNEL_CLASSES)]
    if np.issubdtype(inst.dtype, np.floating):
        if not np.all(np.isfinite(mask)):
            raise CorruptFileError(f"patch {index}: mask holds NaN or infinite values", path=path)
        if not np.array_equal(inst, np.floor(inst)):
            raise CorruptFileError(
                f"patch {index}: instance channels hold non-integer ids", path=path
            )
    if inst.size and inst.min() < 0:
        raise CorruptFileError(f"patch {index}: mask holds negative ids", path=path)


class PanNukeReader(Reader):
    """Read PanNuke's native folds ``Fold 1`` .. ``Fold 3`` (see the module docstring).

    Parameters
    ----------
    root : path-like
        Folder holding ``Fold 1/``, ``Fold 2/``, ``Fold 3/`` (any subset; a fold requested with
        ``splits`` must exist), or a folder holding ``PanNuke/`` with them.
    splits : sequence of {"fold1", "fold2", "fold3"}, optional
    on_error : {"raise", "skip"}
    allow_pickle_types : bool, default False
        Accept a pickled (object-dtype) ``types.npy``. Unpickling executes code from the file:
        only for files you trust.

    Notes
    -----
    Samples: ids ``fold1_00042`` (fold, 0-based index in the fold's arrays); ``semantic`` uint8
    (0 background, 1..5 channel + 1, 255 void); ``instance`` int32 (unique across channels);
    ``instance_ids`` / ``instance_classes`` (class = channel + 1 of the instance); meta
    ``tissue``, ``fold``, ``index``, ``magnification``, ``microns_per_pixel``.
    """

    name = "pannuke"
    split_names = ("fold1", "fold2", "fold3")
    layout_hint = (
        "expected 'Fold 1/images/fold1/images.npy', 'Fold 1/images/fold1/types.npy' and "
        "'Fold 1/masks/fold1/masks.npy' (and Fold 2, Fold 3)"
    )

    def check_options(self, options: dict[str, Any]) -> dict[str, Any]:
        opts = dict(options)
        allow = opts.pop("allow_pickle_types", False)
        if opts:
            raise TypeError(f"pannuke reader options: allow_pickle_types; got {sorted(opts)}")
        if not isinstance(allow, bool):
            raise TypeError("allow_pickle_types must be a bool")
        return {"allow_pickle_types": allow}

    def base_dir(self) -> Path:
        """Folder holding the ``Fold k`` folders: ``root``, or ``root/PanNuke`` (where the
        look-alike generator puts them) when ``root`` has none."""
        if any(fold_paths(self.root, k)[0].is_dir() for k in FOLDS):
            return self.root
        inner = self.root / "PanNuke"
        if any(fold_paths(inner, k)[0].is_dir() for k in FOLDS):
            return inner
        return self.root

    def _fold(self, fold: int) -> tuple[Path, Path, Path, list[str]]:
        """Check fold ``fold``'s three arrays (headers only); return their paths and tissues."""
        _, images_p, types_p, masks_p = fold_paths(self.base_dir(), fold)
        masks = open_npy(masks_p)
        types = load_types(types_p, allow_pickle=self.options["allow_pickle_types"])
        if masks.ndim != 4 or masks.shape[3] != N_CHANNELS:
            raise ShapeError(
                f"masks must be (N, H, W, {N_CHANNELS}) (5 class channels + background), "
                f"got {masks.shape}",
                path=masks_p,
            )
        _check_numeric(masks, masks_p)
        n = masks.shape[0]
        if types.shape[0] != n:
            raise ShapeError(
                f"types.npy holds {types.shape[0]} entries but {masks_p} holds {n}", path=types_p
            )
        if self.images:  # else images.npy is neither required nor read
            images = open_npy(images_p)
            if images.ndim != 4 or images.shape[3] != 3:
                raise ShapeError(f"images must be (N, H, W, 3), got {images.shape}", path=images_p)
            _check_numeric(images, images_p)
            if masks.shape[0] != images.shape[0]:
                raise ShapeError(
                    f"masks.npy holds {n} patches but {images_p} holds {images.shape[0]}",
                    path=masks_p,
                )
            if images.shape[1:3] != masks.shape[1:3]:
                raise SizeMismatchError(
                    f"mask patches are {masks.shape[1:3]} (H, W) but {images_p} patches are "
                    f"{images.shape[1:3]}",
                    path=masks_p,
                )
        return images_p, types_p, masks_p, types.tolist()

    def _list(self) -> Iterator[SampleRef]:
        base = self.base_dir()
        for fold in FOLDS:
            split = f"fold{fold}"
            if self.splits is not None and split not in self.splits:
                continue
            fold_dir = fold_paths(base, fold)[0]
            if not fold_dir.is_dir():
                if self.splits is not None:
                    raise MissingFileError(
                        f"split {split!r} was requested but its folder 'Fold {fold}' is missing",
                        path=fold_dir,
                    )
                continue
            images_p, types_p, masks_p, tissues = self._fold(fold)
            for i, tissue in enumerate(tissues):
                yield SampleRef(
                    dataset=self.name,
                    sample_id=f"{split}_{i:05d}",
                    split=split,
                    paths=(str(images_p), str(masks_p), str(types_p)),
                    key=(fold, i),
                    meta={
                        "tissue": tissue,
                        "fold": fold,
                        "index": i,
                        "magnification": "40x",
                        "microns_per_pixel": 0.25,
                    },
                )

    def read(self, ref: SampleRef) -> RawSample:
        from harmonize.engine.kernels import collapse_channels

        _, index = ref.key
        images_p, masks_p = Path(ref.paths[0]), Path(ref.paths[1])
        masks = open_npy(masks_p)
        if masks.ndim != 4 or masks.shape[3] != N_CHANNELS or index >= masks.shape[0]:
            raise ShapeError(
                f"masks.npy has shape {masks.shape}; patch {index} not available "
                "(file changed since listing?)",
                path=masks_p,
            )
        mask = np.array(masks[index])  # copy one patch out of the memory map
        del masks
        _check_mask_values(mask, masks_p, index)
        try:
            sem, inst, ids, classes = collapse_channels(
                mask,
                CHANNEL_CLASSES,
                background_channel=BACKGROUND_CHANNEL,
                background=BACKGROUND,
                void=VOID,
            )
        except ValueError as exc:  # id overflow after offsetting
            raise CorruptFileError(f"patch {index}: {exc}", path=masks_p) from exc
        return RawSample(
            ref=ref,
            semantic=sem,
            instance=inst,
            instance_ids=ids,
            instance_classes=classes,
            meta=dict(ref.meta),
            load_image=functools.partial(load_image, images_p, index) if self.images else None,
        )


def _check_numeric(arr: np.ndarray, path: Path) -> None:
    if not (np.issubdtype(arr.dtype, np.floating) or np.issubdtype(arr.dtype, np.integer)):
        raise ShapeError(f"expected a numeric array, got dtype {arr.dtype}", path=path)


register(
    "pannuke",
    reader=PanNukeReader,
    synthesize="harmonize.lookalike.pannuke:synthesize",
    description="PanNuke nuclei, 5 classes + void (Fold 1..3 .npy arrays, memory-mapped)",
)
