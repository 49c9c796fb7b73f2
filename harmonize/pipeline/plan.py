"""Planning a run: list every source's samples, size their slots, compile mappings, cut shards.

The plan is deterministic for a config and the files on disk, so a resumed run writes exactly the
shards an uninterrupted run would have (its digest is stored in the store and checked on resume).
"""

from __future__ import annotations

import hashlib
import json
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from harmonize.errors import ConfigError, HarmonizeError
from harmonize.pipeline.config import RunConfig, SourceConfig
from harmonize.store.layout import SourceLayout, default_samples_per_shard, default_tile
from harmonize.types import CompiledMapping, SampleRef

if TYPE_CHECKING:
    from harmonize.datasets.base import OnError
    from harmonize.taxonomy.compile import CoarsePolicy
    from harmonize.taxonomy.models import DatasetTaxonomy, Mapping, Ontology

__all__ = [
    "Plan",
    "ReaderSpec",
    "ShardTask",
    "SourcePlan",
    "config_ontology",
    "make_plan",
    "ontology_table",
    "peek_shape",
    "source_taxonomy",
]

IMAGE_SUFFIXES = {".png", ".jpg", ".jpeg", ".tif", ".tiff", ".svs", ".bmp"}


@dataclass(frozen=True)
class ReaderSpec:
    """Everything a worker needs to open a reader (picklable)."""

    dataset: str
    root: str
    splits: tuple[str, ...] | None
    on_error: OnError
    options: tuple[tuple[str, Any], ...] = ()
    #: Pixel limit per file (config ``limits.max_pixels``); ``None`` = the default.
    max_pixels: int | None = None
    #: Whether the run writes images (``image`` in ``output.layers``); ``False`` opens the reader
    #: with ``images=False``, so label-only downloads (no image folder) can be read.
    images: bool = True
    #: Taxonomy folders laid over the shipped ones (config ``taxonomies:``), resolved.
    taxonomies: tuple[str, ...] = ()

    def open(self):
        from harmonize import datasets
        from harmonize.datasets._io import set_max_pixels
        from harmonize.taxonomy.catalog import add_taxonomy_dirs

        set_max_pixels(self.max_pixels)  # process-wide: every decode in this worker checks it
        add_taxonomy_dirs(self.taxonomies)  # so a worker finds a dataset declared there

        return datasets.open_reader(
            self.dataset,
            self.root,
            splits=list(self.splits) if self.splits else None,
            on_error=self.on_error,
            images=self.images,
            **dict(self.options),
        )


@dataclass
class SourcePlan:
    """One source: its reader, samples, compiled mapping and store layout."""

    name: str
    reader: ReaderSpec
    refs: list[SampleRef]
    shapes: np.ndarray  # (N, 2)
    mapping: CompiledMapping
    layout: SourceLayout
    mapping_path: str
    #: The source's label space (harmonize.taxonomy.labelspace.LabelSpace.to_dict()), stored in
    #: the store's root attribute ``label_spaces``.
    label_space: dict[str, Any] | None = None


@dataclass(frozen=True)
class ShardTask:
    """One unit of work: read, remap and write one whole shard of one source."""

    url: str
    storage_options: tuple[tuple[str, Any], ...]
    layout: SourceLayout
    shard: int
    reader: ReaderSpec
    refs: tuple[SampleRef, ...]
    mapping: CompiledMapping
    class_ids: np.ndarray
    on_error: OnError
    plan_digest: str = ""


@dataclass
class Plan:
    """A planned run: the config, the store URL, every source's plan and the ontology record."""

    config: RunConfig
    url: str
    sources: list[SourcePlan]
    ontology: dict[str, Any]
    class_ids: np.ndarray
    level: dict[str, Any] | None
    digest: str = ""
    planning_skipped: list[dict[str, Any]] = field(default_factory=list)

    @property
    def n_samples(self) -> int:
        return sum(len(s.refs) for s in self.sources)

    def tasks(self, done: dict[str, set[int]] | None = None) -> list[ShardTask]:
        """Shard tasks, skipping those in ``done[source]``."""
        done = done or {}
        out = []
        so = tuple(sorted(self.config.output.storage_options.items()))
        for s in self.sources:
            for k in range(s.layout.n_shards):
                if k in done.get(s.name, set()):
                    continue
                a, b = s.layout.shard_range(k)
                out.append(
                    ShardTask(
                        self.url,
                        so,
                        s.layout,
                        k,
                        s.reader,
                        tuple(s.refs[a:b]),
                        s.mapping,
                        self.class_ids,
                        self.config.on_error,
                        self.digest,
                    )
                )
        return out


def peek_shape(reader, ref: SampleRef) -> tuple[int, int]:
    """``(H, W)`` of a sample, cheaply where possible.

    Uses the reader's own ``peek_shape`` if it has one, else the header of the sample's image file
    (``ref.paths[0]``), else reads the sample. A reader opened with ``images=False`` reads no image
    (which may be absent): the header of the first label file with an image suffix (a label PNG,
    listed after the image) is used, the image's only when no label file has one.
    """
    own = getattr(reader, "peek_shape", None)
    if callable(own):
        return tuple(own(ref))
    images = getattr(reader, "images", True)
    candidates = ref.paths[:1] if images else (*ref.paths[1:], *ref.paths[:1])
    for path in candidates:
        p = Path(path)
        if p.suffix.lower() in IMAGE_SUFFIXES and p.is_file():
            from harmonize.datasets._io import read_image_size

            try:
                return read_image_size(p)
            except HarmonizeError:  # unreadable header: let read() report it properly
                pass
            break
    sample = reader.read(ref)
    return sample.shape


def ontology_table(ontology) -> list[dict[str, Any]]:
    """Ontology nodes and special values as plain dicts for the store's attributes."""
    rows = [
        {
            "id": n.id,
            "name": n.name,
            "parent": n.parent,
            "color": list(n.color),
            "title": n.title,
            "description": n.description,
        }
        for n in ontology.nodes
    ]
    rows += [
        {
            "id": s.id,
            "name": s.name,
            "role": s.role,
            "color": list(s.color),
            "description": s.description,
        }
        for s in ontology.special
    ]
    return sorted(rows, key=lambda r: r["id"])


def config_ontology(config: RunConfig) -> Ontology:
    """The ontology a run config maps onto: a catalogue name or a path next to the config."""
    from harmonize._yaml import looks_like_path
    from harmonize.taxonomy import load_ontology

    name = config.ontology
    return load_ontology(config.resolve(name) if looks_like_path(name) else name)


def source_taxonomy(
    config: RunConfig, source: SourceConfig, ontology: str
) -> tuple[DatasetTaxonomy, Mapping]:
    """The taxonomy a source is read with and its mapping onto ``ontology``: the source's
    ``mapping:`` override (a path next to the config) or the catalogue's mapping of the dataset's
    taxonomy. The one resolution the planner and ``harmonize coverage --config`` share.

    Raises
    ------
    ConfigError
        When the dataset is not registered (naming the config file).
    """
    from harmonize import datasets
    from harmonize.taxonomy import load_mapping, load_taxonomy

    try:
        spec = datasets.get(source.dataset)
    except KeyError as exc:
        raise ConfigError(str(exc.args[0]), path=config.path) from None
    tax = load_taxonomy(spec.taxonomy)
    mapping = (
        load_mapping(config.resolve(source.mapping))
        if source.mapping
        else load_mapping(spec.taxonomy, ontology)
    )
    return tax, mapping


def make_plan(config: RunConfig, *, on_progress=None) -> Plan:
    """List, size and map every source of ``config``.

    Samples that fail already while sizing are handled by ``on_error`` (listed, then absent).
    """
    from harmonize.datasets.base import Skipped
    from harmonize.taxonomy import compile_mapping
    from harmonize.taxonomy.catalog import add_taxonomy_dirs
    from harmonize.taxonomy.labelspace import label_space

    taxonomies = tuple(config.resolve(t) for t in config.taxonomies)
    for i, folder in enumerate(taxonomies):
        if not Path(folder).is_dir():
            raise config.error(f"taxonomies[{i}]: {folder} is not a folder", ("taxonomies", i))
    add_taxonomy_dirs(taxonomies)
    onto = config_ontology(config)
    level = None
    coarse: CoarsePolicy = "keep"
    if config.level is not None and config.level.nodes:
        names = {n.name for n in onto.nodes}
        for i, node in enumerate(config.level.nodes):
            if node not in names:
                raise config.error(
                    f"level.nodes[{i}]: {node!r} is not a node of ontology {onto.name!r}",
                    ("level", "nodes", i),
                )
    if config.level is not None:
        coarse = config.level.coarse_policy
        level = (
            {"nodes": config.level.nodes} if config.level.nodes else {"depth": config.level.depth}
        )
    out = config.output
    url = config.resolve(out.path)
    if "://" in url:
        import fsspec

        try:
            fsspec.get_filesystem_class(url.split("://", 1)[0].split("::")[-1])
        except (ValueError, ImportError) as exc:
            raise config.error(
                f"output.path: cannot write to {url!r} ({exc})", ("output", "path")
            ) from None
    sources: list[SourcePlan] = []
    skipped: list[dict[str, Any]] = []
    compiled: dict[str, CompiledMapping] = {}
    for si, sc in enumerate(config.sources):
        tax, mapping = source_taxonomy(config, sc, onto.name)
        rspec = ReaderSpec(
            sc.dataset,
            config.resolve(sc.root),
            tuple(sc.splits) if sc.splits else None,
            config.on_error,
            tuple(sorted(sc.options.items())),
            config.limits.max_pixels,
            "image" in out.layers,
            taxonomies,
        )
        try:
            reader = rspec.open()
        except HarmonizeError:
            raise
        except (ValueError, TypeError) as exc:  # unknown split, unknown or wrong-typed option
            key = "splits" if "split" in str(exc) and sc.splits else "options"
            raise config.error(f"sources[{si}].{key}: {exc}", ("sources", si, key)) from None
        cm = compile_mapping(
            tax,
            onto,
            mapping,
            level,
            coarse_policy=coarse,
            encoding=getattr(reader, "encoding", None),
            unknown_policy=config.unknown_values,
        )
        compiled[sc.source_name] = cm
        refs = reader.list_refs()
        kept, shapes = [], []
        for ref in refs:
            try:
                shapes.append(peek_shape(reader, ref))
                kept.append(ref)
            except HarmonizeError as exc:
                if config.on_error == "raise":
                    raise
                skipped.append(
                    {"source": sc.source_name, **Skipped.from_error(ref.sample_id, exc).to_dict()}
                )
            if on_progress:
                on_progress(sc.source_name, 1)
        if not kept:
            mine = [x for x in skipped if x["source"] == sc.source_name]
            why = "; ".join(x["error"] for x in mine[:3]) + (" ..." if len(mine) > 3 else "")
            raise ConfigError(
                f"source {sc.source_name!r}: no readable samples under {rspec.root}"
                + (f" ({len(mine)} failed: {why})" if mine else ""),
                path=config.path,
            )
        arr = np.asarray(shapes, dtype=np.int64).reshape(-1, 2)
        h, w = int(arr[:, 0].max()), int(arr[:, 1].max())
        sps = out.samples_per_shard or default_samples_per_shard(h, w)
        layers = tuple(out.layers)
        layout = SourceLayout(
            name=sc.source_name,
            dataset=sc.dataset,
            n_samples=len(kept),
            height=h,
            width=w,
            samples_per_shard=sps,
            tile=out.tile or default_tile(h, w),
            semantic_dtype=str(np.dtype(cm.out_dtype)),
            fill_semantic=int(cm.ignore),
            n_classes=0,
            layers=layers,
            boxes=out.boxes,
            instance_dtype=out.instance_dtype,
            extra=_box_extra(reader) if out.boxes else {},
        )
        sources.append(
            SourcePlan(
                sc.source_name,
                rspec,
                kept,
                arr,
                cm,
                layout,
                str(getattr(mapping, "_source", "") or ""),
                _instances_listed(
                    label_space(tax, onto, mapping, level, coarse_policy=coarse).to_dict(), kept
                ),
            )
        )
    table = ontology_table(onto)
    class_ids = np.asarray([r["id"] for r in table], dtype=np.int64)
    top = max(int(class_ids.max()), *(int(cm.n_out) - 1 for cm in compiled.values()))
    # classes a level keeps at their own id are already nodes; anything else must be declared
    for s in sources:
        s.layout = SourceLayout(
            **{**s.layout.to_dict(), "layers": s.layout.layers, "n_classes": len(class_ids)}
        )
        if s.mapping.n_out - 1 > top:  # pragma: no cover - compile guarantees ids are nodes
            raise ConfigError(f"{s.name}: output id beyond the ontology")
    plan = Plan(
        config,
        url,
        sources,
        {"name": onto.name, "version": onto.version, "title": onto.title, "classes": table},
        class_ids,
        level,
        planning_skipped=skipped,
    )
    plan.digest = _digest(plan)
    return plan


def _box_extra(reader: Any) -> dict[str, Any]:
    """``SourceLayout.extra`` of a source writing boxes: its reader's box label names (JSON keys
    are strings), which ``finalize`` stores as ``box_label_name``."""
    labels = getattr(reader, "box_labels", None) or {}
    return {"box_labels": {str(k): str(v) for k, v in sorted(labels.items())}}


def _instances_listed(space: dict[str, Any], refs: list[SampleRef]) -> dict[str, Any]:
    """A source's label space with what its listed files say about instances.

    A sample whose files carry no instance labels is listed with ``meta["instances"] = False``
    (Cityscapes frames that ship only ``_labelIds.png``). Their count is recorded as
    ``samples_without_instances``; when no sample has instance labels, ``instances`` is ``False``
    and ``gives`` says so, whatever the taxonomy allows.
    """
    lacking = sum(1 for r in refs if r.meta.get("instances") is False)
    if not lacking:
        return space
    out = {**space, "samples_without_instances": lacking}
    if lacking == len(refs):
        out["instances"] = False
        out["gives"] = "classes" if out["class_info"] else "none"
    return out


def _digest(plan: Plan) -> str:
    """Digest of everything that decides what the store's arrays hold: resuming under a different
    digest would mix two runs' outputs. Settings that change no array (executor, description, the
    leakage check) are left out."""
    h = hashlib.sha256()
    stats: dict[str, list[int] | None] = {}  # refs sharing one file (PanNuke masks.npy): one stat
    cfg = plan.config.resolved()
    for key in ("executor", "description", "leakage"):
        cfg.pop(key, None)
    h.update(json.dumps(cfg, sort_keys=True).encode())
    h.update(json.dumps([plan.ontology, plan.level], sort_keys=True).encode())
    h.update(np.ascontiguousarray(plan.class_ids).tobytes())
    for s in plan.sources:
        m = s.mapping
        h.update(s.name.encode())
        h.update(json.dumps(s.layout.to_dict(), sort_keys=True).encode())
        h.update("\0".join(r.sample_id for r in s.refs).encode())
        h.update(s.shapes.tobytes())
        h.update(json.dumps([[_stat(p, stats) for p in r.paths] for r in s.refs]).encode())
        for table in (m.lut, m.declared, m.keep_instances):
            h.update(np.ascontiguousarray(table).tobytes())
        h.update(
            repr(
                (m.offset, str(np.dtype(m.out_dtype)), m.background, m.ignore, m.unknown_policy)
            ).encode()
        )
    return h.hexdigest()


def _stat(path: str, cache: dict[str, list[int] | None]) -> list[int] | None:
    """``[size, mtime_ns]`` of an input file (cached per path), ``None`` if it cannot be stat'ed:
    an input edited in place after a kill changes the digest, so ``--resume`` refuses it."""
    if path not in cache:
        try:
            st = os.stat(path)
            cache[path] = [int(st.st_size), int(st.st_mtime_ns)]
        except (OSError, ValueError):
            cache[path] = None
    return cache[path]
