"""Cityscapes (mcordts/cityscapesScripts): reader of the native layout.

The look-alike generator is :mod:`harmonize.lookalike.cityscapes`.

Layout (scene_datasets.md §1.1)::

    {root}/leftImg8bit/{split}/{city}/{stem}_leftImg8bit.png          RGB 8-bit
    {root}/gtFine/{split}/{city}/{stem}_gtFine_labelIds.png           8-bit grey, label id 0..33
    {root}/gtFine/{split}/{city}/{stem}_gtFine_instanceIds.png        16-bit grey, id*1000+k or id
    {root}/gtFine/{split}/{city}/{stem}_gtFine_polygons.json          polygons (§1.4)
    {root}/gtFine/{split}/{city}/{stem}_gtFine_color.png              RGBA colours (not read)

with ``{stem} = {city}_{seq:06d}_{frame:06d}`` and ``gtCoarse`` in place of ``gtFine`` for the coarse
annotations (splits train / val / train_extra). gtFine has train / val / test.

The reader gives, per frame:

* ``semantic`` = the labelIds map (uint8, native label ids 0..33), decoded from the instanceIds PNG
  (``v if v < 1000 else v // 1000``; the labelIds PNG holds the same, see :class:`CityscapesReader`);
* ``instance`` = the instanceIds value where it is ``>= 1000`` (``id*1000+k``, native values kept,
  e.g. 26001), else 0 (uint16); group polygons (``cargroup``) and stuff carry no instance;
* ``instance_ids`` / ``instance_classes`` = the instance values present and their class ``v // 1000``.

Frames that ship only ``*_gtFine_labelIds.png`` (several third-party distributions carry no
instanceIds) give ``semantic`` from it and no instances (``instance`` ``None``, ``meta["instances"]``
``False``, so the run's label space records the source as giving no instances).

When the instanceIds PNG is absent (``source="auto"``) or when asked to (``source="polygons"``), the maps
are rasterized from ``*_polygons.json`` exactly as cityscapesScripts' ``json2labelImg`` and
``json2instanceImg`` do (§1.5): PIL ``ImageDraw.polygon`` in file order, later objects on top,
background 0, ``deleted`` objects skipped, unknown labels ending in ``group`` stripped of the suffix
and drawn with the plain class id, labels with a negative id (license plate) never drawn, and a
per-class instance counter that advances in object order (so a fully overdrawn instance leaves a gap).
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, ClassVar

import numpy as np

from harmonize.datasets import register
from harmonize.datasets._io import (
    check_pixels,
    read_json,
    read_label_png,
)
from harmonize.datasets.base import Reader
from harmonize.errors import (
    ClassIdError,
    CorruptFileError,
    MissingFileError,
    MissingKeyError,
    ShapeError,
    SizeMismatchError,
)
from harmonize.types import RawSample, SampleRef

__all__ = [
    "ANNOTATIONS",
    "LABELS",
    "CityscapesReader",
    "Label",
    "decode_label_ids",
    "draw_plan",
    "rasterize_instance_ids",
    "rasterize_polygons",
]


# -- labels.py (copy of the columns a reader needs) ----------------------------------------------
@dataclass(frozen=True)
class Label:
    """One row of cityscapesScripts' ``helpers/labels.py``: name, id, hasInstances, colour."""

    name: str
    id: int
    has_instances: bool
    color: tuple[int, int, int]


#: ``cityscapesscripts/helpers/labels.py`` (scene_datasets.md §1.2): every label, in file order.
#: A copy, because dataset readers never import the taxonomy package; a test checks it against
#: the installed cityscapesscripts.
LABELS: tuple[Label, ...] = (
    Label("unlabeled", 0, False, (0, 0, 0)),
    Label("ego vehicle", 1, False, (0, 0, 0)),
    Label("rectification border", 2, False, (0, 0, 0)),
    Label("out of roi", 3, False, (0, 0, 0)),
    Label("static", 4, False, (0, 0, 0)),
    Label("dynamic", 5, False, (111, 74, 0)),
    Label("ground", 6, False, (81, 0, 81)),
    Label("road", 7, False, (128, 64, 128)),
    Label("sidewalk", 8, False, (244, 35, 232)),
    Label("parking", 9, False, (250, 170, 160)),
    Label("rail track", 10, False, (230, 150, 140)),
    Label("building", 11, False, (70, 70, 70)),
    Label("wall", 12, False, (102, 102, 156)),
    Label("fence", 13, False, (190, 153, 153)),
    Label("guard rail", 14, False, (180, 165, 180)),
    Label("bridge", 15, False, (150, 100, 100)),
    Label("tunnel", 16, False, (150, 120, 90)),
    Label("pole", 17, False, (153, 153, 153)),
    Label("polegroup", 18, False, (153, 153, 153)),
    Label("traffic light", 19, False, (250, 170, 30)),
    Label("traffic sign", 20, False, (220, 220, 0)),
    Label("vegetation", 21, False, (107, 142, 35)),
    Label("terrain", 22, False, (152, 251, 152)),
    Label("sky", 23, False, (70, 130, 180)),
    Label("person", 24, True, (220, 20, 60)),
    Label("rider", 25, True, (255, 0, 0)),
    Label("car", 26, True, (0, 0, 142)),
    Label("truck", 27, True, (0, 0, 70)),
    Label("bus", 28, True, (0, 60, 100)),
    Label("caravan", 29, True, (0, 0, 90)),
    Label("trailer", 30, True, (0, 0, 110)),
    Label("train", 31, True, (0, 80, 100)),
    Label("motorcycle", 32, True, (0, 0, 230)),
    Label("bicycle", 33, True, (119, 11, 32)),
    Label("license plate", -1, False, (0, 0, 142)),
)
NAME2LABEL: dict[str, Label] = {lab.name: lab for lab in LABELS}
#: Label ids that may appear in a labelIds PNG (0..33; the license plate is never drawn).
_MAX_ID = max(lab.id for lab in LABELS)
_VALID_ID = np.zeros(65536, bool)
_VALID_ID[[lab.id for lab in LABELS if lab.id >= 0]] = True
_HAS_INSTANCES = np.zeros(_MAX_ID + 1, bool)
_HAS_INSTANCES[[lab.id for lab in LABELS if lab.has_instances]] = True
#: Label id -> RGB colour (the ``_gtFine_color.png`` encoding).
COLORS = np.zeros((_MAX_ID + 1, 3), np.uint8)
for _lab in LABELS:
    if _lab.id >= 0:
        COLORS[_lab.id] = _lab.color

ANNOTATIONS: tuple[str, ...] = ("gtFine", "gtCoarse")
#: Splits that exist per annotation type (§1.1): gtCoarse adds train_extra and has no test.
SPLITS_BY_ANNOTATION: dict[str, tuple[str, ...]] = {
    "gtFine": ("train", "val", "test"),
    "gtCoarse": ("train", "val", "train_extra"),
}
SOURCES: tuple[str, ...] = ("auto", "png", "polygons")

_LABEL_FILE = re.compile(
    r"^(?P<stem>(?P<city>.+)_(?P<seq>\d{6})_(?P<frame>\d{6}))_(?P<ann>gtFine|gtCoarse)_"
    r"(?P<kind>labelIds\.png|instanceIds\.png|polygons\.json)$"
)


# -- decoding -------------------------------------------------------------------------------------
def decode_label_ids(instance_ids: np.ndarray) -> np.ndarray:
    """Label id per pixel of an instanceIds map: ``v if v < 1000 else v // 1000`` (§1.3).

    Parameters
    ----------
    instance_ids : ndarray, shape (H, W), integer
        Values as in ``*_instanceIds.png``.

    Returns
    -------
    ndarray, shape (H, W), same dtype as the input
    """
    v = np.asarray(instance_ids)
    return np.where(v < 1000, v, v // 1000).astype(v.dtype, copy=False)


def _present(a: np.ndarray) -> np.ndarray:
    """Sorted distinct values of a uint8/uint16 array (a one-pass histogram: faster than a sort)."""
    from harmonize.engine.kernels import value_counts

    return np.flatnonzero(value_counts(a)).astype(a.dtype)


# -- polygons (json2labelImg / json2instanceImg) --------------------------------------------------
def _json_size(doc: Any, path: Path) -> tuple[int, int]:
    if not isinstance(doc, Mapping):
        raise CorruptFileError("top level of a polygon file must be a JSON object", path=path)
    for key in ("imgHeight", "imgWidth", "objects"):
        if key not in doc:
            raise MissingKeyError(f"missing key {key!r} (keys present: {sorted(doc)})", path=path)
    try:  # cityscapesScripts' Annotation casts with int()
        h, w = int(doc["imgHeight"]), int(doc["imgWidth"])
    except (TypeError, ValueError) as exc:
        raise CorruptFileError(f"imgHeight/imgWidth are not integers ({exc})", path=path) from exc
    if h <= 0 or w <= 0:
        raise CorruptFileError(f"image size {h}x{w} (imgHeight x imgWidth) is empty", path=path)
    check_pixels(h, w, path, "polygon file (imgHeight x imgWidth)")
    if not isinstance(doc["objects"], list):
        raise CorruptFileError("'objects' must be a JSON list", path=path)
    return h, w


def _points(poly: Any, i: int, label: str, path: Path) -> list[tuple[float, float]]:
    bad = ShapeError(
        f"object #{i} ({label!r}): 'polygon' must be a list of [x, y] number pairs", path=path
    )
    if not isinstance(poly, list):
        raise bad
    out: list[tuple[float, float]] = []
    for p in poly:
        if not isinstance(p, (list, tuple)) or len(p) < 2:
            raise bad
        x, y = p[0], p[1]
        if not all(isinstance(c, (int, float)) and not isinstance(c, bool) for c in (x, y)):
            raise bad
        out.append((x, y))
    return out


def draw_plan(
    doc: Any,
    path: str | os.PathLike[str],
    *,
    labels: Mapping[str, Label] | None = None,
    counter_key: Mapping[str, Any] | None = None,
    min_points: int = 0,
    table: str = "a Cityscapes label (cityscapesscripts/helpers/labels.py)",
) -> list[tuple[int, list, int]]:
    """What ``json2instanceImg`` draws for a parsed polygon file, in drawing order.

    Applies cityscapesScripts' rules (scene_datasets.md §1.4-1.5): deleted objects skipped, an
    unknown label ending in ``group`` stripped to its class and marked as a group, unknown labels
    rejected, labels with a negative id (license plate) skipped, and ``id*1000+k`` with a per-class
    counter ``k`` (starting at 0, advancing in object order) for individual objects of classes with
    instances; the plain class id otherwise. The keywords give the same rules over another label
    table (IDD's AutoNUE ``anue_labels.py``, :mod:`harmonize.datasets.idd`).

    Parameters
    ----------
    doc : mapping
        The parsed ``*_polygons.json`` (keys ``imgHeight``, ``imgWidth``, ``objects``).
    path : path-like
        The file it came from (named in errors).
    labels : mapping of str to Label, optional
        Label name -> label (default: Cityscapes' ``labels.py``).
    counter_key : mapping, optional
        Label name -> the key of its instance counter (default: the name; IDD counts per level3Id,
        so labels of one level-3 class share a counter).
    min_points : int
        Objects with fewer points are not drawn (IDD's ``json2labelImg`` skips polygons of fewer
        than 3); their instance counter still advances.
    table : str
        What an unknown label is not, for the error message.

    Returns
    -------
    list of (object index, polygon points [(x, y), ...], instanceIds value)
    """
    p = Path(path)
    _json_size(doc, p)
    name2label = NAME2LABEL if labels is None else labels
    counters: dict[Any, int] = {}
    plan: list[tuple[int, list, int]] = []
    for i, obj in enumerate(doc["objects"]):
        if not isinstance(obj, Mapping):
            raise CorruptFileError(f"object #{i} is not a JSON object", path=p)
        for key in ("label", "polygon"):
            if key not in obj:
                raise MissingKeyError(f"object #{i} has no {key!r} key", path=p)
        label = str(obj["label"])
        points = _points(obj["polygon"], i, label, p)
        if obj.get("deleted", 0):
            continue
        group = False
        if label not in name2label and label.endswith("group"):
            label, group = label[: -len("group")], True
        lab = name2label.get(label)
        if lab is None:
            raise ClassIdError(
                f"object #{i}: label {str(obj['label'])!r} is not {table}",
                path=p,
            )
        value = lab.id
        if lab.has_instances and not group:
            key = label if counter_key is None else counter_key[label]
            k = counters.get(key, 0)
            if k >= 1000:
                raise CorruptFileError(
                    f"more than 1000 {label!r} instances: id*1000+k would overflow", path=p
                )
            value = lab.id * 1000 + k
            counters[key] = k + 1
        if value < 0 or len(points) < min_points:
            continue
        plan.append((i, points, value))
    return plan


def rasterize_instance_ids(
    doc: Any, path: str | os.PathLike[str], *, background: int = 0, **rules: Any
) -> np.ndarray:
    """Rasterize a parsed polygon file into its instanceIds map (uint16, ``id*1000+k`` or plain
    id), as ``json2instanceImg`` does; see :func:`rasterize_polygons`. ``background`` is the
    value of undrawn pixels (Cityscapes 0; IDD 35, its ``unlabeled`` id); ``rules`` go to
    :func:`draw_plan`."""
    from PIL import Image, ImageDraw

    p = Path(path)
    h, w = _json_size(doc, p)
    plan = draw_plan(doc, p, **rules)
    canvas = Image.new("I", (w, h), background)
    drawer = ImageDraw.Draw(canvas)
    for i, points, value in plan:
        try:
            drawer.polygon(points, fill=value)
        except (TypeError, ValueError) as exc:
            raise CorruptFileError(f"object #{i}: cannot draw its polygon ({exc})", path=p) from exc
    return np.asarray(canvas, dtype=np.int32).astype(np.uint16)


def rasterize_polygons(doc: Any, path: str | os.PathLike[str]) -> tuple[np.ndarray, np.ndarray]:
    """Rasterize a parsed polygon file into labelIds and instanceIds maps, as cityscapesScripts does.

    Draws :func:`draw_plan` with PIL ``ImageDraw.polygon`` (fill only) on a mode ``I`` canvas of
    background 0, in file order; the labelIds map is the decoded instance image (group and stuff
    polygons carry their plain id, so decoding gives exactly what ``json2labelImg`` draws).

    Parameters
    ----------
    doc : mapping
        Parsed ``*_polygons.json``.
    path : path-like
        The file (named in errors).

    Returns
    -------
    label_ids : ndarray, shape (imgHeight, imgWidth), uint8
    instance_ids : ndarray, shape (imgHeight, imgWidth), uint16
        In the ``*_instanceIds.png`` encoding (``id*1000+k`` or plain id).
    """
    inst = rasterize_instance_ids(doc, path)
    return decode_label_ids(inst).astype(np.uint8), inst


# -- reader ---------------------------------------------------------------------------------------
class CityscapesReader(Reader):
    """Read Cityscapes ``gtFine`` (or ``gtCoarse``) from its native layout.

    Options
    -------
    annotations : {"gtFine", "gtCoarse"}
        Which annotation folder to read (default ``"gtFine"``). gtCoarse has the splits train, val
        and train_extra.
    source : {"auto", "png", "polygons"}
        Where labels come from: the ``_instanceIds.png``, the ``_polygons.json`` rasterized as
        cityscapesScripts does, or (``"auto"``, default) the PNG when present and the polygons
        otherwise. With ``"png"`` or ``"auto"``, a frame that has neither instanceIds nor polygons
        but a ``_labelIds.png`` is read from it: semantic only, no instances.
    cross_check : bool
        With PNG labels, also decode ``_labelIds.png`` and check that it equals the label ids
        decoded from ``_instanceIds.png`` (default ``False``).

    Notes
    -----
    Sample ids are the frame stems (``aachen_000000_000019``); ``meta`` holds ``city``, ``seq``,
    ``frame``, ``annotations`` and ``source``.

    The labelIds map is decoded from ``_instanceIds.png`` (``v if v < 1000 else v // 1000``), not
    read from ``_labelIds.png``: cityscapesScripts draws both files from the same polygons in the
    same order, with group polygons and classes without instances written as the plain label id
    in both (``json2labelImg.py``, ``json2instanceImg.py``), so the labelIds PNG is redundant.
    Reading one 16-bit PNG instead of two halves the decoding. ``cross_check=True`` reads both
    and reports a frame whose two files disagree as corrupt, naming both. Only a frame without
    instanceIds (and, under ``"auto"``, without polygons) is read from its labelIds PNG
    (``meta["source"] == "labelIds"``), with no instances. A frame lacking what its ``source``
    needs is a :class:`~harmonize.errors.MissingFileError` naming the file and what a frame needs.
    """

    name = "cityscapes"
    split_names: ClassVar[tuple[str, ...]] = ("train", "val", "test", "train_extra")
    layout_hint = (
        "expected {root}/leftImg8bit/{split}/{city}/{stem}_leftImg8bit.png and "
        "{root}/gtFine/{split}/{city}/{stem}_gtFine_{labelIds.png,instanceIds.png,polygons.json}"
    )

    def check_options(self, options: dict[str, Any]) -> dict[str, Any]:
        opts = dict(options)
        ann = opts.pop("annotations", "gtFine")
        source = opts.pop("source", "auto")
        cross_check = opts.pop("cross_check", False)
        if opts:
            raise TypeError(
                f"{self.name} reader: unknown option(s) {sorted(opts)}; "
                "known: annotations, source, cross_check"
            )
        if not isinstance(cross_check, bool):
            raise ValueError(f"cross_check must be true or false, not {cross_check!r}")
        if ann not in ANNOTATIONS:
            raise ValueError(f"annotations must be one of {list(ANNOTATIONS)}, not {ann!r}")
        if source not in SOURCES:
            raise ValueError(f"source must be one of {list(SOURCES)}, not {source!r}")
        if self.splits is not None:
            missing = [s for s in self.splits if s not in SPLITS_BY_ANNOTATION[ann]]
            if missing:
                raise ValueError(
                    f"{ann} has no split(s) {missing}; it has {list(SPLITS_BY_ANNOTATION[ann])}"
                )
        return {"annotations": ann, "source": source, "cross_check": cross_check}

    # -- paths ---------------------------------------------------------------------------------
    @property
    def annotations(self) -> str:
        return self.options["annotations"]

    def image_path(self, split: str, city: str, stem: str) -> Path:
        """``{root}/leftImg8bit/{split}/{city}/{stem}_leftImg8bit.png``."""
        return self.root / "leftImg8bit" / split / city / f"{stem}_leftImg8bit.png"

    def label_path(self, split: str, city: str, stem: str, kind: str) -> Path:
        """``{root}/{ann}/{split}/{city}/{stem}_{ann}_{kind}`` (kind e.g. ``labelIds.png``)."""
        ann = self.annotations
        return self.root / ann / split / city / f"{stem}_{ann}_{kind}"

    def _scan_splits(self) -> tuple[str, ...]:
        ann_splits = SPLITS_BY_ANNOTATION[self.annotations]
        wanted = self.splits if self.splits is not None else self.split_names
        return tuple(s for s in ann_splits if s in wanted and s in self.split_names)

    # -- listing -------------------------------------------------------------------------------
    def _list(self) -> Iterator[SampleRef]:
        ann_dir = self.root / self.annotations
        if not ann_dir.is_dir():
            raise MissingFileError(
                f"no {self.annotations}/ folder under the {self.name} root ({self.layout_hint})",
                path=ann_dir,
            )
        for split in self._scan_splits():
            split_dir = ann_dir / split
            if not split_dir.is_dir():
                continue
            for city in sorted(e.name for e in os.scandir(split_dir) if e.is_dir()):
                yield from self._list_city(split, city)

    def _list_city(self, split: str, city: str) -> Iterator[SampleRef]:
        kinds: dict[str, set[str]] = {}
        parts: dict[str, tuple[str, str, str]] = {}
        for entry in os.scandir(self.root / self.annotations / split / city):
            m = _LABEL_FILE.match(entry.name)
            if m is None or m["ann"] != self.annotations:
                continue
            kinds.setdefault(m["stem"], set()).add(m["kind"])
            parts[m["stem"]] = (m["city"], m["seq"], m["frame"])
        for stem in sorted(kinds):
            mode = self._mode(kinds[stem])
            img = self.image_path(split, city, stem)
            if mode == "png":
                pngs = ["instanceIds.png"] + (
                    ["labelIds.png"] if self.options["cross_check"] else []
                )
                labels = tuple(self.label_path(split, city, stem, k) for k in pngs)
            elif mode == "labelIds":
                labels = (self.label_path(split, city, stem, "labelIds.png"),)
            else:
                labels = (self.label_path(split, city, stem, "polygons.json"),)
            city_name, seq, frame = parts[stem]
            meta: dict[str, Any] = {
                "city": city_name,
                "seq": seq,
                "frame": frame,
                "annotations": self.annotations,
                "source": mode,
            }
            if mode == "labelIds":
                meta["instances"] = False  # the frame's files carry no instance labels
            yield SampleRef(
                dataset=self.name,
                sample_id=stem,
                split=split,
                paths=(str(img), *(str(x) for x in labels)),
                key=(split, city, stem, mode),
                meta=meta,
            )

    def _mode(self, have: set[str]) -> str:
        """Where a frame's labels come from, given the label files it has (see ``source``)."""
        source = self.options["source"]
        if source == "polygons":
            return "polygons"
        pngs = {"instanceIds.png"} | ({"labelIds.png"} if self.options["cross_check"] else set())
        if pngs <= have:
            return "png"
        if source == "auto" and "polygons.json" in have:
            return "polygons"
        if "instanceIds.png" not in have and "labelIds.png" in have:
            return "labelIds"
        return "png"  # reading names the missing file

    # -- reading -------------------------------------------------------------------------------
    def read(self, ref: SampleRef) -> RawSample:
        split, city, stem, mode = ref.key
        if mode == "labelIds":
            label_path = self._require(split, city, stem, "labelIds.png")
            semantic = self._label_ids(
                read_label_png(label_path, dtypes=(np.uint8, np.uint16), palette=False), label_path
            )
            return RawSample(
                ref=ref,
                semantic=semantic,
                meta=dict(ref.meta),
                load_image=self.image_loader(
                    self.image_path(split, city, stem), semantic.shape, label_path
                ),
            )
        if mode == "png":
            label_path = self._require(split, city, stem, "instanceIds.png")
            encoded = read_label_png(label_path, dtypes=(np.uint16, np.uint8), palette=False)
        else:
            label_path = self._require(split, city, stem, "polygons.json")
            encoded = rasterize_instance_ids(read_json(label_path), label_path)
        semantic, instance, ids = self._split(encoded.astype(np.uint16, copy=False), label_path)
        if mode == "png" and self.options["cross_check"]:
            self._cross_check(semantic, self._require(split, city, stem, "labelIds.png"))
        return RawSample(
            ref=ref,
            semantic=semantic,
            instance=instance,
            instance_ids=ids,
            instance_classes=(ids // 1000).astype(np.int32),
            meta=dict(ref.meta),
            load_image=self.image_loader(
                self.image_path(split, city, stem), semantic.shape, label_path
            ),
        )

    def _require(self, split: str, city: str, stem: str, kind: str) -> Path:
        """The frame's ``kind`` label file; a :class:`MissingFileError` saying what a frame needs."""
        path = self.label_path(split, city, stem, kind)
        if not path.is_file():
            source = self.options["source"]
            if source == "polygons":
                needs = "_polygons.json"
            elif self.options["cross_check"]:
                needs = "_instanceIds.png and _labelIds.png (cross_check)"
            elif source == "png":
                needs = "_instanceIds.png, or _labelIds.png alone (semantic only)"
            else:
                needs = (
                    "_instanceIds.png (semantic and instances), _polygons.json (rasterized) "
                    "or _labelIds.png (semantic only)"
                )
            raise MissingFileError(
                f"{path.name} not found; with source={source!r} a {self.annotations} frame "
                f"needs {needs}",
                path=path,
            )
        return path

    @staticmethod
    def _label_ids(lab: np.ndarray, path: Path) -> np.ndarray:
        """A ``_labelIds.png`` map checked to hold Cityscapes label ids only, as uint8."""
        present = _present(lab)
        bad = present[~_VALID_ID[present]]
        if bad.size:
            raise ClassIdError(
                f"label ids {bad[:10].tolist()} are not Cityscapes label ids (0..{_MAX_ID})",
                path=path,
            )
        return lab.astype(np.uint8, copy=False)

    @staticmethod
    def _split(encoded: np.ndarray, path: Path) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """labelIds, instance map and instance values of an instanceIds-encoded map, checked."""
        from harmonize.engine.kernels import split_encoded

        try:
            semantic, instance, counts = split_encoded(encoded, 1000)
        except ValueError as exc:
            raise ClassIdError(
                f"instance values decode to no Cityscapes label id (0..{_MAX_ID}): {exc}",
                path=path,
            ) from exc
        values = np.flatnonzero(counts)
        cls = np.where(values < 1000, values, values // 1000)
        bad = values[~_VALID_ID[cls]]
        if bad.size:
            raise ClassIdError(
                f"instance values {bad[:10].tolist()} decode to no Cityscapes label id "
                f"(0..{_MAX_ID})",
                path=path,
            )
        ids = values[values >= 1000]
        if ids.size and not _HAS_INSTANCES[ids // 1000].all():
            wrong = ids[~_HAS_INSTANCES[ids // 1000]]
            raise ClassIdError(
                f"instance values {wrong[:10].tolist()} encode classes without instances",
                path=path,
            )
        return semantic, instance, ids.astype(np.int64)

    def _cross_check(self, semantic: np.ndarray, lab_path: Path) -> None:
        """Check ``_labelIds.png`` against the label ids decoded from ``_instanceIds.png``."""
        lab = read_label_png(lab_path, dtypes=(np.uint8, np.uint16), palette=False)
        inst_path = lab_path.with_name(lab_path.name.replace("labelIds", "instanceIds"))
        if lab.shape != semantic.shape:
            raise SizeMismatchError(
                f"instanceIds map is {semantic.shape} (H, W) but {lab_path.name} is {lab.shape}",
                path=inst_path,
            )
        if np.array_equal(lab, semantic):
            return
        present = _present(lab)
        bad = present[~_VALID_ID[present]]
        if bad.size:
            raise ClassIdError(
                f"label ids {bad.tolist()} are not Cityscapes label ids (0..{_MAX_ID})",
                path=lab_path,
            )
        differ = lab != semantic
        first = int(np.flatnonzero(differ.ravel())[0])
        r, c = divmod(first, lab.shape[1])
        raise CorruptFileError(
            f"disagrees with {lab_path}: {int(differ.sum())} pixels whose class decoded from "
            f"the instance id (v if v < 1000 else v // 1000) differs from the label id, first "
            f"at (row {r}, col {c}): label id {int(semantic[r, c])} decoded vs "
            f"{int(lab[r, c])} in the labelIds PNG",
            path=inst_path,
        )


register(
    "cityscapes",
    reader=CityscapesReader,
    synthesize="harmonize.lookalike.cityscapes:synthesize",
    description="Cityscapes gtFine/gtCoarse: labelIds/instanceIds PNGs or rasterized polygons",
)
