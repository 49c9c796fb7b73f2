"""COCO-Stuff (164k ``stuffthingmaps`` PNGs and the 10k ``.mat`` release): reader and generator.

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
from harmonize.datasets.base import SynthResult, SynthTruth
from harmonize.datasets.layout import LayoutReader
from harmonize.errors import ClassIdError, ConfigError, CorruptFileError, ShapeError
from harmonize.types import RawSample, SampleRef

__all__ = ["COCO_STUFF_NAMES", "UNUSED_IDS", "CocoStuffReader", "synthesize"]

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
_MAX_ID = 182
_PNG_UNLABELED = 255
_SPLITS_164K = ("train2017", "val2017")
_SPLITS_10K = ("train", "test")
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
    split_names = _SPLITS_164K + _SPLITS_10K
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
        for split in _SPLITS_10K:
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


# -- generator ------------------------------------------------------------------------------------
_SKY = (157, 106)  # sky-other, clouds
_MIDDLE = (169, 96, 135, 128, 113, 172, 97)  # tree, building-other, mountain, house, fence, ...
_GROUND = (124, 149, 154, 159, 140, 145, 111, 155)  # grass, road, sand, snow, pavement, ...
_THINGS = (1, 2, 3, 4, 6, 10, 15, 16, 18, 19, 21, 28, 34, 38, 41, 62, 64, 67)


def _photo_colours() -> np.ndarray:
    """Plausible RGB per COCO-Stuff id 0..182 (fixed; a few natural colours, the rest spread)."""
    cols = np.random.default_rng(182).integers(40, 220, size=(_MAX_ID + 1, 3)).astype(np.uint8)
    fixed = {0: (0, 0, 0), 157: (135, 190, 235), 106: (225, 230, 240), 124: (70, 150, 60),
             149: (90, 90, 95), 154: (210, 190, 140), 159: (245, 245, 250), 169: (40, 110, 40),
             155: (40, 90, 160), 1: (200, 150, 120)}  # fmt: skip
    for k, v in fixed.items():
        cols[k] = v
    return cols


_COLOURS = _photo_colours()


def _scene_ids(rng: np.random.Generator, shape: tuple[int, int]) -> np.ndarray:
    """A plausible outdoor scene in COCO-Stuff ids (uint8): sky, a middle band, ground, a few things
    and sometimes an unlabeled (0) patch."""
    from skimage.draw import ellipse, polygon

    h, w = shape
    cols = np.arange(w)
    horizon = h * rng.uniform(0.3, 0.5) + h * 0.06 * np.sin(cols / max(w, 1) * rng.uniform(3, 9))
    ground = horizon + h * rng.uniform(0.1, 0.25)
    rows = np.arange(h)[:, None]
    ids = np.full(shape, rng.choice(_SKY), np.uint8)
    ids[rows >= horizon[None, :]] = rng.choice(_MIDDLE)
    ids[rows >= ground[None, :]] = rng.choice(_GROUND)
    for _ in range(int(rng.integers(1, 5))):
        cls = int(rng.choice(_THINGS))
        r = rng.uniform(0.08, 0.22) * min(h, w)
        cy, cx = rng.uniform(h * 0.3, h - r * 0.5), rng.uniform(r * 0.5, w - r * 0.5)
        if rng.random() < 0.5:
            rr, cc = ellipse(cy, cx, r, r * rng.uniform(0.4, 1.0), shape=shape)
        else:
            k = int(rng.integers(3, 7))
            ang = np.sort(rng.uniform(0, 2 * np.pi, k))
            rr, cc = polygon(cy + r * np.sin(ang), cx + r * np.cos(ang), shape=shape)
        ids[rr, cc] = cls
    if rng.random() < 0.5:  # unlabeled pixels (annotators' leftovers)
        rr, cc = ellipse(
            rng.uniform(0, h), rng.uniform(0, w), 0.06 * h + 1, 0.1 * w + 1, shape=shape
        )
        ids[rr, cc] = 0
    return ids


def _edge_scenes(shape: tuple[int, int]) -> list[tuple[str, np.ndarray]]:
    h, w = shape
    boundary = np.zeros(shape, np.uint8)
    boundary[:, : w // 4] = 1  # person: PNG value 0
    boundary[:, w // 4 : w // 2] = 90  # toothbrush, last used thing: PNG 89
    boundary[:, w // 2 : 3 * w // 4] = 92  # banner, first stuff: PNG 91
    boundary[:, 3 * w // 4 :] = 182  # wood, the largest id: PNG 181
    boundary[: h // 8, :] = 0  # unlabeled row band
    tiny = np.array([[157, 157, 157, 157, 157], [157, 1, 1, 124, 124], [124, 124, 124, 124, 0]])
    return [
        ("all_unlabeled", np.zeros(shape, np.uint8)),
        ("tiny_image", tiny.astype(np.uint8)),
        ("boundary_ids", boundary),
    ]


def _names_cell() -> np.ndarray:
    cell = np.empty((_MAX_ID, 1), dtype=object)
    for i, name in enumerate(COCO_STUFF_NAMES[1:]):
        cell[i, 0] = name
    return cell


def _captions(ids: np.ndarray) -> np.ndarray:
    present = [COCO_STUFF_NAMES[int(v)] for v in np.unique(ids) if v != 0]
    cell = np.empty((5, 1), dtype=object)
    for i in range(5):
        words = present[i % max(len(present), 1) :] + present[: i % max(len(present), 1)]
        cell[i, 0] = "a photo of " + (" and ".join(words[:3]) if words else "nothing")
    return cell


def _region_maps(ids: np.ndarray, block: int = 8) -> tuple[np.ndarray, np.ndarray]:
    """Grid "superpixels" and their stuff label (majority of stuff ids, 0 if none), 1-based."""
    h, w = ids.shape
    nr, nc = -(-h // block), -(-w // block)
    region = (np.arange(h)[:, None] // block) * nc + (np.arange(w)[None, :] // block) + 1
    labels = np.zeros((nr * nc, 1), np.uint8)
    for r in range(1, nr * nc + 1):
        v = ids[region == r]
        v = v[v > 91]
        if v.size:
            vals, counts = np.unique(v, return_counts=True)
            labels[r - 1, 0] = vals[np.argmax(counts)]
    return region.astype(np.uint16), labels


def synthesize(
    out: str | Path,
    *,
    n: int = 3,
    seed: int = 0,
    size: tuple[int, int] = (96, 128),
    edge_cases: bool = False,
    release: str = "164k",
) -> SynthResult:
    """Write a miniature COCO-Stuff look-alike (164k PNG or 10k ``.mat`` release) under ``out``.

    Parameters
    ----------
    out : path-like
        Root folder (the reader's root).
    n : int
        Number of images, alternately train and val (164k) / train and test (10k).
    seed : int
        Random seed. The drawn scenes depend on ``seed``, ``n``, ``size`` and ``edge_cases`` only, so
        the two releases written with the same arguments hold the same scenes.
    size : (H, W)
        Image size in pixels.
    edge_cases : bool
        Add an all-unlabeled image, a 3x5 image, an image with the boundary ids (1, 90, 92, 182);
        164k: a mode ``P`` label PNG and a leftover mmsegmentation ``_labelTrainIds.png``; 10k: an
        ``S`` stored as double.
    release : {"164k", "10k"}

    Returns
    -------
    SynthResult
        Truth in the release's raw file values (PNG values, or ``S``).
    """
    if release not in ("164k", "10k"):
        raise ValueError(f"release must be '164k' or '10k', not {release!r}")
    from harmonize.datasets._synth import scene_image, write_mat, write_rgb

    rng = np.random.default_rng(seed)
    shape = (int(size[0]), int(size[1]))
    root = Path(out)
    scenes: list[tuple[str, np.ndarray]] = [("", _scene_ids(rng, shape)) for _ in range(n)]
    if edge_cases:
        scenes += _edge_scenes(shape)
    samples: dict[str, SynthTruth] = {}
    quirks: dict[str, list[str]] = {}
    lists: dict[str, list[str]] = {"train": [], "test": []}
    for i, (quirk, ids) in enumerate(scenes):
        image_id = 139 + 1000 * i + int(seed) % 997
        rgb = scene_image(rng, ids, _COLOURS)
        if release == "164k":
            split = _SPLITS_164K[i % 2]
            stem = f"{image_id:012d}"
            png = np.where(ids == 0, _PNG_UNLABELED, ids.astype(np.int64) - 1).astype(np.uint8)
            write_rgb(root / "images" / split / f"{stem}.jpg", rgb)
            lab_p = root / "annotations" / split / f"{stem}.png"
            if quirk == "boundary_ids":  # [U] real mode unknown: exercise mode P (grey palette)
                grey = np.repeat(np.arange(256, dtype=np.uint8)[:, None], 3, axis=1)
                _io.write_png(lab_p, png, palette=grey)
                quirks.setdefault("palette_png", []).append(str(lab_p))
            else:
                _io.write_png(lab_p, png)
            truth = png
        else:
            split = _SPLITS_10K[i % 2]
            stem = f"COCO_train2014_{image_id:012d}"
            write_rgb(root / "images" / f"{stem}.jpg", rgb)
            lab_p = root / "annotations" / f"{stem}.mat"
            region, region_labels = _region_maps(ids)
            s = ids.astype(np.float64) if quirk == "boundary_ids" else ids
            if quirk == "boundary_ids":
                quirks.setdefault("S_double", []).append(str(lab_p))
            write_mat(
                lab_p,
                {
                    "S": s,
                    "names": _names_cell(),
                    "captions": _captions(ids),
                    "regionMapStuff": region,
                    "regionLabelsStuff": region_labels,
                },
            )
            lists[split].append(stem)
            truth = ids
        if quirk:
            quirks.setdefault(quirk, []).append(str(lab_p))
        samples[stem] = SynthTruth(
            sample_id=stem,
            split=split,
            semantic=truth,
            instance=None,
            image_shape=ids.shape,
            meta={"release": release, "image_id": image_id},
        )
    if release == "164k" and edge_cases and samples:
        # mmsegmentation's coco_stuff164k.py writes converted copies next to the raw maps
        first = next(iter(samples.values()))
        left = root / "annotations" / first.split / f"{first.sample_id}_labelTrainIds.png"
        _io.write_png(left, np.full(first.semantic.shape, 200, np.uint8))
        quirks.setdefault("mmseg_leftover", []).append(str(left))
    if release == "10k":
        lst = root / "imageLists"
        lst.mkdir(parents=True, exist_ok=True)
        for split, stems in lists.items():
            (lst / f"{split}.txt").write_text("".join(f"{s}\n" for s in sorted(stems)))
        every = sorted(lists["train"] + lists["test"])
        (lst / "all.txt").write_text("".join(f"{s}\n" for s in every))
    return SynthResult("coco_stuff", root, samples, {}, quirks)


register(
    "coco_stuff",
    reader=CocoStuffReader,
    synthesize=synthesize,
    description="COCO-Stuff 164k stuffthingmaps PNGs (0-based, 255 unlabeled) or 10k .mat (S)",
)
