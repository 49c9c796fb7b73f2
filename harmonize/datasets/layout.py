"""The generic reader of a dataset declared by a ``layout:`` block.

Its look-alike generator is :mod:`harmonize.lookalike.layout`.

A dataset taxonomy (``taxonomies/datasets/<name>.yaml``) with a ``layout:`` block is read without
any Python of its own (see ``docs/adding-a-dataset.md``)::

    layout:
      roots: [".", VOC2012, VOCdevkit/VOC2012]      # candidate dataset folders, first found wins
      splits:
        names: [train, val]
        list: ImageSets/Segmentation/{split}.txt    # or no list: {split} is a folder
      image: JPEGImages/{stem}.jpg
      semantic: {path: SegmentationClass/{stem}.png, encoding: index}
      instance: {path: SegmentationObject/{stem}.png, none: [0, 255], optional: true}
      stem_meta: '^(?P<year>[0-9]{4})_'
      meta: {source: voc2012}

The taxonomy loader validates the block (:class:`harmonize.taxonomy.models.Layout`); the registry
hands this module plain data only -- the block as a dict and one dict per native class (file
``value``, ``id``, ``name``, ``role``, ``instances``, ``color``) -- so no reader imports pydantic.

Reading goes through the same helpers as the bespoke readers: split-list ids through
:func:`~harmonize.datasets._io.check_sample_id` (no path traversal), label files through
:func:`~harmonize.datasets._io.check_label_file` (no lossy label files), every decode through the
pixel limit, :func:`~harmonize.datasets._io.check_same_size` for image and label sizes, and the
base reader's duplicate-id check. Values the taxonomy does not declare are returned as stored and
the run's ``unknown_values`` decides; an ``rgb`` label colour that is no class's colour cannot be
returned as a value and is an :class:`~harmonize.errors.UnmappedValueError` naming the file.

Label encodings: ``index`` (the stored single-channel value: grey, or a palette PNG's index, never
its colour), ``palette`` (index, and the PNG must be a palette image), ``rgb`` (colour -> class
through the taxonomy's colour table), ``instance16`` (16-bit, ``class * divisor + i`` on instance
pixels, the class elsewhere), ``packed16`` (16-bit, ``class * divisor + i`` on every pixel; every
pixel of a class with instances is in object ``value + 1``, as Mapillary Vistas' instances PNGs). Separate instance PNGs (``instance:``) hold an object index per
pixel; their class is the one semantic class under the object (``object_classes="strict"``, the
default, refuses an object on two classes or on background) or the engine's majority vote
(``object_classes="vote"``).
"""

from __future__ import annotations

import fnmatch
import re
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any, ClassVar

import numpy as np

from harmonize.datasets import _io
from harmonize.datasets.base import Reader
from harmonize.errors import CorruptFileError, UnmappedValueError
from harmonize.types import RawSample, SampleRef

__all__ = ["LayoutReader", "decode_rgb", "fill_template", "make_reader", "object_classes"]

#: Roles of native values that are no class: skipped under an object, never drawn as objects.
_NO_CLASS_ROLES = ("void", "unlabeled", "ambiguous")


# -- templates ------------------------------------------------------------------------------------
def fill_template(template: str, split: str, stem: str) -> str:
    """``template`` with ``{split}`` and ``{stem}`` filled in (the reader's and generator's paths)."""
    return template.replace("{split}", split).replace("{stem}", stem)


def _split_template(template: str, split: str) -> tuple[str, str, str]:
    """``(folder, prefix, suffix)`` of ``template`` for ``split``: files are folder/prefix*suffix."""
    t = template.replace("{split}", split)
    folder, _, name = t.rpartition("/")
    prefix, _, suffix = name.partition("{stem}")
    return folder, prefix, suffix


def _first_existing(base: Path, templates: list[str], split: str) -> str:
    """The first template whose folder exists under ``base`` for ``split`` (else the first)."""
    for t in templates:
        if (base / _split_template(t, split)[0]).is_dir():
            return t
    return templates[0]


def _stem_meta(pattern: re.Pattern[str] | None, stem: str) -> dict[str, Any]:
    if pattern is None:
        return {}
    m = pattern.match(stem)
    if m is None:
        return {}
    return {
        k: int(v) if v.isascii() and v.isdigit() else v
        for k, v in m.groupdict().items()
        if v is not None
    }


# -- decoding -------------------------------------------------------------------------------------
def decode_rgb(
    rgb: np.ndarray, colors: Mapping[tuple[int, int, int], int], path: Path
) -> np.ndarray:
    """Class values of an ``(H, W, 3)`` colour-coded label image through ``colors`` (RGB -> value).

    Raises :class:`UnmappedValueError` naming ``path`` and the first unknown colours.
    """
    packed = (
        (rgb[..., 0].astype(np.uint32) << 16) | (rgb[..., 1].astype(np.uint32) << 8) | rgb[..., 2]
    )
    keys = np.array(sorted((r << 16) | (g << 8) | b for r, g, b in colors), np.uint32)
    by_key = {(r << 16) | (g << 8) | b: v for (r, g, b), v in colors.items()}
    vals = np.array([by_key[int(k)] for k in keys], np.int64)
    idx = np.clip(np.searchsorted(keys, packed), 0, len(keys) - 1)
    hit = keys[idx] == packed
    if not hit.all():
        bad = np.unique(packed[~hit])
        shown = [((int(k) >> 16) & 255, (int(k) >> 8) & 255, int(k) & 255) for k in bad[:5]]
        raise UnmappedValueError(
            f"label colour(s) {shown}{' ...' if len(bad) > 5 else ''} ({int((~hit).sum())} "
            "pixels) are the color of no class in the dataset taxonomy",
            path=path,
        )
    dtype = np.uint8 if vals.max(initial=0) <= 255 else np.uint16
    return np.ascontiguousarray(vals.astype(dtype)[idx])


def object_classes(
    inst: np.ndarray,
    sem: np.ndarray,
    path: Path,
    *,
    void: tuple[int, ...] = (),
    background: tuple[int, ...] = (),
) -> tuple[np.ndarray, np.ndarray]:
    """Class of every object of ``inst`` from the semantic map under it (``void`` pixels skipped).

    Raises :class:`CorruptFileError` naming ``path`` when an object covers no class, two classes
    or a ``background`` value.
    """
    ids = np.unique(inst)
    ids = ids[ids != 0]
    on = (inst != 0) & ~np.isin(sem, void)
    pairs = np.unique((inst[on].astype(np.int64) << 32) | sem[on].astype(np.int64))
    pid, pcls = pairs >> 32, pairs & 0xFFFFFFFF
    classes = np.zeros(len(ids), sem.dtype)
    for i, k in enumerate(ids.tolist()):
        cls = pcls[pid == k]
        if len(cls) != 1 or int(cls[0]) in background:
            what = "only void" if len(cls) == 0 else f"class values {cls.tolist()}"
            raise CorruptFileError(
                f"object {k} covers {what} in the semantic labels; an object must lie on exactly "
                "one class that is not background (open the reader with object_classes='vote' "
                "to take the majority)",
                path=path,
            )
        classes[i] = cls[0]
    return ids.astype(np.int64), classes


# -- reader ---------------------------------------------------------------------------------------
class LayoutReader(Reader):
    """Reader of a dataset declared by a taxonomy ``layout:`` block (see the module docstring).

    Classes are made per dataset by :func:`make_reader` (the registry does it); a bespoke reader
    whose format is partly a plain layout subclasses this one and gets its ``layout`` the same way.

    Options
    -------
    object_classes : {"strict", "vote"}
        With separate instance files: the class of each object is the one class under it
        (``strict``, default) or the engine's majority vote (``vote``).
    """

    #: The validated ``layout:`` block as plain data (set by :func:`make_reader`).
    layout: ClassVar[dict[str, Any]] = {}
    #: One plain dict per native class: value, id, name, role, instances, color.
    values: ClassVar[tuple[dict[str, Any], ...]] = ()
    #: Further options of a subclass: name -> default.
    extra_options: ClassVar[dict[str, Any]] = {}

    def check_options(self, options: dict[str, Any]) -> dict[str, Any]:
        if not self.layout:
            raise TypeError(
                f"{type(self).__name__} has no layout: open it with "
                "harmonize.datasets.open_reader, which gives it the taxonomy's layout: block"
            )
        known = {"object_classes": "strict", **self.extra_options}
        unknown = sorted(set(options) - set(known))
        if unknown:
            raise TypeError(
                f"{self.name} reader: unknown option(s) {unknown}; known: {sorted(known)}"
            )
        opts = {**known, **options}
        if opts["object_classes"] not in ("strict", "vote"):
            raise ValueError(
                f"object_classes must be 'strict' or 'vote', not {opts['object_classes']!r}"
            )
        self._base = self._find_base()
        self._meta_re = re.compile(self.layout["stem_meta"]) if self.layout["stem_meta"] else None
        self._void = tuple(v["value"] for v in self.values if v["role"] in _NO_CLASS_ROLES)
        self._background = tuple(v["value"] for v in self.values if v["role"] == "background")
        return opts

    # listing -------------------------------------------------------------------------------
    def _markers(self, base: Path) -> Iterator[Path]:
        lay = self.layout
        for split in lay["splits"]["names"]:
            if lay["splits"]["list"]:
                yield (base / fill_template(lay["splits"]["list"], split, "")).parent
            for t in lay["semantic"]["path"]:
                yield base / _split_template(t, split)[0]

    def _find_base(self) -> Path | None:
        """The first of ``layout.roots`` under ``root`` holding a split list or label folder."""
        for rel in self.layout["roots"]:
            cand = self.root / rel if rel != "." else self.root
            if any(m.is_dir() for m in self._markers(cand)):
                return cand
        return None

    def layout_ids(self, split: str) -> list[str]:
        """Stems of ``split`` as the layout lists them (empty when the split is absent)."""
        base, lay = self._base, self.layout
        if base is None:
            return []
        if lay["splits"]["list"]:
            p = base / fill_template(lay["splits"]["list"], split, "")
            return _io.read_id_list(p) if p.is_file() else []
        folder, prefix, suffix = _split_template(
            _first_existing(base, lay["semantic"]["path"], split), split
        )
        d = base / folder
        if not d.is_dir():
            return []
        stems = []
        for p in sorted(d.glob(f"{prefix}*{suffix}")):
            name = p.name
            if any(fnmatch.fnmatchcase(name, pat) for pat in lay["exclude"]):
                continue
            stem = name[len(prefix) : len(name) - len(suffix)]
            if stem:
                stems.append(stem)
        return stems

    def _list(self) -> Iterator[SampleRef]:
        base, lay = self._base, self.layout
        if base is None:
            return
        inst = lay["instance"]
        for split in lay["splits"]["names"]:
            ids = self.layout_ids(split)
            if not ids:
                continue
            image_t = _first_existing(base, lay["image"], split)
            sem_t = _first_existing(base, lay["semantic"]["path"], split)
            inst_t = None
            if inst is not None:
                inst_t = _first_existing(base, inst["path"], split)
                if inst["optional"] and not (base / _split_template(inst_t, split)[0]).is_dir():
                    inst_t = None
            for stem in ids:
                paths = [
                    str(base / fill_template(image_t, split, stem)),
                    str(base / fill_template(sem_t, split, stem)),
                ]
                if inst_t is not None:
                    paths.append(str(base / fill_template(inst_t, split, stem)))
                meta = {**lay["meta"], **_stem_meta(self._meta_re, stem)}
                yield SampleRef(self.name, stem, split, tuple(paths), ("layout",), meta)

    # reading -------------------------------------------------------------------------------
    def _read_semantic(self, path: Path) -> tuple[np.ndarray, np.ndarray | None]:
        sem_l = self.layout["semantic"]
        enc = sem_l["encoding"]
        if enc == "rgb":
            _io.check_label_file(path, "label PNG")
            colors = {v["color"]: v["value"] for v in self.values if v["color"] is not None}
            return decode_rgb(_io.read_image_rgb(path), colors, path), None
        dtype = np.dtype(sem_l["dtype"])
        raw = _io.read_label_png(path, dtypes=(dtype,), palette=True if enc == "palette" else None)
        if enc == "packed16":
            return self._split_packed(raw, int(sem_l["divisor"]))
        if enc != "instance16":
            return raw, None
        k = int(sem_l["divisor"])
        big = raw >= k
        sem = np.where(big, raw // k, raw).astype(raw.dtype)
        return sem, np.where(big, raw, 0).astype(raw.dtype)

    def _split_packed(self, raw: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
        """Class and instance maps of a ``packed16`` map (``class * k + i`` on every pixel).

        Every pixel of a class with ``instances: true`` belongs to the object ``raw + 1`` (``i``
        counts from 0, so 0 stays "no instance"); ``i`` is not read on the other classes.
        """
        sem = (raw // k).astype(raw.dtype)
        things = np.zeros(int(np.iinfo(raw.dtype).max) // k + 1, bool)
        for v in self.values:
            if v["instances"] and v["role"] == "class" and 0 <= v["value"] < len(things):
                things[v["value"]] = True
        inst = np.where(things[sem], raw.astype(np.uint32) + 1, 0)
        dtype = np.uint16 if inst.max(initial=0) <= 65535 else np.uint32
        return sem, inst.astype(dtype)

    def read(self, ref: SampleRef) -> RawSample:
        img_p, sem_p = Path(ref.paths[0]), Path(ref.paths[1])
        sem, inst = self._read_semantic(sem_p)
        load_image = self.image_loader(img_p, sem.shape, sem_p)
        ids = classes = None
        if inst is not None:  # instance16/packed16: the class of each instance is in its value
            ids = np.unique(inst)
            ids = ids[ids != 0].astype(np.int64)
            packed = self.layout["semantic"]["encoding"] == "packed16"
            k = int(self.layout["semantic"]["divisor"])
            classes = ((ids - 1 if packed else ids) // k).astype(sem.dtype)
        elif len(ref.paths) > 2:
            obj_p = Path(ref.paths[2])
            spec = self.layout["instance"]
            obj = _io.read_label_png(obj_p, dtypes=(np.dtype(spec["dtype"]),))
            _io.check_same_size(sem.shape, obj.shape, obj_p, "semantic and instance labels")
            inst = np.where(np.isin(obj, spec["none"]), obj.dtype.type(0), obj)
            if self.options["object_classes"] == "strict":
                ids, classes = object_classes(
                    inst, sem, obj_p, void=self._void, background=self._background
                )
        return RawSample(
            ref=ref,
            semantic=sem,
            instance=inst,
            instance_ids=ids,
            instance_classes=classes,
            meta=dict(ref.meta),
            load_image=load_image,
        )


def _hint(data: Mapping[str, Any]) -> str:
    lay = data["layout"]
    if lay.get("hint"):
        return lay["hint"]
    parts = [*lay["image"][:1], *lay["semantic"]["path"][:1]]
    if lay["splits"]["list"]:
        parts.append(lay["splits"]["list"])
    return "expected " + ", ".join(parts) + f" with {{split}} in {lay['splits']['names']}"


def make_reader(
    data: Mapping[str, Any], base: type[LayoutReader] = LayoutReader
) -> type[LayoutReader]:
    """A reader class for the declared dataset ``data`` (plain data from the registry).

    ``base`` is :class:`LayoutReader` or a bespoke subclass; a subclass that sets its own
    ``split_names`` (extra splits it reads itself) keeps them.
    """
    lay = data["layout"]
    attrs: dict[str, Any] = {
        "name": data["name"],
        "layout": lay,
        "values": tuple(data["values"]),
        "__module__": base.__module__,
        "__doc__": base.__doc__,
    }
    if "split_names" not in base.__dict__:
        attrs["split_names"] = tuple(lay["splits"]["names"])
    if "layout_hint" not in base.__dict__:
        attrs["layout_hint"] = _hint(data)
    if data.get("encoding") and "encoding" not in base.__dict__:
        attrs["encoding"] = data["encoding"]
    return type(base.__name__, (base,), attrs)
