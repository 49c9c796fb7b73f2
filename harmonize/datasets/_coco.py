"""The parts of a COCO-style JSON file every COCO reader checks the same way: the top level, integer
fields and the ``images`` list (readers: :mod:`~harmonize.datasets.coco_stuff_json`,
:mod:`~harmonize.datasets.coco_panoptic`)."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

from harmonize.datasets import _io
from harmonize.errors import CorruptFileError, DuplicateSampleError, MissingKeyError

__all__ = ["coco_images", "json_int", "read_coco_json"]


def read_coco_json(path: Path) -> Mapping[str, Any]:
    """The COCO dict of ``path``: a JSON object with the lists ``images``, ``annotations`` and
    ``categories``, else a typed error naming the file."""
    doc = _io.read_json(path)
    if not isinstance(doc, Mapping):
        raise CorruptFileError("top level must be a JSON object (a COCO dict)", path=path)
    for key in ("images", "annotations", "categories"):
        if not isinstance(doc.get(key), list):
            raise MissingKeyError(f"missing list {key!r} (keys present: {sorted(doc)})", path=path)
    return doc


def json_int(entry: Mapping[str, Any], key: str, path: Path, what: str) -> int:
    """``entry[key]`` as an int (an integral float is accepted; a bool is not); ``what`` names the
    entry in the error."""
    if key not in entry:
        raise MissingKeyError(f"{what} has no {key!r} (keys: {sorted(entry)})", path=path)
    v = entry[key]
    if isinstance(v, bool) or not isinstance(v, int | float) or int(v) != v:
        raise CorruptFileError(f"{what}: {key!r} must be an integer, not {v!r}", path=path)
    return int(v)


def coco_images(doc: Mapping[str, Any], path: Path) -> Iterator[tuple[int, str, int, int]]:
    """``(id, file_name, height, width)`` of each entry of ``doc["images"]``, in file order, each
    checked before it is yielded: an object, integer id and size, a safe file name, a non-empty size
    within the pixel limit, an id not listed before."""
    seen: set[int] = set()
    for i, im in enumerate(doc["images"]):
        if not isinstance(im, Mapping):
            raise CorruptFileError(f"images[{i}] is not a JSON object", path=path)
        iid = json_int(im, "id", path, f"images[{i}]")
        h = json_int(im, "height", path, f"images[{i}] (id {iid})")
        w = json_int(im, "width", path, f"images[{i}] (id {iid})")
        name = im.get("file_name")
        if not isinstance(name, str):
            raise MissingKeyError(f"images[{i}] (id {iid}) has no 'file_name'", path=path)
        _io.check_sample_id(name, path)
        if h <= 0 or w <= 0:
            raise CorruptFileError(f"image {name}: size {h}x{w} is empty", path=path)
        _io.check_pixels(h, w, path, f"image {name} (height x width)")
        if iid in seen:
            raise DuplicateSampleError(f"image id {iid} is listed twice", path=path)
        seen.add(iid)
        yield iid, name, h, w
