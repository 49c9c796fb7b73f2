"""COCO-Stuff (164k ``stuffthingmaps`` PNGs and the 10k ``.mat`` release): reader.

The look-alike generator is :mod:`harmonize.lookalike.coco_stuff`.

Native layouts (reference: scene_datasets.md §3.1, §3.2, §3.4)

* **164k**: COCO 2017 images and one label PNG per image with the same 12-digit stem::

      images/{train2017,val2017}/000000xxxxxx.jpg
      annotations/{train2017,val2017}/000000xxxxxx.png     # stuffthingmaps_trainval2017.zip

  The label folder may also be called ``stuffthingmaps_trainval2017`` (or sit under ``dataset/``, as
  the cocostuff README unpacks it); images may sit directly under ``root/{train2017,val2017}``.
  mmsegmentation's converter leaves ``*_labelTrainIds.png`` next to the maps: those are skipped.
  PNG value = COCO-Stuff id - 1 (0..181), 255 = unlabeled; single channel, mode ``L`` or ``P``
  ([U] the real mode is not documented; both give the values through Pillow without conversion).
  The reader returns the raw PNG values (``encoding = "stuffthingmaps_png"``). Values 182..254 are
  not classes; they are returned as stored and the run's ``unknown_values`` decides (error naming
  the file, or ignore). The 11 unused thing values (11, 25, ...) are
  passed through: they never occur in real data, and the taxonomy declares them.
* **10k v1.1**::

      images/COCO_train2014_000000xxxxxx.jpg
      annotations/COCO_train2014_000000xxxxxx.mat          # keys S, names, captions, regionMap...
      imageLists/{train,test,all}.txt                      # stems, 9000 train / 1000 test

  found at ``root``, ``root/dataset`` or ``root/cocostuff-10k-v1.1[/dataset]``. ``S`` holds
  COCO-Stuff ids (0 unlabeled, 1..182); the reader returns it as uint8
  (``encoding = "cocostuff10k_mat"``). [U] The element type of ``S`` is undocumented: any integral
  numeric type is accepted. ``captions`` go to ``meta["captions"]`` when present.

The 164k layout is declared in ``taxonomies/datasets/coco_stuff.yaml`` (``layout:``) and read by the
generic :class:`~harmonize.datasets.layout.LayoutReader`, which this reader extends with the 10k
``.mat`` release. The option ``release="auto" | "164k" | "10k"`` picks the layout; ``auto`` finds whichever is there.
Splits: ``train2017`` / ``val2017`` (164k), ``train`` / ``test`` (10k). Sample id = file stem. There
are no instances in either (semantic only).
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any, ClassVar

import numpy as np

from harmonize.datasets import _io, register
from harmonize.datasets.layout import LayoutReader
from harmonize.errors import ClassIdError, ConfigError, CorruptFileError, ShapeError
from harmonize.types import RawSample, SampleRef

__all__ = ["COCO_STUFF_NAMES", "UNUSED_IDS", "CocoStuffReader"]

#: COCO-Stuff class names by id 1..182 (``labels.txt`` at nightrome/cocostuff 876a7db; index 0 is
#: "unlabeled"). 1..91 things (COCO ids), 92..182 stuff.
_NAMES_TEXT = (
    "person|bicycle|car|motorcycle|airplane|bus|train|truck|boat|traffic light|"
    "fire hydrant|street sign|stop sign|parking meter|bench|bird|cat|dog|horse|sheep|cow|"
    "elephant|bear|zebra|giraffe|hat|backpack|umbrella|shoe|eye glasses|handbag|tie|"
    "suitcase|frisbee|skis|snowboard|sports ball|kite|baseball bat|baseball glove|"
    "skateboard|surfboard|tennis racket|bottle|plate|wine glass|cup|fork|knife|spoon|bowl|"
    "banana|apple|sandwich|orange|broccoli|carrot|hot dog|pizza|donut|cake|chair|couch|"
    "potted plant|bed|mirror|dining table|window|desk|toilet|door|tv|laptop|mouse|remote|"
    "keyboard|cell phone|microwave|oven|toaster|sink|refrigerator|blender|book|clock|vase|"
    "scissors|teddy bear|hair drier|toothbrush|hair brush|banner|blanket|branch|bridge|"
    "building-other|bush|cabinet|cage|cardboard|carpet|ceiling-other|ceiling-tile|cloth|"
    "clothes|clouds|counter|cupboard|curtain|desk-stuff|dirt|door-stuff|fence|floor-marble|"
    "floor-other|floor-stone|floor-tile|floor-wood|flower|fog|food-other|fruit|"
    "furniture-other|grass|gravel|ground-other|hill|house|leaves|light|mat|metal|"
    "mirror-stuff|moss|mountain|mud|napkin|net|paper|pavement|pillow|plant-other|plastic|"
    "platform|playingfield|railing|railroad|river|road|rock|roof|rug|salad|sand|sea|shelf|"
    "sky-other|skyscraper|snow|solid-other|stairs|stone|straw|structural-other|table|tent|"
    "textile-other|towel|tree|vegetable|wall-brick|wall-concrete|wall-other|wall-panel|"
    "wall-stone|wall-tile|wall-wood|water-other|waterdrops|window-blind|window-other|wood"
)
COCO_STUFF_NAMES: tuple[str, ...] = ("unlabeled", *_NAMES_TEXT.split("|"))
#: The 11 COCO thing ids without segmentations (§3.3): declared, never in real label maps.
UNUSED_IDS: frozenset[int] = frozenset({12, 26, 29, 30, 45, 66, 68, 69, 71, 83, 91})
#: Highest COCO-Stuff class id (1..91 things, 92..182 stuff).
MAX_ID = 182
#: Value of unlabeled pixels in the 164k ``stuffthingmaps`` PNGs (which hold id - 1 elsewhere).
PNG_UNLABELED = 255
#: Splits of the 164k and of the 10k release.
SPLITS_164K = ("train2017", "val2017")
SPLITS_10K = ("train", "test")
_ENCODINGS = {"164k": "stuffthingmaps_png", "10k": "cocostuff10k_mat"}


# -- layout ---------------------------------------------------------------------------------------
def _find_10k(root: Path) -> Path | None:
    for cand in (
        root,
        root / "dataset",
        root / "cocostuff-10k-v1.1",
        root / "cocostuff-10k-v1.1" / "dataset",
    ):
        if (cand / "imageLists").is_dir() and (cand / "annotations").is_dir():
            return cand
    return None


# -- decoding -------------------------------------------------------------------------------------
def _integral_2d(a: np.ndarray, path: Path, what: str) -> np.ndarray:
    if a.ndim != 2:
        raise ShapeError(f"{what} must be a 2-D label map, got shape {a.shape}", path=path)
    if not np.issubdtype(a.dtype, np.integer):
        if not np.issubdtype(a.dtype, np.floating) or not np.array_equal(a, np.round(a)):
            raise ShapeError(f"{what} must hold integer labels, got dtype {a.dtype}", path=path)
    return a


def _strings(cell: Any) -> list[str]:
    """MATLAB cell array of strings (as scipy loads it) -> list of str."""
    out: list[str] = []
    for e in np.asarray(cell, dtype=object).reshape(-1):
        e = np.asarray(e)
        out.append(str(e.reshape(-1)[0]) if e.size else "")
    return out


def read_stuffthingmap(path: str | Path) -> np.ndarray:
    """Read a 164k ``stuffthingmaps`` PNG: raw values, uint8 ``(H, W)``, 0..181 or 255.

    Values 182..254 are not COCO-Stuff classes but are returned as stored: the run's
    ``unknown_values`` decides (an :class:`~harmonize.errors.UnmappedValueError` naming the file, or
    ignore). Raises :class:`ShapeError` for non-single-channel or 16-bit PNGs (naming the file).
    """
    return _io.read_label_png(Path(path), dtypes=(np.uint8,))


def read_cocostuff10k_mat(path: str | Path) -> tuple[np.ndarray, dict[str, Any]]:
    """Read a 10k ``.mat``: ``S`` as uint8 ``(H, W)`` (0 unlabeled, 1..182) and metadata.

    Values 183..255 are returned as stored (the run's ``unknown_values`` decides); values that do
    not fit uint8 are a :class:`ClassIdError`.
    """
    p = Path(path)
    mat = _io.read_mat(p, ["S"], optional=["captions", "names"])
    s = _integral_2d(np.asarray(mat["S"]), p, "S")
    if s.size and (s.min() < 0 or s.max() > 255):  # would wrap in uint8; 183..255 go on
        vals = np.unique(s[(s < 0) | (s > 255)]).astype(np.int64).tolist()
        raise ClassIdError(
            f"S holds {sorted(vals)[:10]}, outside 0..255 (COCO-Stuff ids: 0 unlabeled, 1..182)",
            path=p,
        )
    meta: dict[str, Any] = {}
    if "captions" in mat:
        meta["captions"] = _strings(mat["captions"])
    return np.ascontiguousarray(s.astype(np.uint8)), meta


# -- reader ---------------------------------------------------------------------------------------
class CocoStuffReader(LayoutReader):
    """Reader of COCO-Stuff 164k (``stuffthingmaps`` PNGs) or 10k v1.1 (``.mat``).

    The 164k release is the generic layout reader's (``layout:`` in the taxonomy YAML); the 10k
    release is read here.

    Options
    -------
    release : {"auto", "164k", "10k"}
        Which release's layout to read. ``auto`` (default) finds the one present under ``root``
        (both present is an error: choose one). Sets :attr:`encoding` accordingly.
    """

    name = "coco_stuff"
    split_names = SPLITS_164K + SPLITS_10K
    layout_hint = (
        "expected images/{train2017,val2017}/*.jpg with annotations/{train2017,val2017}/*.png "
        "(164k), or images/*.jpg, annotations/*.mat, imageLists/{train,test}.txt (10k)"
    )
    encoding: str | None = "stuffthingmaps_png"
    extra_options: ClassVar[dict[str, Any]] = {"release": "auto"}

    def check_options(self, options: dict[str, Any]) -> dict[str, Any]:
        opts = super().check_options(options)
        release = opts["release"]
        if release not in ("auto", "164k", "10k"):
            raise ValueError(f"release must be 'auto', '164k' or '10k', not {release!r}")
        self._10k = _find_10k(self.root) if release in ("auto", "10k") else None
        if release == "10k":
            self._base = None  # the 164k layout is not read
        if release == "auto":
            if self._10k is not None and self._base is not None:
                raise ConfigError(
                    "both the 164k and the 10k COCO-Stuff layouts are here; pass release='164k' "
                    "or release='10k'",
                    path=self.root,
                )
            release = "10k" if self._10k is not None else "164k"
        self.release = release
        self.encoding = _ENCODINGS[release]
        return {"release": release, "object_classes": opts["object_classes"]}

    def _list(self) -> Iterator[SampleRef]:
        if self.release == "10k":
            yield from self._list_10k()
        else:
            yield from super()._list()

    def _list_10k(self) -> Iterator[SampleRef]:
        base = self._10k
        if base is None:
            return
        for split in SPLITS_10K:
            lst = base / "imageLists" / f"{split}.txt"
            if not lst.is_file():
                continue
            try:
                lines = lst.read_text(encoding="utf-8").splitlines()
            except UnicodeDecodeError as exc:
                raise CorruptFileError(
                    f"split list is not UTF-8 text ({exc.reason})", path=lst
                ) from None
            for n, line in enumerate(lines, start=1):
                stem = line.strip()
                if not stem:
                    continue
                _io.check_sample_id(stem, lst, n)
                stem = stem[:-4] if stem.endswith((".jpg", ".mat")) else stem
                meta: dict[str, Any] = {"release": "10k"}
                tail = stem.rsplit("_", 1)[-1]
                if tail.isdigit():
                    meta["image_id"] = int(tail)
                yield SampleRef(
                    self.name,
                    stem,
                    split,
                    (
                        str(base / "images" / f"{stem}.jpg"),
                        str(base / "annotations" / f"{stem}.mat"),
                    ),
                    ("10k",),
                    meta,
                )

    def read(self, ref: SampleRef) -> RawSample:
        if ref.key[0] != "10k":
            return super().read(ref)
        img_p, lab_p = Path(ref.paths[0]), Path(ref.paths[1])
        sem, extra = read_cocostuff10k_mat(lab_p)
        load_image = self.image_loader(img_p, sem.shape, lab_p)
        return RawSample(
            ref=ref,
            semantic=sem,
            instance=None,
            meta={**ref.meta, **extra},
            load_image=load_image,
        )


register(
    "coco_stuff",
    reader=CocoStuffReader,
    synthesize="harmonize.lookalike.coco_stuff:synthesize",
    description="COCO-Stuff 164k stuffthingmaps PNGs (0-based, 255 unlabeled) or 10k .mat (S)",
)
