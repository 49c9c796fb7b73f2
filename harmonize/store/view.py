"""What ``harmonize view`` shows in napari, as plain data (napari is an optional extra).

:func:`view_layers` decides the layers -- which array, which name, which colours -- without
importing napari, so it is tested on every machine; :func:`add_layers` hands them to a napari
viewer and is the only code that touches napari.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np

from harmonize.errors import StoreError
from harmonize.store.access import Store
from harmonize.store.layout import SourceLayout
from harmonize.store.ome import label_colors

__all__ = ["Layer", "add_layers", "view_layers"]

#: Pixel layers in the order they are added (napari draws the last one on top).
ORDER = ("image", "semantic", "instance")


@dataclass(frozen=True)
class Layer:
    """One napari layer.

    Attributes
    ----------
    name : str
        Layer name (``"<source>: semantic"``, or ``"<source>/<sample id>: semantic"``).
    kind : {"image", "labels"}
        napari layer type; images are RGB.
    source, array : str
        Source group and array the data come from.
    data : array-like
        The whole stored stack (a lazy zarr array, ``sample`` first) or one sample cropped to its
        true size (a numpy array).
    axis_labels : tuple of str
        Names of the data's axes (without the RGB channel).
    colors : dict or None
        ``{label value: (r, g, b, a)}`` in 0-1 for class maps (the ontology's colours, the fill
        value transparent); None for instance maps (napari's own random colours).
    visible : bool
        Whether the layer starts visible.
    """

    name: str
    kind: Literal["image", "labels"]
    source: str
    array: str
    data: Any
    axis_labels: tuple[str, ...]
    colors: dict[int, tuple[float, float, float, float]] | None
    visible: bool


def view_layers(
    store: Store, *, source: str | None = None, sample: int | None = None
) -> list[Layer]:
    """The layers ``harmonize view`` adds for ``store``.

    Parameters
    ----------
    store : Store
        An open store (any format version; OME metadata is not needed).
    source : str, optional
        Only this source. Default: every source, the first one visible.
    sample : int, optional
        One sample, cropped to its true size: the store-wide index (as ``store[sample]``), or the
        index within ``source`` when that is given. Default: the whole stack of each source, with
        ``sample`` as a slider axis (read lazily, chunk by chunk).

    Raises
    ------
    StoreError
        For an unknown source or a sample index out of range.
    """
    if source is not None and source not in store.sources:
        raise StoreError(f"no source {source!r}; sources: {store.sources}", path=store.url)
    classes = store.meta["ontology"]["classes"]
    if sample is not None:
        if source is None:
            if not 0 <= sample < len(store):
                raise StoreError(
                    f"--sample {sample} is out of range (the store has {len(store)} samples)",
                    path=store.url,
                )
            s = store[sample]
        else:
            n = next(lay.n_samples for lay in store.layouts if lay.name == source)
            if not 0 <= sample < n:
                raise StoreError(
                    f"--sample {sample} is out of range ({source} has {n} samples)",
                    path=store.url,
                )
            s = store.sample(source, sample)
        lay = next(x for x in store.layouts if x.name == s.source)
        prefix = f"{s.source}/{s.sample_id}"
        arrays = {name: getattr(s, name) for name in ORDER if name in lay.layers}
        return _layers(prefix, lay, arrays, ("y", "x"), classes, store.class_ids, visible=True)
    out: list[Layer] = []
    for k, lay in enumerate(x for x in store.layouts if source in (None, x.name)):
        g = store._group["sources"][lay.name]
        arrays = {name: g[name] for name in ORDER if name in lay.layers}
        out += _layers(
            lay.name, lay, arrays, ("sample", "y", "x"), classes, store.class_ids, visible=k == 0
        )
    return out


def _layers(
    prefix: str,
    lay: SourceLayout,
    arrays: dict[str, Any],
    axes: tuple[str, ...],
    classes: Sequence[Mapping[str, Any]],
    class_ids: np.ndarray,
    *,
    visible: bool,
) -> list[Layer]:
    """The layers of one source (or one sample of it), in :data:`ORDER`."""
    fill = lay.fill_semantic
    colors: dict[int, tuple[float, float, float, float]] = {
        v: (rgba[0] / 255, rgba[1] / 255, rgba[2] / 255, rgba[3] / 255)
        for v, rgba in label_colors(classes, [*class_ids, fill], transparent=(fill,)).items()
    }
    out = []
    for name, data in arrays.items():
        out.append(
            Layer(
                name=f"{prefix}: {name}",
                kind="image" if name == "image" else "labels",
                source=lay.name,
                array=name,
                data=data,
                axis_labels=axes,
                colors=colors if name == "semantic" else None,
                # instance ids drawn over the class map would hide it: start hidden
                visible=visible and name != "instance",
            )
        )
    return out


def add_layers(viewer, layers: list[Layer]) -> None:
    """Add ``layers`` to a napari viewer (``napari.Viewer`` or ``napari.components.ViewerModel``)."""
    from napari.utils.colormaps import DirectLabelColormap

    for layer in layers:
        if layer.kind == "image":
            viewer.add_image(
                layer.data,
                name=layer.name,
                rgb=True,
                contrast_limits=(0, 255),
                visible=layer.visible,
            )
        else:
            kwargs: dict[str, Any] = {}
            if layer.colors is not None:
                color_dict: dict[int | None, tuple[float, ...]] = {None: (0.0, 0.0, 0.0, 0.0)}
                for value, rgba in layer.colors.items():
                    color_dict[value] = rgba
                kwargs["colormap"] = DirectLabelColormap(color_dict=color_dict)
            viewer.add_labels(layer.data, name=layer.name, visible=layer.visible, **kwargs)
    if layers:
        viewer.dims.axis_labels = layers[0].axis_labels
