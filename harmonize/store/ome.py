"""OME-NGFF 0.5 metadata for a store's label maps (``docs/store-format.md``, "OME-Zarr").

Each ``sources/<source>`` group is described as an OME-Zarr 0.5 *label image* in place, without
copying a pixel: its group attributes get an ``ome`` key with

* ``multiscales``: one multiscale named ``semantic`` with a single level, the group's ``semantic``
  array, axes ``sample`` (a custom axis type: the stacked samples are neither time nor channel),
  ``y`` and ``x`` (space; pixels, so no unit and scale 1);
* ``image-label``: one colour (``label-value`` -> RGBA) and one property (name, role) for every
  output id of the store, taken from the ontology's own colours; the source's fill value (the
  ignore id, which is also the padding around smaller samples) is transparent.

``instance`` is left out (its values are instance numbers, which the class colours would mislabel)
and so is ``image``: OME-NGFF requires the space axes last, and the stored image is
``(sample, y, x, channel)``. Both are shown by ``harmonize view``.

The module reads only the store's own attributes (never the taxonomy YAML), so
:func:`label_colors` also serves stores written before this metadata existed.
"""

from __future__ import annotations

import colorsys
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

__all__ = [
    "LABEL_AXES",
    "OME_VERSION",
    "SAMPLE_AXIS_TYPE",
    "image_label",
    "label_colors",
    "multiscale",
    "padding_note",
    "source_ome_attrs",
    "write_ome_metadata",
]

OME_VERSION = "0.5"

#: Axis type of the stacked sample axis: a custom type, which OME-NGFF 0.5 allows once per
#: multiscale between time and the space axes.
SAMPLE_AXIS_TYPE = "sample"


def palette_color(value: int) -> tuple[int, int, int]:
    """A deterministic, well-spread RGB colour for ``value`` (golden-ratio hues), used for ids
    that the ontology gives no colour."""
    hue = (value * 0.618033988749895) % 1.0
    r, g, b = colorsys.hsv_to_rgb(hue, 0.65, 0.95)
    return round(r * 255), round(g * 255), round(b * 255)


def label_colors(
    classes: Sequence[Mapping[str, Any]],
    values: Iterable[int],
    transparent: Iterable[int] = (),
) -> dict[int, tuple[int, int, int, int]]:
    """RGBA colour (0-255) of every label value.

    Parameters
    ----------
    classes : sequence of mapping
        The ontology's classes and special values as the store records them
        (``attributes["harmonize"]["ontology"]["classes"]``: ``id``, ``color``, ...).
    values : iterable of int
        Label values to colour (a store's ``class_ids``).
    transparent : iterable of int
        Values drawn with alpha 0 (the fill value, so padding is invisible).

    Returns
    -------
    dict
        ``{value: (r, g, b, a)}`` in ascending value order; a value the ontology has no colour
        for gets :func:`palette_color`.
    """
    by_id = {int(c["id"]): c for c in classes}
    clear = {int(v) for v in transparent}
    out: dict[int, tuple[int, int, int, int]] = {}
    for v in sorted({int(v) for v in values}):
        color = (by_id.get(v) or {}).get("color")
        r, g, b = (int(x) for x in color) if color is not None else palette_color(v)
        out[v] = (r, g, b, 0 if v in clear else 255)
    return out


def multiscale(
    name: str, path: str, axes: Sequence[tuple[str, str]], description: str
) -> dict[str, Any]:
    """One single-level ``multiscales`` entry: ``axes`` as ``(name, type)`` pairs, scale 1 (pixels)."""
    return {
        "name": name,
        "axes": [{"name": a, "type": t} for a, t in axes],
        "datasets": [
            {
                "path": path,
                "coordinateTransformations": [{"type": "scale", "scale": [1.0] * len(axes)}],
            }
        ],
        "metadata": {"description": description},
    }


def image_label(
    classes: Sequence[Mapping[str, Any]],
    class_ids: Iterable[int],
    fill: int,
    source_image: str | None = None,
) -> dict[str, Any]:
    """The ``image-label`` attribute of a class map: colours and names of ``class_ids`` and the
    fill value (transparent); ``source_image`` is the relative path of its OME image, if any."""
    colors = label_colors(classes, [*class_ids, fill], transparent=(fill,))
    by_id = {int(c["id"]): c for c in classes}
    properties = []
    for v in colors:
        c = by_id.get(v, {})
        prop: dict[str, Any] = {"label-value": v, "name": c.get("name", str(v))}
        if c.get("role"):
            prop["role"] = c["role"]
        properties.append(prop)
    out: dict[str, Any] = {
        "version": OME_VERSION,
        "colors": [{"label-value": v, "rgba": list(rgba)} for v, rgba in colors.items()],
        "properties": properties,
    }
    if source_image is not None:
        out["source"] = {"image": source_image}
    return out


def padding_note(fill: int, ontology: str) -> str:
    """What the stacked ``sample`` axis and the padding mean (the multiscale's description)."""
    return (
        "harmonize store: samples stacked along 'sample'; sample i covers "
        f"[i, :height[i], :width[i]], the rest is padding with the fill value {fill}. "
        f"Label values are ontology ids ({ontology})."
    )


#: Axes of a stacked class or instance map.
LABEL_AXES = (("sample", SAMPLE_AXIS_TYPE), ("y", "space"), ("x", "space"))


def source_ome_attrs(meta: Mapping[str, Any], source: Mapping[str, Any]) -> dict[str, Any] | None:
    """The ``ome`` group attribute of one source group, or None when it has no semantic layer.

    Parameters
    ----------
    meta : mapping
        The store's root ``attributes["harmonize"]`` (``ontology``, ``class_ids``).
    source : mapping
        The source's layout (:meth:`SourceLayout.to_dict`: ``layers``, ``fill_semantic``).
    """
    if "semantic" not in source["layers"]:
        return None
    fill = int(source["fill_semantic"])
    note = padding_note(fill, meta["ontology"]["name"])
    return {
        "version": OME_VERSION,
        "multiscales": [multiscale("semantic", "semantic", LABEL_AXES, note)],
        "image-label": image_label(meta["ontology"]["classes"], meta["class_ids"], fill),
    }


def write_ome_metadata(group) -> None:
    """Write the ``ome`` attribute of every source group of an open (writable) store.

    Called by :func:`harmonize.store.writer.finalize` before it consolidates the metadata.
    """
    meta = group.attrs["harmonize"]
    for source in meta["sources"]:
        attrs = source_ome_attrs(meta, source)
        if attrs is not None:
            group["sources"][source["name"]].attrs["ome"] = attrs
