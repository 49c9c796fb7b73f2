"""What makes a store describe itself to plain ``zarr`` and ``xarray`` users (called by
:func:`harmonize.store.writer.finalize`).

* ``class_id`` and ``class_name`` ``(C,)`` arrays on the ``class`` dimension of the count tables,
  and a CF ``coordinates`` attribute on every per-sample array, so that
  ``xarray.open_zarr(store, group="sources/<source>")`` shows ``pixel_counts`` labelled by class
  name and sample id;
* a ``description`` attribute on every array saying what it holds, in particular that padding
  beyond ``height[i], width[i]`` reads as the fill value (the ignore id for ``semantic``);
* for box tables, ``box_label_name`` (the box dataset's name of each ``box_label``) and
  ``box_stored_instance`` (the stored instance id 1..K of the box's instance in ``instance``, 0 when
  it has none) next to ``box_instance`` (the native instance id).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from harmonize.errors import StoreError
from harmonize.store.layout import SourceLayout
from harmonize.types import HarmonizedSample

__all__ = [
    "COORDINATES",
    "DESCRIPTIONS",
    "describe_source",
    "stored_instance_ids",
    "write_box_description",
]

_PAD = (
    "Sample i occupies [i, :height[i], :width[i]]; the rest of its slot is padding and reads as "
    "the fill value ({fill}): crop with the height and width arrays (Store/Sample readers do)."
)

#: ``description`` attribute of each array of a source group.
DESCRIPTIONS: dict[str, str] = {
    "semantic": "Ontology id of each pixel (names: root attribute harmonize.ontology.classes). "
    + _PAD.format(fill="the ontology's ignore id, indistinguishable from labelled ignore"),
    "instance": "Instance id of each pixel, 1..K per sample, 0 = no instance; instance k of "
    "sample i has class instance_class[instance_offset[i] + k - 1]. " + _PAD.format(fill="0"),
    "image": "RGB image, uint8. " + _PAD.format(fill="0"),
    "height": "True height of sample i: rows beyond it are padding.",
    "width": "True width of sample i: columns beyond it are padding.",
    "valid": "False where the sample was skipped (on_error: skip); its slot is empty.",
    "sample_id": "The dataset's own id of sample i.",
    "split": "The dataset's own split name of sample i.",
    "paths": "JSON list of the source files of sample i (image first). A scalar read gives a "
    "0-d array: json.loads(paths[i].item()).",
    "pixel_counts": "Pixels of each class (column j: class_id[j], class_name[j]) in sample i.",
    "instance_counts": "Instances of each class (column j: class_id[j], class_name[j]) in sample i.",
    "n_instances": "Number of instances K of sample i.",
    "class_id": "Ontology id of column j of pixel_counts and instance_counts.",
    "class_name": "Ontology name of column j of pixel_counts and instance_counts.",
    "shard_done": "JSON summary of each committed shard ('' = not written); the resume record.",
    "instance_class": "Ontology id of every instance, samples concatenated: instance k of sample i "
    "at instance_offset[i] + k - 1.",
    "instance_offset": "Instances of sample i are rows instance_offset[i]:instance_offset[i + 1].",
    "classpoint_class": "Ontology id of each class point (up to 16 pixels per class and sample).",
    "classpoint_yx": "Row, column of each class point.",
    "classpoint_offset": "Class points of sample i are rows "
    "classpoint_offset[i]:classpoint_offset[i + 1].",
    "box_xywh": "Box x, y (top-left), width, height in pixels.",
    "box_vis_xywh": "Visible part of the box (CityPersons bboxVis), x, y, width, height.",
    "box_label": "The box dataset's label id of each box (names: box_label_name).",
    "box_label_name": "The box dataset's label name of each box.",
    "box_instance": "Native instance id of the box's object in the dataset's files (CityPersons: "
    "the Cityscapes instanceId; 0 = none).",
    "box_stored_instance": "Stored instance id (1..K, the value in `instance`) of the box's object; "
    "0 when it has none or its instance was not kept.",
    "box_offset": "Boxes of sample i are rows box_offset[i]:box_offset[i + 1].",
}

#: CF ``coordinates`` attribute by leading dimension: xarray lists these as coordinates.
COORDINATES: dict[str, str] = {"sample": "sample_id split", "class": "class_id class_name"}


def stored_instance_ids(sample: HarmonizedSample) -> np.ndarray:
    """Stored instance id (1..K) of each box of ``sample`` (0 when the box's native instance id is
    0 or belongs to no kept instance)."""
    boxes = sample.boxes
    if boxes is None or not len(boxes):
        return np.zeros(0, np.int64)
    native = np.asarray(sample.instance_old_ids).astype(np.int64).tolist()
    stored = {v: k for k, v in enumerate(native, start=1) if v != 0}
    return np.asarray(
        [stored.get(int(v), 0) for v in boxes["instance_id"].tolist()], dtype=np.int64
    )


def _string_array(g, name: str, values: Sequence[str], dims: tuple[str, ...]) -> None:
    arr = g.create_array(
        name,
        shape=(len(values),),
        chunks=(max(1, min(len(values), 1 << 16)),),
        dtype=str,
        fill_value="",
        dimension_names=dims,
        overwrite=True,
    )
    if len(values):
        arr[:] = np.asarray(list(values), dtype=object)


def write_box_description(
    g,
    layout: SourceLayout,
    labels: np.ndarray,
    stored: Sequence[Sequence[int] | None],
) -> None:
    """Write ``box_label_name`` and ``box_stored_instance`` of a source's box table.

    Parameters
    ----------
    g : zarr.Group
        The source group.
    layout : SourceLayout
        Its layout; ``layout.extra["box_labels"]`` maps label ids (as strings) to names.
    labels : ndarray, shape (B,)
        ``box_label`` of every box, samples concatenated.
    stored : sequence
        Per sample with boxes, in order: the stored instance id of each of its boxes (``None`` in a
        shard summary written before stored ids were recorded).

    Raises
    ------
    StoreError
        A label has no name, or a shard summary lacks the stored instance ids.
    """
    names = {int(k): str(v) for k, v in (layout.extra.get("box_labels") or {}).items()}
    missing = sorted({int(v) for v in labels.tolist()} - set(names))
    if missing:
        raise StoreError(
            f"{layout.name}: box labels {missing} have no name (the reader declares none); "
            "the box table cannot describe itself"
        )
    present = [s for s in stored if s is not None]
    if len(present) < len(stored):
        raise StoreError(
            f"{layout.name}: shards were written by an older harmonize without stored box "
            "instance ids; rerun the config with --overwrite"
        )
    flat = np.asarray([v for s in present for v in s], dtype=np.int64)
    if flat.shape != labels.shape:  # pragma: no cover - both come from the same shard records
        raise StoreError(f"{layout.name}: {flat.size} stored instance ids for {labels.size} boxes")
    _string_array(g, "box_label_name", [names[int(v)] for v in labels.tolist()], ("box",))
    arr = g.create_array(
        "box_stored_instance",
        shape=flat.shape,
        chunks=(max(1, min(len(flat), 1 << 16)),),
        dtype="int64",
        fill_value=0,
        dimension_names=("box",),
        overwrite=True,
    )
    if len(flat):
        arr[:] = flat


def describe_source(g, layout: SourceLayout, meta: Mapping[str, Any]) -> None:
    """Write ``class_id``/``class_name`` and every array's ``description`` and ``coordinates``
    attributes into the source group ``g`` (from the root attributes ``meta``)."""
    class_ids = [int(c) for c in meta["class_ids"]]
    by_id = {int(c["id"]): str(c["name"]) for c in meta["ontology"]["classes"]}
    arr = g.create_array(
        "class_id",
        shape=(len(class_ids),),
        chunks=(max(1, len(class_ids)),),
        dtype="int64",
        fill_value=0,
        dimension_names=("class",),
        overwrite=True,
    )
    arr[:] = np.asarray(class_ids, np.int64)
    _string_array(g, "class_name", [by_id[c] for c in class_ids], ("class",))
    fills = {"semantic": layout.fill_semantic, "instance": 0, "image": 0}
    for name in g.array_keys():
        a = g[name]
        attrs: dict[str, Any] = {}
        if name in DESCRIPTIONS:
            attrs["description"] = DESCRIPTIONS[name]
        if name in fills:
            attrs["padding_value"] = fills[name]
        dims = a.metadata.dimension_names or ()
        coords = " ".join(
            COORDINATES[d]
            for d in dict.fromkeys(dims)
            if d in COORDINATES and name not in COORDINATES[d].split()
        )
        if coords:
            attrs["coordinates"] = coords
        if name == "box_label" or (
            name.startswith("box_") and name not in ("box_offset", "box_label_name")
        ):
            attrs["coordinates"] = "box_label_name"
        if attrs:
            a.attrs.update(attrs)
