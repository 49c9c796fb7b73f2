"""``remap_sample``: one :class:`RawSample` in native ids -> one :class:`HarmonizedSample`.

Memory passes over a sample of N pixels (the pipeline's hot path):

1. semantic remap with fused per-output-id pixel counts (reads the native map, writes the output);
2. instance presence (reads the instance map; 8/16-bit maps need no min/max pass, wider maps take
   one extra read-only min/max pass);
3. instance relabel with fused per-instance class votes (reads the instance and output maps,
   writes the uint32 instance map);
4. only if some instance is dropped: an in-place rewrite of the uint32 instance map.

Instance semantics
------------------
* New ids ``1..K`` follow ascending **native id** order (as ``skimage.segmentation.
  relabel_sequential``), so ``instance_old_ids`` is sorted.
* Class of an instance: the dataset's own per-instance class where the sample gives one
  (``RawSample.instance_ids`` / ``instance_classes``, mapped through the table); otherwise the
  majority output class of its pixels, ties going to the smallest output id (reported in
  ``tied_instances``). Instances present in the map but missing from ``instance_ids`` take the
  majority vote; listed ids absent from the map are ignored.
* ``mixed_instances``: instances whose pixels span more than one output class (ignore counts as a
  class), whichever way their class was decided.
* Dropped (pixels become 0, reported in ``dropped_instances``): class ``ignore`` or background;
  native class with ``keep_instances`` False; on the majority path, a majority class onto which no
  declared native class with ``keep_instances`` maps.
"""

from __future__ import annotations

import numpy as np

from harmonize.engine.remap import (
    map_native_classes,
    prepare,
    remap_semantic,
    rewrite_instances,
    unknown_values,
)
from harmonize.errors import ShapeError, SizeMismatchError, UnmappedValueError
from harmonize.types import CompiledMapping, HarmonizedSample, RawSample

__all__ = ["remap_sample"]

_EXAMPLES = 5


def _label_path(sample: RawSample) -> str | None:
    """The label file of a sample (paths are image first), for error messages."""
    paths = sample.ref.paths
    if len(paths) > 1:
        return paths[1]
    return paths[0] if paths else None


def _where(sample: RawSample) -> str:
    return f"sample {sample.sample_id!r} of dataset {sample.dataset!r}"


def _unmapped(
    sample: RawSample, mapping: CompiledMapping, what: str, vals: np.ndarray, cnts: np.ndarray
) -> UnmappedValueError:
    order = np.argsort(-cnts, kind="stable")[:_EXAMPLES]
    examples = ", ".join(f"{vals[i]} ({cnts[i]} {what})" for i in order)
    more = f" and {vals.size - order.size} more" if vals.size > order.size else ""
    return UnmappedValueError(
        f"{_where(sample)}: {int(cnts.sum())} {what} hold {vals.size} native value(s) that "
        f"mapping {mapping.dataset!r} -> {mapping.ontology!r} does not declare: {examples}{more}. "
        f"Declare them in taxonomies/datasets/{mapping.dataset}.yaml, or set unknown_policy to "
        "'ignore' to write them as ignore.",
        path=_label_path(sample),
    )


def remap_sample(
    sample: RawSample,
    mapping: CompiledMapping,
    *,
    parallel: bool | None = None,
) -> HarmonizedSample:
    """Rewrite one sample's native label maps into ontology ids, with counts.

    Parameters
    ----------
    sample : RawSample
        Native ``semantic`` (H, W) integer map; optional ``instance`` (H, W) integer map (0 = none)
        and optional per-instance native classes.
    mapping : CompiledMapping
        The compiled dataset -> ontology mapping. Its tables are prepared once per mapping object
        and cached.
    parallel : bool or None
        Use the ``parallel=True`` kernels. ``None`` (default) picks them only for very large maps;
        pass ``False`` inside threaded executors (numba's default threading layer aborts when
        several threads launch parallel kernels at once).

    Returns
    -------
    HarmonizedSample
        ``semantic`` in ``mapping.out_dtype``; ``instance`` uint32 ``1..K`` (or None);
        ``pixel_counts`` per output id (unknown pixels counted under ``ignore``, where they were
        written); ``instance_counts`` of kept instances per output id; ``unknown_pixels``;
        ``mixed_instances``, ``tied_instances``, ``dropped_instances`` (native ids). See the module
        docstring for the instance rules.

    Raises
    ------
    UnmappedValueError
        ``unknown_policy == "error"`` and the semantic map (or a per-instance class) holds native
        values the mapping does not declare; the message names the sample, a few values with
        their pixel counts, and how many there are.
    ShapeError, SizeMismatchError
        Maps that are not 2-D integer arrays, or instance and semantic maps of different shapes.
    """
    semantic = np.asarray(sample.semantic)
    if semantic.ndim != 2:
        raise ShapeError(
            f"{_where(sample)}: semantic map must be 2-D, got shape {semantic.shape}",
            path=_label_path(sample),
        )
    prep = prepare(mapping)
    sem_out, counts = remap_semantic(semantic, mapping, parallel=parallel)
    unknown = int(counts[prep.n_out])
    if unknown and mapping.unknown_policy == "error":
        vals, cnts = unknown_values(semantic, mapping)
        raise _unmapped(sample, mapping, "pixels", vals, cnts)
    pixel_counts = counts[: prep.n_out].copy()
    pixel_counts[prep.ignore] += unknown

    forced_ids = forced_cls = None
    if sample.instance_ids is not None and sample.instance_classes is not None:
        forced_ids = np.asarray(sample.instance_ids).reshape(-1)
        native_cls = np.asarray(sample.instance_classes).reshape(-1)
        if forced_ids.shape != native_cls.shape:
            raise ShapeError(
                f"{_where(sample)}: {forced_ids.size} instance ids but {native_cls.size} "
                "instance classes",
                path=_label_path(sample),
            )
        forced_cls, bad = map_native_classes(native_cls, mapping)
        if bad.any() and mapping.unknown_policy == "error":
            vals, cnts = np.unique(native_cls[bad], return_counts=True)
            raise _unmapped(sample, mapping, "instances", vals, cnts)

    none = np.zeros(0, np.int64)
    if sample.instance is None:
        return HarmonizedSample(
            ref=sample.ref,
            semantic=sem_out,
            instance=None,
            instance_classes=np.zeros(0, prep.out_dtype),
            instance_old_ids=none,
            pixel_counts=pixel_counts,
            instance_counts=np.zeros(prep.n_out, np.int64),
            unknown_pixels=unknown,
            boxes=sample.boxes,
            warnings=sample.warnings,
        )
    instance = np.asarray(sample.instance)
    if instance.shape != semantic.shape:
        raise SizeMismatchError(
            f"{_where(sample)}: instance map {instance.shape} and semantic map {semantic.shape} "
            "differ in size",
            path=_label_path(sample),
        )
    res = rewrite_instances(
        instance,
        sem_out,
        mapping,
        forced_ids=forced_ids,
        forced_classes=forced_cls,
        parallel=parallel,
    )
    return HarmonizedSample(
        ref=sample.ref,
        semantic=sem_out,
        instance=res.instance,
        instance_classes=res.classes,
        instance_old_ids=res.old_ids,
        pixel_counts=pixel_counts,
        instance_counts=res.counts,
        unknown_pixels=unknown,
        mixed_instances=res.mixed,
        tied_instances=res.tied,
        dropped_instances=res.dropped,
        boxes=sample.boxes,
        warnings=sample.warnings,
    )
