"""SUN RGB-D, 37-class PNG release (``sun_rgbd.tgz``): the generic layout reader, and two quirks.

Layout (chrischoy/SUN_RGBD README.md and train37.txt / test37.txt; what MSeg's
``download_scripts/mseg_download_sunrgbd.sh`` downloads and extracts in place)::

    image/train/img-000001.jpg ... img-005285.jpg      label37/train/00000001.png ... 00005285.png
    image/test/img-000001.jpg  ... img-005050.jpg      label37/test/00000001.png  ... 00005050.png

MSeg's script then renames ``label37/`` to ``label38/`` (the same files); either folder is read.
A label PNG is single-channel, value = class id: 0 unlabeled, 1..37 as ``seg37list.mat``
(``taxonomies/datasets/sunrgbd.yaml``). The taxonomy's ``layout:`` block declares the folders and
the encoding, read by :class:`~harmonize.datasets.layout.LayoutReader`; this module adds what a
path template cannot say:

* a sample's image is named by its number with another width and a prefix: label ``%08d.png``
  goes with image ``img-%06d.jpg`` (the number, not the file stem, is shared);
* both splits number from 1, so the sample id is ``<split>_img-%06d`` (unique over the splits);
* the label PNGs' bit depth is stated by no source [U]: 8- and 16-bit files are both read, a
  16-bit file holding a value above 255 is refused.

The official release (``SUNRGBD.zip`` and ``SUNRGBDtoolbox.zip`` unpacked side by side under the
root) is read when the root holds no PNG release (option ``release`` picks one when both are
there)::

    SUNRGBD/<sensor>/.../<scene>/image/<name>.jpg
    SUNRGBDtoolbox/Metadata/SUNRGBD2Dseg.mat      MATLAB v7.3 (HDF5): SUNRGBD2Dseg(i).seglabel
    SUNRGBDtoolbox/Metadata/SUNRGBDMeta.mat       SUNRGBDMeta(i).rgbpath, .sequenceName
    SUNRGBDtoolbox/traintestSUNRGBD/allsplit.mat  alltrain, alltest: the scenes of each split

Sources: the release README ("The index in SUNRGBD2Dseg(imageId).seglabel are mapping the object
name in seg37list"; "allsplit.mat: stores the training and testing split"), quoted in
davidstutz/superpixel-benchmark data/SUNRGBD/README.md; the field names, the HDF5 layout
(``SUNRGBD2Dseg/seglabel`` holds one object reference per image to a column-major, i.e. (W, H),
array) and the ``/n/fs/sun3d/data/`` prefix of the paths in SUNRGBDMeta.mat and allsplit.mat are
as third-party extraction scripts read them [U: not stated by the release]. Entry i of
SUNRGBD2Dseg goes with entry i of SUNRGBDMeta [U: by position, as those scripts pair them].
Sample ids: the scene folder below ``SUNRGBD/``, ``/`` -> ``_`` (``kv1_NYUdata_NYU0001``).
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any, ClassVar

import numpy as np

from harmonize.datasets import _io, register
from harmonize.datasets.layout import LayoutReader
from harmonize.errors import CorruptFileError, MissingFileError, MissingKeyError, ShapeError
from harmonize.types import RawSample, SampleRef

__all__ = [
    "META_MAT",
    "PATH_PREFIX",
    "SEG_MAT",
    "SPLITS",
    "SPLIT_MAT",
    "SunrgbdReader",
    "image_stem",
    "label_stem",
    "mat_sample_id",
    "sample_id",
]

#: The official release's files, relative to the root.
SEG_MAT = "SUNRGBDtoolbox/Metadata/SUNRGBD2Dseg.mat"
META_MAT = "SUNRGBDtoolbox/Metadata/SUNRGBDMeta.mat"
SPLIT_MAT = "SUNRGBDtoolbox/traintestSUNRGBD/allsplit.mat"
#: Prefix of the absolute paths in SUNRGBDMeta.mat and allsplit.mat (the authors' file server).
PATH_PREFIX = "/n/fs/sun3d/data/"

SPLITS: tuple[str, ...] = ("train", "test")
#: A label file's stem: the sample number, 8 digits (train37.txt: label37/train/00000001.png).
_LABEL_STEM = re.compile(r"^[0-9]{8}$")


def label_stem(index: int) -> str:
    """The label file stem of sample ``index`` (1-based): ``%08d``."""
    return f"{index:08d}"


def image_stem(index: int) -> str:
    """The image file stem of sample ``index`` (1-based): ``img-%06d``."""
    return f"img-{index:06d}"


def sample_id(split: str, index: int) -> str:
    """harmonize's sample id of sample ``index`` of ``split`` (both splits number from 1)."""
    return f"{split}_{image_stem(index)}"


def mat_sample_id(scene: str) -> str:
    """harmonize's sample id of an official-release scene folder (``SUNRGBD/kv1/NYUdata/NYU0001``)."""
    return scene.removeprefix("SUNRGBD/").replace("/", "_")


def _relative(path: str) -> str:
    """A path of the .mat files relative to the release root (prefix and trailing ``/`` dropped)."""
    return path.removeprefix(PATH_PREFIX).strip("/")


def _mat_str(value: Any, path: Path, what: str) -> str:
    """The string inside a loadmat value (a char array, possibly wrapped in 1-element arrays)."""
    v = value
    while isinstance(v, np.ndarray) and v.dtype == object and v.size == 1:
        v = v.reshape(-1)[0]
    if isinstance(v, np.ndarray) and v.dtype.kind == "U" and v.size == 1:
        v = str(v.reshape(-1)[0])
    if not isinstance(v, str):
        raise CorruptFileError(f"{what} is not a string ({type(v).__name__})", path=path)
    return v


def _mat_strings(value: Any, path: Path, what: str) -> list[str]:
    """The strings of a loadmat cell array."""
    if not isinstance(value, np.ndarray) or value.dtype != object:
        raise CorruptFileError(f"{what} is not a cell array of paths", path=path)
    return [_mat_str(v, path, f"{what}{{{i + 1}}}") for i, v in enumerate(value.reshape(-1))]


class SunrgbdReader(LayoutReader):
    """sun_rgbd.tgz's ``image/`` and ``label37/`` folders, or the official ``.mat`` release (see
    the module docstring).

    Options
    -------
    release : {None, "png", "mat"}
        Which release to read; ``None`` (default) reads the one found under the root and refuses
        to guess when both are there.
    """

    name = "sunrgbd"
    extra_options: ClassVar[dict[str, Any]] = {"release": None}

    def check_options(self, options: dict[str, Any]) -> dict[str, Any]:
        opts = super().check_options(options)
        release = opts["release"]
        if release not in (None, "png", "mat"):
            raise ValueError(f"release must be 'png' or 'mat', not {release!r}")
        has_mat = (self.root / SEG_MAT).is_file()
        if release is None and self._base is not None and has_mat:
            raise ValueError(
                f"{self.root} holds both SUN RGB-D releases (label37/ PNGs and {SEG_MAT}); "
                "open the reader with release='png' or release='mat'"
            )
        self._mat = release == "mat" or (release is None and self._base is None and has_mat)
        return opts

    def _list(self) -> Iterator[SampleRef]:
        if self._mat:
            yield from self._list_mat()
            return
        for ref in super()._list():
            label = Path(ref.paths[1])
            if not _LABEL_STEM.match(label.stem):
                raise CorruptFileError(
                    "label file name is not the sample number in 8 digits (%08d.png, as "
                    "label37/train/00000001.png); cannot tell which image it labels",
                    path=label,
                )
            index = int(label.stem)
            img = Path(ref.paths[0])
            img = img.with_name(img.name.replace(label.stem, image_stem(index), 1))
            yield dataclasses.replace(
                ref,
                sample_id=sample_id(ref.split, index),
                paths=(str(img), *ref.paths[1:]),
                meta={**ref.meta, "index": index},
            )

    # the official release -----------------------------------------------------------------
    def _list_mat(self) -> Iterator[SampleRef]:
        seg_p = self.root / SEG_MAT
        if not seg_p.is_file():
            raise MissingFileError(f"no {SEG_MAT} under the SUN RGB-D root", path=seg_p)
        meta_p, split_p = self.root / META_MAT, self.root / SPLIT_MAT
        meta = _io.read_mat(meta_p, ["SUNRGBDMeta"])["SUNRGBDMeta"]
        if not isinstance(meta, np.ndarray) or meta.dtype.names is None:
            raise CorruptFileError("SUNRGBDMeta is not a struct array", path=meta_p)
        for field in ("rgbpath", "sequenceName"):
            if field not in meta.dtype.names:
                raise MissingKeyError(
                    f"SUNRGBDMeta has no field {field!r} (fields: {list(meta.dtype.names)})",
                    path=meta_p,
                )
        meta = meta.reshape(-1)
        split_mat = _io.read_mat(split_p, ["alltrain", "alltest"])
        scene_split: dict[str, str] = {}
        for split, key in (("train", "alltrain"), ("test", "alltest")):
            for scene in _mat_strings(split_mat[key], split_p, key):
                scene_split[_relative(scene)] = split
        n = len(self._seg_refs(seg_p))
        if n != len(meta):
            raise CorruptFileError(
                f"SUNRGBD2Dseg has {n} entries but {META_MAT} describes {len(meta)} images; "
                "entry i must label image i",
                path=seg_p,
            )
        for i in range(n):
            scene = _relative(_mat_str(meta[i]["sequenceName"], meta_p, f"SUNRGBDMeta({i + 1})"))
            rgb = _relative(_mat_str(meta[i]["rgbpath"], meta_p, f"SUNRGBDMeta({i + 1}).rgbpath"))
            if scene not in scene_split:
                raise CorruptFileError(
                    f"scene {scene!r} of image {i + 1} is in neither alltrain nor alltest",
                    path=split_p,
                )
            split = scene_split[scene]
            sid = _io.check_sample_id(mat_sample_id(scene), meta_p)
            yield SampleRef(
                self.name,
                sid,
                split,
                (str(self.root / rgb), str(seg_p)),
                ("mat", i),
                {"scene": scene, "sensor": scene.split("/")[1] if "/" in scene else scene},
            )

    @staticmethod
    def _seg_refs(path: Path) -> np.ndarray:
        """The object references of ``SUNRGBD2Dseg/seglabel``, one per image, flat."""
        import h5py

        try:
            with h5py.File(path, "r") as f:
                if "SUNRGBD2Dseg" not in f or "seglabel" not in f["SUNRGBD2Dseg"]:
                    raise MissingKeyError(
                        f"no SUNRGBD2Dseg/seglabel (top-level keys: {sorted(f)})", path=path
                    )
                return np.asarray(f["SUNRGBD2Dseg"]["seglabel"][()]).reshape(-1)
        except OSError as exc:
            raise CorruptFileError(f"not a MATLAB v7.3 (HDF5) file: {exc}", path=path) from exc

    def _read_mat_label(self, path: Path, i: int) -> np.ndarray:
        import h5py

        what = f"SUNRGBD2Dseg({i + 1}).seglabel"
        try:
            with h5py.File(path, "r") as f:
                refs = f["SUNRGBD2Dseg"]["seglabel"]
                ref = np.asarray(refs[()]).reshape(-1)[i]
                ds = f[ref]
                if not isinstance(ds, h5py.Dataset) or ds.ndim != 2:
                    raise ShapeError(f"{what} is not a 2-D array", path=path)
                w, h = ds.shape  # MATLAB stores column-major: (W, H) in HDF5
                _io.check_pixels(h, w, path, what)
                arr = np.asarray(ds[()]).T
        except (OSError, KeyError, ValueError) as exc:
            raise CorruptFileError(f"cannot read {what}: {exc}", path=path) from exc
        if arr.dtype.kind == "f" and not np.array_equal(arr, np.round(arr)):
            raise ShapeError(f"{what} holds non-integer values", path=path)
        if arr.dtype.kind not in "fiub":
            raise ShapeError(f"{what} has dtype {arr.dtype}, not a number", path=path)
        if arr.size and (arr.min() < 0 or arr.max() > 255):
            raise ShapeError(
                f"{what} holds values outside 0..255 ({arr.min()}..{arr.max()}); SUN RGB-D's "
                "37-class labels are 0..37",
                path=path,
            )
        return np.ascontiguousarray(arr.astype(np.uint8))

    def read(self, ref: SampleRef) -> RawSample:
        if ref.key[0] != "mat":
            return super().read(ref)
        seg_p = Path(ref.paths[1])
        sem = self._read_mat_label(seg_p, int(ref.key[1]))
        return RawSample(
            ref=ref,
            semantic=sem,
            instance=None,
            instance_ids=None,
            instance_classes=None,
            meta=dict(ref.meta),
            load_image=self.image_loader(ref.paths[0], sem.shape, seg_p),
        )

    # the PNG release ------------------------------------------------------------------------
    def _read_semantic(self, path: Path) -> tuple[np.ndarray, np.ndarray | None]:
        raw = _io.read_label_png(path, dtypes=(np.uint8, np.uint16))
        if raw.dtype == np.uint16:
            top = int(raw.max(initial=0))
            if top > 255:
                raise ShapeError(
                    f"16-bit label PNG holds value {top}; SUN RGB-D's 37-class labels are 0..37",
                    path=path,
                )
            raw = raw.astype(np.uint8)
        return raw, None


register(
    "sunrgbd",
    reader=SunrgbdReader,
    synthesize="harmonize.lookalike.sunrgbd:synthesize",
    description="SUN RGB-D 37-class PNG release (sun_rgbd.tgz: image/, label37/; 0 unlabeled)",
)
