"""How harmonize opens zarr: the zarrs codec pipeline set up before the first store access, and
the helpers both the writer and the read side use (:func:`open_group`, :func:`shard_summaries`).

zarr-python encodes and decodes every chunk through Python (one ``asyncio.to_thread`` per inner
chunk of a shard, ~0.3-0.5 ms of CPU each). `zarrs <https://github.com/zarrs/zarrs-python>`_
implements the same codec pipeline in Rust behind zarr-python's ``codec_pipeline.path`` setting:
the arrays, their metadata and every byte on disk stay standard Zarr v3 (plain zarr-python, xarray
and dask read them unchanged); only the work per chunk moves out of Python. On this project's
benchmarks it writes shards of 512 px tiles ~3x faster and reads random 512 px crops ~3-8x faster
(``python -m benchmarks read``, ``python -m benchmarks pipeline``).

Settings, applied once per process by :func:`configure` (the first store open or create calls it):

* ``codec_pipeline.path = "zarrs.ZarrsCodecPipeline"``, unless the user has chosen a pipeline
  already or ``HARMONIZE_ZARRS=0`` is set, or zarrs is not installed (then zarr's own pipeline is
  used and everything works, slower);
* one chunk at a time and one thread per call (``codec_pipeline.chunk_concurrent_minimum`` /
  ``_maximum = 1``, ``threading.max_workers = 1``). harmonize's parallelism is processes (run
  workers, DataLoader workers), and zarrs' thread pool (rayon) does not survive ``fork``: a
  DataLoader worker forked after the parent read through a multi-threaded zarrs pipeline hangs on
  its first read. With one chunk at a time the pool is never entered, so forked workers read
  safely (``tests/store/test_zarrs_pipeline.py`` forks and reads);
* the fallback for stores zarrs cannot open itself (``memory://``, most fsspec URLs) is zarr's own
  pipeline, silently: its "Array is unsupported by ZarrsCodecPipeline" warning is filtered.
"""

from __future__ import annotations

import json
import os
import warnings
from typing import TYPE_CHECKING, Any, Literal

from harmonize.errors import StoreError

if TYPE_CHECKING:
    from harmonize.store.layout import SourceLayout

__all__ = ["configure", "open_group", "pipeline_name", "shard_summaries", "uses_zarrs"]

_DEFAULT_PIPELINE = "zarr.core.codec_pipeline.BatchedCodecPipeline"
_ZARRS_PIPELINE = "zarrs.ZarrsCodecPipeline"
_configured = False


def configure() -> None:
    """Apply harmonize's zarr settings once per process (idempotent; cheap after the first call)."""
    global _configured
    if _configured:
        return
    _configured = True
    import zarr

    if os.environ.get("HARMONIZE_ZARRS", "1").strip().lower() in ("0", "false", "no", "off"):
        return
    if zarr.config.get("codec_pipeline.path") != _DEFAULT_PIPELINE:
        return  # the user chose a pipeline: keep it
    try:
        import zarrs  # noqa: F401
    except ImportError:
        return
    warnings.filterwarnings(
        "ignore", message="Array is unsupported by ZarrsCodecPipeline", category=UserWarning
    )
    zarr.config.set(
        {
            "codec_pipeline.path": _ZARRS_PIPELINE,
            "codec_pipeline.chunk_concurrent_minimum": 1,
            "codec_pipeline.chunk_concurrent_maximum": 1,
            "threading.max_workers": 1,
        }
    )


def pipeline_name() -> str:
    """The codec pipeline new arrays of this process use (after :func:`configure`)."""
    import zarr

    configure()
    return str(zarr.config.get("codec_pipeline.path"))


def uses_zarrs() -> bool:
    """Whether this process reads and writes through the zarrs pipeline (after :func:`configure`)."""
    return pipeline_name() == _ZARRS_PIPELINE


def open_group(
    url: str, mode: Literal["r", "r+", "a", "w", "w-"] = "r", storage_options: dict | None = None
):
    """Open the root group of a store at a local path or fsspec URL."""
    import zarr
    from zarr.errors import NodeNotFoundError

    configure()
    try:
        return zarr.open_group(url, mode=mode, storage_options=storage_options or None)
    except (FileNotFoundError, NodeNotFoundError) as exc:
        raise StoreError("no harmonize store here", path=url) from exc


def shard_summaries(group, layout: SourceLayout) -> list[dict[str, Any] | None]:
    """The committed summary of every shard of ``layout`` (``None`` where not written yet)."""
    done = group["sources"][layout.name]["shard_done"][:]
    return [json.loads(s) if s else None for s in done.tolist()]
