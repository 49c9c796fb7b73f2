"""Export a store as OME-Zarr (OME-NGFF 0.5) images with label images: a copy, opt-in.

The store itself already describes each source's class map as an OME label image in place
(:mod:`harmonize.store.ome`); its RGB images cannot be (OME-NGFF wants the channel axis before the
space axes, the store keeps it last). This export writes the spec's own layout::

    OUT/                               Zarr v3 group; attributes["harmonize"]: what was exported
      <source>/                        OME image: axes sample (custom), c (channel), y, x
        0          (N, 3, H, W) uint8  the images, channel-first
        height, width (N,) uint32      true size of sample i (the rest of its slot is padding)
        sample_id, split (N,) string
        labels/                        ome.labels = ["semantic", "instance"]
          semantic/0   (N, H, W)       image-label: ontology colours and names; source ../../
          instance/0   (N, H, W)       image-label without colours (instance numbers 1..K)

Slots, padding, chunks and shards are the store's (whole samples per shard), so the copy costs
about what the store's pixel layers cost. Only the public reader API is used.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from harmonize.errors import StoreError
from harmonize.store.ome import (
    LABEL_AXES,
    OME_VERSION,
    SAMPLE_AXIS_TYPE,
    image_label,
    multiscale,
    padding_note,
)

__all__ = ["IMAGE_AXES", "export_ome_zarr"]

IMAGE_AXES = (("sample", SAMPLE_AXIS_TYPE), ("c", "channel"), ("y", "space"), ("x", "space"))

#: omero channel display settings: the three planes are red, green and blue, 0..255.
_OMERO = {
    "channels": [
        {
            "label": name,
            "color": color,
            "active": True,
            "window": {"min": 0, "max": 255, "start": 0, "end": 255},
        }
        for name, color in (("R", "FF0000"), ("G", "00FF00"), ("B", "0000FF"))
    ],
    "rdefs": {"model": "color"},
}


def export_ome_zarr(store, out: str | Path) -> dict:
    """Write every source of ``store`` as an OME-Zarr image with labels under ``out``.

    Parameters
    ----------
    store : Store
        A complete store whose sources have the ``image`` and ``semantic`` layers.
    out : path
        A new folder (refused when it exists and is not empty).

    Returns
    -------
    dict
        ``{"sources": [...], "samples": n}``.

    Raises
    ------
    StoreError
        When ``out`` is not empty or a source lacks the image or semantic layer.
    """
    import zarr

    out = Path(out)
    if out.exists() and any(out.iterdir()):
        raise StoreError("the output folder is not empty; choose a new one", path=str(out))
    for lay in store.layouts:
        missing = [x for x in ("image", "semantic") if x not in lay.layers]
        if missing:
            raise StoreError(
                f"{lay.name}: the source has no {' or '.join(missing)} layer to export "
                "(its class map, when present, is already an OME label image in the store)",
                path=store.url,
            )
    root = zarr.open_group(str(out), mode="w", zarr_format=3)
    onto = store.meta["ontology"]
    root.attrs["harmonize"] = {
        "export": "ome-zarr",
        "ome_version": OME_VERSION,
        "store": store.url,
        "ontology": {"name": onto["name"], "version": onto.get("version")},
        "sources": store.sources,
    }
    n_total = 0
    for lay in store.layouts:
        _export_source(store, lay, root.create_group(lay.name), onto)
        n_total += lay.n_samples
    import warnings

    with warnings.catch_warnings():  # "not part of the v3 specification": as in the store
        warnings.simplefilter("ignore", UserWarning)
        zarr.consolidate_metadata(root.store)
    return {"sources": store.sources, "samples": n_total}


def _array(group, name: str, shape, dtype, fill, dims, lay, chunk_lead=()):
    ch, cw = lay.chunk_hw
    sh, sw = lay.shard_hw
    return group.create_array(
        name,
        shape=shape,
        dtype=dtype,
        chunks=(1, *chunk_lead, ch, cw),
        shards=(lay.samples_per_shard, *chunk_lead, sh, sw),
        fill_value=fill,
        dimension_names=dims,
    )


def _export_source(store, lay, g, onto) -> None:
    n, h, w = lay.n_samples, lay.height, lay.width
    fill = lay.fill_semantic
    note = padding_note(fill, onto["name"])
    layers = [x for x in ("semantic", "instance") if x in lay.layers]
    g.attrs["ome"] = {
        "version": OME_VERSION,
        "multiscales": [multiscale("image", "0", IMAGE_AXES, note)],
        "omero": _OMERO,
    }
    image = _array(g, "0", (n, 3, h, w), "uint8", 0, tuple(a for a, _ in IMAGE_AXES), lay, (3,))
    labels = g.create_group("labels")
    labels.attrs["ome"] = {"version": OME_VERSION, "labels": layers}
    dst = {}
    for name in layers:
        lg = labels.create_group(name)
        label = (
            image_label(onto["classes"], store.class_ids.tolist(), fill, "../../")
            if name == "semantic"
            else {"version": OME_VERSION, "source": {"image": "../../"}}
        )
        lg.attrs["ome"] = {
            "version": OME_VERSION,
            "multiscales": [multiscale(name, "0", LABEL_AXES, note)],
            "image-label": label,
        }
        dtype = lay.semantic_dtype if name == "semantic" else lay.instance_dtype
        dst[name] = _array(
            lg, "0", (n, h, w), dtype, fill if name == "semantic" else 0, ("sample", "y", "x"), lay
        )
    tables = {k: np.zeros(n, np.uint32) for k in ("height", "width")}
    ids, splits = [], []
    for a, b in (lay.shard_range(k) for k in range(lay.n_shards)):
        block = {"image": np.zeros((b - a, 3, h, w), np.uint8)}
        for name in layers:
            block[name] = np.full((b - a, h, w), fill if name == "semantic" else 0, dst[name].dtype)
        for i in range(a, b):
            s = store.sample(lay.name, i)
            sh, sw = s.height, s.width
            tables["height"][i], tables["width"][i] = sh, sw
            ids.append(s.sample_id)
            splits.append(s.split)
            block["image"][i - a, :, :sh, :sw] = np.moveaxis(s.image, -1, 0)
            for name in layers:
                block[name][i - a, :sh, :sw] = getattr(s, name)
        image[a:b] = block["image"]  # whole shards: each shard is written once
        for name in layers:
            dst[name][a:b] = block[name]
    for k, v in tables.items():
        g.create_array(k, data=v, dimension_names=("sample",))
    for k, column in (("sample_id", ids), ("split", splits)):
        arr = g.create_array(
            k,
            shape=(n,),
            dtype=str,
            fill_value="",
            dimension_names=("sample",),
            chunks=(max(1, n),),
        )
        arr[:] = np.asarray(column, dtype=object)
