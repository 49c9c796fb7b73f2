"""Creating a store, writing whole shards, and finalizing.

The coordinator calls :func:`create_store` once (every array and all metadata), workers call
:func:`write_shard` for the shards they own (whole shards, so no two writers share a shard file), and
the coordinator calls :func:`finalize` when every shard is done. A shard is committed by writing its
JSON summary into ``shard_done[k]`` *after* its pixels: a run killed in between leaves the shard
uncommitted and ``--resume`` rewrites it whole.
"""

from __future__ import annotations

import contextlib
import errno
import json
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from harmonize.errors import HarmonizeError, StoreError
from harmonize.store._zarr import shard_summaries
from harmonize.store.describe import describe_source, stored_instance_ids, write_box_description
from harmonize.store.layout import DIMS, FORMAT, FORMAT_VERSION, SourceLayout
from harmonize.store.ome import write_ome_metadata
from harmonize.types import BOX_DTYPE, HarmonizedSample

__all__ = [
    "ShardSample",
    "create_store",
    "finalize",
    "foreign_files",
    "store_io",
    "write_shard",
]


def _compressors(name: str, level: int):
    from zarr.codecs import BloscCodec, ZstdCodec

    if name == "zstd":
        return (ZstdCodec(level=level),)
    if name == "lz4":
        return (BloscCodec(cname="lz4", clevel=level, shuffle="shuffle"),)
    if name == "blosc":
        return (BloscCodec(cname="zstd", clevel=level, shuffle="bitshuffle"),)
    if name == "none":
        return ()
    raise ValueError(f"unknown compression {name!r} (zstd, lz4, blosc, none)")


def utc_timestamp() -> str:
    """Now in UTC as ISO 8601 with a ``Z`` suffix (``2026-12-01T21:40:03Z``), the one format of
    the store's ``created`` and ``completed`` attributes."""
    import time

    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())


def parse_utc_timestamp(value: Any) -> float | None:
    """Seconds since the epoch of a :func:`utc_timestamp` string (``None`` if it is not one).
    Plain numbers (``creating_since`` of stores created before issue 15) are returned as such."""
    import calendar
    import time

    if isinstance(value, int | float) and not isinstance(value, bool):
        return float(value)
    try:
        return float(calendar.timegm(time.strptime(str(value), "%Y-%m-%dT%H:%M:%SZ")))
    except ValueError:
        return None


@contextlib.contextmanager
def store_io(url: str, what: str = "writing") -> Iterator[None]:
    """Turn an OS error while writing the store at ``url`` (disk full, read-only file system, no
    permission) into one :class:`StoreError` naming the store and the cause. The store stays
    incomplete: committed shards are kept and ``--resume`` finishes it once the cause is fixed."""
    try:
        yield
    except HarmonizeError:
        raise
    except OSError as exc:
        cause = exc.strerror or str(exc) or type(exc).__name__
        code = f" [{errno.errorcode.get(exc.errno, exc.errno)}]" if exc.errno else ""
        raise StoreError(
            f"{what} the store failed: {cause}{code}; the store is left incomplete -- fix the "
            "cause and run again with --resume",
            path=url,
        ) from None


def _fs(url: str, storage_options: dict | None = None):
    """``(filesystem, path)`` of a local path or fsspec URL."""
    import fsspec

    if "://" not in url:
        return fsspec.filesystem("file"), str(Path(url).resolve())
    return fsspec.core.url_to_fs(url, **(storage_options or {}))


def _entries(fs, path: str) -> list[tuple[str, str]]:
    """``(name, "file" | "directory")`` of the entries of folder ``path`` (``[]`` if absent)."""
    try:
        infos = fs.ls(path, detail=True)
    except (FileNotFoundError, NotADirectoryError):
        return []
    out = []
    for info in infos:
        name = str(info["name"]).rstrip("/").rsplit("/", 1)[-1]
        if str(info["name"]).rstrip("/") == path.rstrip("/"):
            continue  # some filesystems list a folder as its own entry
        out.append((name, "directory" if info.get("type") == "directory" else "file"))
    return out


def foreign_files(url: str, storage_options: dict | None = None, limit: int = 5) -> list[str]:
    """Files under ``url`` that harmonize did not write: anything but zarr metadata
    (``zarr.json``), chunk/shard data under an array's ``c/`` folder and zarr's ``*.partial``
    temporaries. ``--overwrite`` refuses a store holding any (it would delete them)."""
    fs, root = _fs(url, storage_options)
    found: list[str] = []

    def walk(path: str, rel: str) -> None:
        entries = _entries(fs, path)
        names = {n for n, _ in entries}
        is_array = False
        if "zarr.json" in names:
            try:
                is_array = json.loads(fs.cat_file(f"{path}/zarr.json")).get("node_type") == "array"
            except (OSError, ValueError):
                is_array = False
        for name, kind in entries:
            if len(found) >= limit:
                return
            sub = f"{rel}/{name}" if rel else name
            if name == "zarr.json" or name.endswith(".partial"):
                continue
            if kind == "directory" and is_array and name == "c":
                continue  # the array's chunks
            if kind == "directory" and not is_array:
                walk(f"{path}/{name}", sub)
                continue
            found.append(sub)

    walk(root.rstrip("/"), "")
    return found


def store_state(url: str, storage_options: dict | None = None) -> str:
    """What is at ``url``: ``"missing"`` (nothing, or an empty folder), ``"store"`` (a harmonize
    store, complete or not), ``"creating"`` (a store whose creation did not finish) or ``"other"``
    (anything else, an empty zarr group included -- never to be written into or overwritten)."""
    fs, path = _fs(url, storage_options)
    try:
        exists = fs.exists(path)
    except OSError:
        exists = False
    if not exists:
        return "missing"
    if not fs.isdir(path):
        return "other"
    if not _entries(fs, path):
        return "missing"
    try:
        meta = (
            json.loads(fs.cat_file(f"{path.rstrip('/')}/zarr.json")).get("attributes") or {}
        ).get("harmonize") or {}
    except (OSError, ValueError, AttributeError):
        return "other"
    if not isinstance(meta, dict) or meta.get("format") != FORMAT:
        return "other"
    return "creating" if meta.get("status") == "creating" else "store"


def create_store(
    url: str,
    sources: Sequence[SourceLayout],
    tables: Mapping[str, Mapping[str, Sequence[str]]],
    root_attrs: Mapping[str, Any],
    *,
    compression: str = "lz4",
    level: int = 3,
    overwrite: bool = False,
    storage_options: dict | None = None,
):
    """Create every array of a new store and its metadata (coordinator only).

    Parameters
    ----------
    url : str
        Local path or fsspec URL.
    sources : sequence of SourceLayout
        One per source.
    tables : mapping
        ``tables[source]["sample_id" | "split" | "paths"]``: per-sample strings known when planning.
    root_attrs : mapping
        Stored under the root attribute ``harmonize`` together with format and status.
    """
    import zarr

    from harmonize.store._zarr import configure

    configure()
    state = store_state(url, storage_options)
    if state == "other":
        raise StoreError(
            "this path holds other files, not a harmonize store; refusing to write (or overwrite) "
            "a store over them: choose another output path",
            path=url,
        )
    if state in ("store", "creating") and not overwrite:
        raise StoreError(
            "a store exists here: pass --resume to finish it or --overwrite to replace it",
            path=url,
        )
    if state in ("store", "creating"):
        extra = foreign_files(url, storage_options)
        if extra:
            raise StoreError(
                "this store holds files harmonize did not write ("
                + ", ".join(extra)
                + "); --overwrite would delete them: move them out or choose another output path",
                path=url,
            )
    root = zarr.open_group(url, mode="w", storage_options=storage_options or None)
    comp = _compressors(compression, level)
    meta = {
        "format": FORMAT,
        "format_version": FORMAT_VERSION,
        "status": "incomplete",
        "sources": [s.to_dict() for s in sources],
        **root_attrs,
    }
    # until every array exists the store says "creating": a crash in here is redone, not resumed
    import uuid

    run_id = uuid.uuid4().hex
    root.attrs["harmonize"] = {
        "format": FORMAT,
        "format_version": FORMAT_VERSION,
        "status": "creating",
        "run_id": run_id,  # who is creating it, and since when (unlocked URL stores check both)
        "creating_since": utc_timestamp(),
    }
    sgroup = root.require_group("sources")
    for s in sources:
        g = sgroup.require_group(s.name)
        n, (ch, cw), (sh, sw) = s.n_samples, s.chunk_hw, s.shard_hw
        k = s.samples_per_shard
        pix = {
            "semantic": (s.semantic_dtype, s.fill_semantic, (n, s.height, s.width)),
            "instance": (s.instance_dtype, 0, (n, s.height, s.width)),
            "image": ("uint8", 0, (n, s.height, s.width, 3)),
        }
        for layer in s.layers:
            dtype, fill, shape = pix[layer]
            chunks = (1, ch, cw) + ((3,) if layer == "image" else ())
            shards = (k, sh, sw) + ((3,) if layer == "image" else ())
            g.create_array(
                layer,
                shape=shape,
                chunks=chunks,
                shards=shards,
                dtype=dtype,
                fill_value=fill,
                compressors=comp,
                dimension_names=DIMS[layer],
            )
        for name in ("height", "width", "n_instances"):
            g.create_array(
                name,
                shape=(n,),
                chunks=(k,),
                dtype="uint32",
                fill_value=0,
                dimension_names=("sample",),
            )
        for name in ("pixel_counts", "instance_counts"):
            g.create_array(
                name,
                shape=(n, s.n_classes),
                chunks=(k, s.n_classes),
                dtype="int64",
                fill_value=0,
                dimension_names=("sample", "class"),
            )
        g.create_array(
            "valid",
            shape=(n,),
            chunks=(k,),
            dtype="bool",
            fill_value=False,
            dimension_names=("sample",),
        )
        g.create_array(
            "shard_done",
            shape=(s.n_shards,),
            chunks=(1,),
            dtype=str,
            fill_value="",
            dimension_names=("shard",),
        )
        for name in ("sample_id", "split", "paths"):
            arr = g.create_array(
                name,
                shape=(n,),
                chunks=(max(1, min(n, 4096)),),
                dtype=str,
                fill_value="",
                dimension_names=("sample",),
            )
            arr[:] = np.asarray(list(tables[s.name][name]), dtype=object)
        g.attrs["source"] = s.to_dict()
    now = zarr.open_group(url, mode="r", storage_options=storage_options or None)
    now_meta = now.attrs.get("harmonize")
    if not isinstance(now_meta, dict) or now_meta.get("run_id") != run_id:
        raise StoreError(
            "another run started creating this store at the same time; run one coordinator "
            "per store (remote URL stores are not locked)",
            path=url,
        )
    root.attrs["harmonize"] = meta
    return root


class _ArrayCache(dict):
    """A source group's arrays, each opened (metadata read) once per process."""

    def __init__(self, group, root: object = None) -> None:
        super().__init__()
        self.group = group
        self.root = root  # the open root group ``group`` belongs to

    def __missing__(self, name: str):
        arr = self.group[name]
        self[name] = arr
        return arr


_SOURCE_ARRAYS: dict[tuple[int, str], _ArrayCache] = {}


def source_arrays(group, name: str) -> _ArrayCache:
    """The arrays of ``sources/<name>`` of an open root group, cached for repeated shard writes
    (a worker writes many shards; re-reading every array's metadata each time costs ~10%)."""
    key = (id(group), name)
    cache = _SOURCE_ARRAYS.get(key)
    if cache is None or cache.root is not group:
        cache = _ArrayCache(group["sources"][name], root=group)
        _SOURCE_ARRAYS[key] = cache
    return cache


@dataclass
class ShardSample:
    """What a worker hands the writer for one slot: a harmonized sample (or ``None`` if skipped),
    its image (or ``None``), and the skip reason."""

    index: int
    sample: HarmonizedSample | None
    image: np.ndarray | None = None
    skipped: dict[str, Any] | None = None


def _columns(counts: np.ndarray, class_ids: np.ndarray) -> np.ndarray:
    """``counts[class_ids]``, 0 for ids past the end of ``counts``.

    A sample's count vectors end at its own mapping's largest output id (``n_out``); the store's
    columns span every source's ids, so an id above that never occurs in the sample.
    """
    out = np.zeros(len(class_ids), np.int64)
    inside = class_ids < len(counts)
    out[inside] = counts[class_ids[inside]]
    return out


def write_shard(
    group,
    layout: SourceLayout,
    shard: int,
    items: Sequence[ShardSample],
    class_ids: np.ndarray,
    before_commit: Callable[[], None] | None = None,
) -> dict[str, Any]:
    """Write one whole shard of one source and commit it. Returns the shard's JSON summary.

    ``class_ids`` maps count columns to output ids (``counts[:, j]`` is output id ``class_ids[j]``).
    ``before_commit()`` runs after the pixels are stored and just before the commit marker is
    written; it may end the process (a worker whose coordinator died must not commit).
    """
    start, stop = layout.shard_range(shard)
    if [it.index for it in items] != list(range(start, stop)):
        raise StoreError(f"shard {shard} of {layout.name} needs samples {start}..{stop - 1}")
    g = source_arrays(group, layout.name)
    n = stop - start
    hs = np.zeros(n, np.uint32)
    ws = np.zeros(n, np.uint32)
    for j, it in enumerate(items):
        if it.sample is not None:
            hs[j], ws[j] = it.sample.semantic.shape
    hmax, wmax = (int(hs.max()), int(ws.max())) if n and hs.any() else (0, 0)
    if hmax > layout.height or wmax > layout.width:
        raise StoreError(
            f"{layout.name}: a sample of shard {shard} is {hmax}x{wmax}, larger than the planned "
            f"{layout.height}x{layout.width}"
        )
    # one write per layer covering the whole shard's used extent (whole-shard ownership). When no
    # sample of the shard is padded, skip zarr's per-chunk "equals the fill value?" scan.
    padded = bool(((hs != hmax) | (ws != wmax)).any())
    if "instance" in layout.layers:
        top = np.iinfo(np.dtype(layout.instance_dtype)).max
        for it in items:
            # instance ids are 1..K, so K bounds them without scanning the map
            if it.sample is not None and len(it.sample.instance_classes) > top:
                raise StoreError(
                    f"{layout.name}: sample {it.sample.ref.sample_id!r} has "
                    f"{len(it.sample.instance_classes)} instances, more than the instance layer's "
                    f"{layout.instance_dtype} holds ({top}); set `output.instance_dtype: uint32` "
                    "in the run config and rerun with --overwrite"
                )
    writes: list[tuple[Any, Any, np.ndarray]] = []
    if hmax and wmax:
        for layer in layout.layers:
            fill = layout.fill_semantic if layer == "semantic" else 0
            dtype = g[layer].dtype
            shape = (n, hmax, wmax) + ((3,) if layer == "image" else ())
            buf = _shard_buffer(layer, shape, dtype)
            for j, it in enumerate(items):
                h, w = int(hs[j]), int(ws[j])
                src = None
                if it.sample is not None:
                    if layer == "semantic":
                        src = it.sample.semantic
                    elif layer == "instance":
                        src = it.sample.instance
                    else:
                        src = it.image
                if src is None:
                    buf[j] = fill
                    continue
                buf[j, :h, :w] = src
                if h < hmax or w < wmax:
                    buf[j, h:] = fill
                    buf[j, :h, w:] = fill
            arr = g[layer] if padded else g[layer].with_config({"write_empty_chunks": True})
            writes.append((arr, np.s_[start:stop, :hmax, :wmax], buf))
    pc = np.zeros((n, len(class_ids)), np.int64)
    ic = np.zeros((n, len(class_ids)), np.int64)
    nin = np.zeros(n, np.uint32)
    valid = np.zeros(n, bool)
    records: list[dict[str, Any]] = []
    for j, it in enumerate(items):
        rec: dict[str, Any] = {"index": it.index}
        if it.sample is None:
            rec["skipped"] = it.skipped or {"error": "skipped"}
            records.append(rec)
            continue
        s = it.sample
        valid[j] = True
        pc[j] = _columns(s.pixel_counts, class_ids)
        ic[j] = _columns(s.instance_counts, class_ids)
        nin[j] = len(s.instance_classes)
        rec["instance_classes"] = s.instance_classes.astype(np.int64).tolist()
        if "semantic" in layout.layers:
            from harmonize.store.points import class_points

            pcls, pyx = class_points(s.semantic, counts=s.pixel_counts)
            rec["class_points"] = np.column_stack([pcls, pyx]).astype(np.int64).tolist()
        rec["unknown_pixels"] = int(s.unknown_pixels)
        if s.warnings:  # reader warnings (clipped/dropped polygons): gathered by the run report
            rec["warnings"] = [dict(w) for w in s.warnings]
        if len(s.mixed_instances):
            rec["mixed_instances"] = np.asarray(s.mixed_instances).astype(np.int64).tolist()
        if s.boxes is not None and len(s.boxes):
            rec["box_stored_instance"] = stored_instance_ids(s).tolist()
            fields = BOX_DTYPE.names or ()
            rec["boxes"] = [
                [float(b[f]) if f not in ("instance_id", "label") else int(b[f]) for f in fields]
                for b in s.boxes
            ]
        records.append(rec)
    for name, value in (
        ("height", hs),
        ("width", ws),
        ("n_instances", nin),
        ("pixel_counts", pc),
        ("instance_counts", ic),
        ("valid", valid),
    ):
        writes.append((g[name], slice(start, stop), value))
    _write_concurrently(writes)
    summary = {"shard": shard, "start": start, "stop": stop, "samples": records}
    if before_commit is not None:
        before_commit()
    # the commit marker, written only once everything above is stored
    g["shard_done"][shard] = json.dumps(summary, separators=(",", ":"))
    return summary


#: Per-process shard buffers, reused from shard to shard (fresh ones cost page faults every time).
_BUFFERS: dict[str, np.ndarray] = {}


def _shard_buffer(layer: str, shape: tuple[int, ...], dtype: np.dtype) -> np.ndarray:
    """An uninitialised ``shape`` view of this process's buffer for ``layer`` (grown as needed)."""
    size = int(np.prod(shape)) * np.dtype(dtype).itemsize
    buf = _BUFFERS.get(layer)
    if buf is None or buf.size < size:
        buf = _BUFFERS[layer] = np.empty(size, np.uint8)
    return buf[:size].view(dtype).reshape(shape)


def _write_concurrently(writes: Sequence[tuple[Any, Any, np.ndarray]]) -> None:
    """``arr[selection] = value`` for every write, all in one pass of zarr's event loop.

    The writes touch different arrays, so their order does not matter; one ``gather`` lets zarr
    encode and store the layers and the small per-sample arrays at the same time instead of
    paying one event-loop round trip per array.
    """
    import asyncio

    from zarr.core.sync import sync

    async def _all() -> None:
        await asyncio.gather(*(a.async_array.setitem(sel, v) for a, sel, v in writes))

    sync(_all())


def finalize(group, layouts: Sequence[SourceLayout], extra_attrs: Mapping[str, Any]) -> None:
    """Write the ragged per-instance tables and mark the store complete (coordinator only)."""
    for layout in layouts:
        g = group["sources"][layout.name]
        sums = shard_summaries(group, layout)
        missing = [k for k, s in enumerate(sums) if s is None]
        if missing:
            raise StoreError(
                f"{layout.name}: shards {missing[:10]} are not written; cannot finalize"
            )
        records = sorted(
            (r for s in sums if s is not None for r in s["samples"]), key=lambda r: r["index"]
        )
        classes = [r.get("instance_classes", []) for r in records]
        offsets = _offsets(classes)
        flat = np.asarray(
            [c for cs in classes for c in cs],
            dtype=g["semantic"].dtype if "semantic" in layout.layers else np.uint32,
        )
        _write_ragged(g, "instance_class", flat, offsets, ("instance_row",))
        if "semantic" in layout.layers:
            pts = [r.get("class_points", []) for r in records]
            poff = _offsets(pts)
            points = np.asarray([p for ps in pts for p in ps], np.int64).reshape(-1, 3)
            _write_ragged(
                g, "classpoint_class", points[:, 0].astype(flat.dtype), poff, ("classpoint",)
            )
            _write_ragged(
                g, "classpoint_yx", points[:, 1:].astype(np.uint32), None, ("classpoint", "yx")
            )
        if layout.boxes:
            boxes = [r.get("boxes", []) for r in records]
            boff = _offsets(boxes)
            table = np.zeros(int(boff[-1]), BOX_DTYPE)
            rows = [tuple(b) for bs in boxes for b in bs]
            if rows:
                table[:] = np.array(rows, dtype=BOX_DTYPE)
            _write_ragged(g, "box_instance", table["instance_id"], boff, ("box",))
            _write_ragged(g, "box_label", table["label"], None, ("box",))
            xywh = np.stack([table[f] for f in ("x", "y", "w", "h")], axis=1).astype(np.float32)
            vis = np.stack([table[f] for f in ("vis_x", "vis_y", "vis_w", "vis_h")], axis=1)
            _write_ragged(g, "box_xywh", xywh, None, ("box", "xywh"))
            _write_ragged(g, "box_vis_xywh", vis.astype(np.float32), None, ("box", "xywh"))
            stored = [r.get("box_stored_instance") for r in records if r.get("boxes")]
            write_box_description(g, layout, table["label"], stored)
    meta = dict(group.attrs["harmonize"])
    meta.update(extra_attrs)
    for layout in layouts:
        describe_source(group["sources"][layout.name], layout, meta)
    meta["status"] = "complete"
    meta["completed"] = utc_timestamp()
    group.attrs["harmonize"] = meta
    write_ome_metadata(group)  # OME-NGFF 0.5 label images (harmonize/store/ome.py)
    # one metadata document for the whole store: xarray opens it without warnings and a remote
    # open costs one request
    import warnings

    import zarr

    with warnings.catch_warnings():  # "not part of the v3 specification": a documented choice
        warnings.simplefilter("ignore", UserWarning)
        zarr.consolidate_metadata(group.store)


def _offsets(per_sample: Sequence[Sequence[Any]]) -> np.ndarray:
    """``(N + 1,)`` int64 offsets of a ragged table: sample ``i`` holds rows
    ``off[i]:off[i + 1]``."""
    off = np.zeros(len(per_sample) + 1, np.int64)
    off[1:] = np.cumsum([len(x) for x in per_sample])
    return off


def _write_ragged(
    g, name: str, values: np.ndarray, offsets: np.ndarray | None, dims: tuple[str, ...]
) -> None:
    n = max(1, len(values))
    chunks = (min(n, 1 << 16), *values.shape[1:])
    arr = g.create_array(
        name,
        shape=values.shape,
        chunks=chunks,
        dtype=values.dtype,
        fill_value=0,
        dimension_names=dims,
        overwrite=True,
    )
    if len(values):
        arr[...] = values
    if offsets is not None:
        prefix = name.split("_")[0]
        off = g.create_array(
            f"{prefix}_offset",
            shape=offsets.shape,
            chunks=(min(len(offsets), 1 << 16),),
            dtype="int64",
            fill_value=0,
            dimension_names=("sample_edge",),
            overwrite=True,
        )
        off[:] = offsets
