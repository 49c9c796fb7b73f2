"""Reading a harmonize store: :func:`open_store`, :class:`Store` and :class:`Sample`.

The store is plain Zarr v3 (see :mod:`harmonize.store.layout`); this module adds indexing across
sources, the ontology as an object, and lazy per-sample access.
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any

import numpy as np

from harmonize.errors import StoreError
from harmonize.store._zarr import open_group, shard_summaries
from harmonize.store.layout import FORMAT, SourceLayout

__all__ = ["OntologyTable", "Sample", "Store", "label_space_arrays", "open_store"]


@dataclass(frozen=True)
class OntologyTable:
    """The ontology a store was written in: ids, names, colours, parents and special values.

    Built from the store's root attributes, so it needs neither YAML nor the taxonomy package.
    """

    name: str
    classes: tuple[dict[str, Any], ...]
    level: dict[str, Any] | None = None

    @cached_property
    def by_id(self) -> dict[int, dict[str, Any]]:
        return {int(c["id"]): c for c in self.classes}

    @cached_property
    def by_name(self) -> dict[str, dict[str, Any]]:
        return {c["name"]: c for c in self.classes}

    def name_of(self, class_id: int) -> str:
        return self.by_id[int(class_id)]["name"]

    def id_of(self, name: str) -> int:
        return int(self.by_name[name]["id"])

    @property
    def ignore(self) -> int:
        return next(int(c["id"]) for c in self.classes if c.get("role") == "ignore")

    @property
    def background(self) -> int | None:
        return next((int(c["id"]) for c in self.classes if c.get("role") == "background"), None)

    def parent(self, name: str) -> str | None:
        return self.by_name[name].get("parent")

    def ancestors(self, name: str) -> list[str]:
        out, cur = [], self.parent(name)
        while cur is not None:
            out.append(cur)
            cur = self.parent(cur)
        return out

    def colormap(self) -> np.ndarray:
        """``(max id + 1, 3)`` uint8 colours indexed by output id."""
        top = max(self.by_id)
        cmap = np.zeros((top + 1, 3), np.uint8)
        for cid, c in self.by_id.items():
            cmap[cid] = c.get("color", (0, 0, 0))
        return cmap


def label_space_arrays(space: dict[str, Any], class_ids: np.ndarray) -> dict[str, np.ndarray]:
    """A source's label space as arrays over a store's class columns.

    Parameters
    ----------
    space : dict
        One entry of the store's ``label_spaces`` attribute (see
        :mod:`harmonize.taxonomy.labelspace`).
    class_ids : ndarray, shape (C,)
        Output id of each class column (:attr:`Store.class_ids`).

    Returns
    -------
    dict with
        ``valid_classes`` : ndarray (C,) bool -- the dataset mask: nodes the source does not label
        as ``absent``, and background when the source writes it.
        ``coarse_of`` : ndarray (C, C) bool -- row ``i``: the columns a pixel labelled
        ``class_ids[i]`` by this source may truly be: the output leaves under it (one column, itself,
        for a leaf label; background for background). All False for ids the source never writes and
        for ignore, unlabeled and ambiguous (outside any loss).
    """
    col = {int(c): j for j, c in enumerate(np.asarray(class_ids).tolist())}
    n = len(col)
    valid = np.zeros(n, dtype=bool)
    coarse = np.zeros((n, n), dtype=bool)
    for c in space["classes"]:
        j = col.get(int(c["id"]))
        if j is None:
            continue
        valid[j] = c["status"] != "absent"
        if c["label"]:
            coarse[j, [col[int(v)] for v in c["leaves"] if int(v) in col]] = True
    for s in space["specials"]:
        j = col.get(int(s["id"]))
        if j is not None and s["role"] == "background" and s["emitted"]:
            valid[j] = True
            coarse[j, j] = True
    return {"valid_classes": valid, "coarse_of": coarse}


@dataclass
class Sample:
    """One sample of a store. Pixel layers are read on first access (one shard, a few chunks)."""

    store: Store = field(repr=False)
    source: str
    index: int  # index within the source
    sample_id: str
    split: str
    dataset: str
    paths: list[str]
    height: int
    width: int

    def _layer(self, name: str) -> np.ndarray | None:
        g = self.store._group["sources"][self.source]
        if name not in g:
            return None
        return g[name][self.index, : self.height, : self.width]

    @cached_property
    def semantic(self) -> np.ndarray | None:
        """``(H, W)`` ontology ids (``None`` in a store without a semantic layer)."""
        return self._layer("semantic")

    @cached_property
    def instance(self) -> np.ndarray | None:
        """``(H, W)`` instance ids 1..K (0 = none) in the stored dtype: uint16 by default, uint32
        in format 1 stores or with ``output.instance_dtype: uint32`` (TrainingSet patches are
        int32)."""
        return self._layer("instance")

    @cached_property
    def image(self) -> np.ndarray | None:
        """``(H, W, 3)`` uint8 RGB."""
        return self._layer("image")

    @cached_property
    def instance_classes(self) -> np.ndarray:
        """``(K,)`` ontology id of instance k at index k - 1."""
        g = self.store._group["sources"][self.source]
        if "instance_offset" not in g:  # an incomplete store: read its shard's committed summary
            lay = next(x for x in self.store.layouts if x.name == self.source)
            summary = shard_summaries(self.store._group, lay)[self.index // lay.samples_per_shard]
            if summary is None:
                raise StoreError(
                    f"sample {self.index} of {self.source!r} is in a shard not written yet",
                    path=self.store.url,
                )
            rec = next(r for r in summary["samples"] if r["index"] == self.index)
            return np.asarray(
                rec.get("instance_classes", []),
                dtype=g["semantic"].dtype if "semantic" in g else np.uint32,
            )
        return self.store._ragged(self.source, "instance", self.index)["instance_class"]

    @cached_property
    def boxes(self) -> dict[str, np.ndarray] | None:
        """Box table or None: ``xywh``, ``vis_xywh`` ``(B, 4)``; ``label`` (the box dataset's label
        id) and ``label_name``; ``instance`` (the native instance id, CityPersons' Cityscapes
        ``instanceId``) and ``stored_instance`` (the id 1..K of that instance in :attr:`instance`,
        0 = none). Stores finalized before issue 15 have no ``label_name`` and
        ``stored_instance``; those keys are then absent."""
        g = self.store._group["sources"][self.source]
        if "box_offset" not in g:
            return None
        r = self.store._ragged(self.source, "box", self.index)
        out = {
            "xywh": r["box_xywh"],
            "vis_xywh": r["box_vis_xywh"],
            "label": r["box_label"],
            "instance": r["box_instance"],
        }
        for key in ("label_name", "stored_instance"):
            if f"box_{key}" in r:
                out[key] = r[f"box_{key}"]
        return out

    @cached_property
    def pixel_counts(self) -> dict[int, int]:
        g = self.store._group["sources"][self.source]
        row = g["pixel_counts"][self.index]
        return {int(c): int(v) for c, v in zip(self.store.class_ids, row, strict=True) if v}

    @cached_property
    def instance_counts(self) -> dict[int, int]:
        g = self.store._group["sources"][self.source]
        row = g["instance_counts"][self.index]
        return {int(c): int(v) for c, v in zip(self.store.class_ids, row, strict=True) if v}


class Store:
    """A harmonize store opened for reading. Index it like a sequence of :class:`Sample`.

    Samples skipped during the run (``on_error: skip``) are absent from the index.
    """

    def __init__(
        self,
        group,
        url: str,
        *,
        allow_incomplete: bool = False,
        storage_options: dict | None = None,
    ) -> None:
        self._group = group
        self.url = url
        #: how the store was opened (a TrainingSet reopens it the same way in DataLoader workers)
        self.open_options = {
            "allow_incomplete": allow_incomplete,
            "storage_options": storage_options,
        }
        meta = group.attrs.get("harmonize")
        if not meta or meta.get("format") != FORMAT:
            raise StoreError("not a harmonize store (root attribute 'harmonize' missing)", path=url)
        if meta.get("status") == "creating":
            raise StoreError(
                "the store's creation did not finish; run the config again with --resume",
                path=url,
            )
        self.meta: dict[str, Any] = dict(meta)
        self.layouts = [SourceLayout.from_dict(d) for d in self.meta["sources"]]

    # -- metadata -----------------------------------------------------------------------------
    @property
    def complete(self) -> bool:
        return self.meta.get("status") == "complete"

    def progress(self) -> dict[str, tuple[int, int]]:
        """``{source: (shards written, shards planned)}``."""
        out = {}
        for lay in self.layouts:
            done = sum(s is not None for s in shard_summaries(self._group, lay))
            out[lay.name] = (done, lay.n_shards)
        return out

    @cached_property
    def ontology(self) -> OntologyTable:
        o = self.meta["ontology"]
        return OntologyTable(
            name=o["name"], classes=tuple(o["classes"]), level=self.meta.get("level")
        )

    @cached_property
    def class_ids(self) -> np.ndarray:
        """Output id of each column of the count tables."""
        return np.asarray(self.meta["class_ids"], dtype=np.int64)

    @property
    def sources(self) -> list[str]:
        return [lay.name for lay in self.layouts]

    @property
    def has_label_spaces(self) -> bool:
        """Whether the store records its sources' label spaces (stores written since issue 7)."""
        return bool(self.meta.get("label_spaces"))

    def label_space(self, source: str) -> dict[str, Any]:
        """The label space of ``source``: per ontology node ``status`` (``exact``, ``coarse`` with
        ``via``, ``partial``, ``absent``), the ids each label stands for, the special values it
        writes, and whether it gives instances, classes or both (``gives``).

        See :mod:`harmonize.taxonomy.labelspace` and ``docs/partial-labels.md``.

        Raises
        ------
        KeyError
            ``source`` is not a source of the store.
        StoreError
            The store was written without label spaces (rerun it to record them).
        """
        if source not in self.sources:
            raise KeyError(f"no source {source!r}; sources: {self.sources}")
        spaces = self.meta.get("label_spaces") or {}
        if source not in spaces or spaces[source] is None:
            raise StoreError(
                f"store has no label space for source {source!r} (written before label spaces "
                "were recorded); rerun the config with --overwrite",
                path=self.url,
            )
        return spaces[source]

    def label_space_arrays(self, source: str) -> dict[str, np.ndarray]:
        """:func:`label_space_arrays` of ``source`` over :attr:`class_ids` (cached)."""
        cache = self.__dict__.setdefault("_label_arrays", {})
        if source not in cache:
            cache[source] = label_space_arrays(self.label_space(source), self.class_ids)
            for arr in cache[source].values():
                arr.setflags(write=False)
        return cache[source]

    @cached_property
    def _index(self) -> list[tuple[int, int]]:
        out: list[tuple[int, int]] = []
        for si, lay in enumerate(self.layouts):
            valid = self._group["sources"][lay.name]["valid"][:]
            out.extend((si, int(i)) for i in np.flatnonzero(valid))
        return out

    @cached_property
    def _tables(self) -> dict[str, dict[str, np.ndarray]]:
        out = {}
        for lay in self.layouts:
            g = self._group["sources"][lay.name]
            out[lay.name] = {k: g[k][:] for k in ("sample_id", "split", "paths", "height", "width")}
        return out

    def _ragged(self, source: str, prefix: str, index: int) -> dict[str, np.ndarray]:
        g = self._group["sources"][source]
        off = g[f"{prefix}_offset"][index : index + 2]
        a, b = int(off[0]), int(off[1])
        names = [
            k for k in g.array_keys() if k.startswith(prefix + "_") and k != f"{prefix}_offset"
        ]
        return {k: g[k][a:b] for k in names}

    # -- samples ------------------------------------------------------------------------------
    def __len__(self) -> int:
        return len(self._index)

    def __getitem__(self, i: int) -> Sample:
        if not -len(self) <= i < len(self):
            raise IndexError(f"sample {i} out of range (store has {len(self)})")
        si, local = self._index[i]
        return self.sample(self.layouts[si].name, local)

    def __iter__(self) -> Iterator[Sample]:
        for i in range(len(self)):
            yield self[i]

    def sample(self, source: str, index: int) -> Sample:
        """Sample ``index`` (0-based, within ``source``)."""
        lay = next((x for x in self.layouts if x.name == source), None)
        if lay is None:
            raise KeyError(f"no source {source!r}; sources: {self.sources}")
        t = self._tables[source]
        return Sample(
            store=self,
            source=source,
            index=index,
            sample_id=str(t["sample_id"][index]),
            split=str(t["split"][index]),
            dataset=lay.dataset,
            paths=json.loads(str(t["paths"][index]) or "[]"),
            height=int(t["height"][index]),
            width=int(t["width"][index]),
        )

    def indices(
        self, sources: Sequence[str] | None = None, split: str | Sequence[str] | None = None
    ) -> list[int]:
        """Store indices of samples from ``sources`` and ``split`` (a name or a list of names).

        Raises
        ------
        StoreError
            When a source or split name occurs nowhere in the store (a typo must not select
            nothing silently).
        """
        if isinstance(sources, str):
            sources = [sources]
        splits = {split} if isinstance(split, str) else (set(split) if split else None)
        if sources is not None:
            unknown = sorted(set(sources) - set(self.sources))
            if unknown:
                raise StoreError(
                    f"no source(s) {unknown} in this store; sources: {self.sources}", path=self.url
                )
        if splits is not None:
            known = {str(v) for t in self._tables.values() for v in t["split"]}
            unknown = sorted(splits - known)
            if unknown:
                raise StoreError(
                    f"no split(s) {unknown} in this store; splits: {sorted(known)}", path=self.url
                )
        out = []
        for i, (si, local) in enumerate(self._index):
            name = self.layouts[si].name
            if sources is not None and name not in sources:
                continue
            if splits is not None and str(self._tables[name]["split"][local]) not in splits:
                continue
            out.append(i)
        return out

    def counts(
        self, sources: Sequence[str] | None = None, split: str | None = None
    ) -> dict[str, np.ndarray]:
        """Summed pixel and instance counts per output id over the selected samples."""
        pix = np.zeros(len(self.class_ids), np.int64)
        ins = np.zeros(len(self.class_ids), np.int64)
        for i in self.indices(sources, split):
            si, local = self._index[i]
            g = self._group["sources"][self.layouts[si].name]
            pix += g["pixel_counts"][local]
            ins += g["instance_counts"][local]
        return {"class_ids": self.class_ids, "pixels": pix, "instances": ins}

    @classmethod
    def open(
        cls, url: str, *, allow_incomplete: bool = False, storage_options: dict | None = None
    ) -> Store:
        """What :func:`open_store` does (a :class:`~harmonize.store.training.TrainingSet` reopens
        its store through it in DataLoader workers, without importing this module)."""
        group = open_group(str(url), mode="r", storage_options=storage_options)
        store = cls(
            group, str(url), allow_incomplete=allow_incomplete, storage_options=storage_options
        )
        if not store.complete and not allow_incomplete:
            prog = ", ".join(f"{k} {a}/{b} shards" for k, (a, b) in store.progress().items())
            raise StoreError(
                f"store is incomplete (the run stopped half-way: {prog}); finish it with "
                "`harmonize run CONFIG --resume`, or open with allow_incomplete=True",
                path=url,
            )
        return store

    def training_set(self, **kwargs: Any):
        """Random-access patches for training; see :class:`harmonize.store.training.TrainingSet`."""
        from harmonize.store.training import TrainingSet

        return TrainingSet(self, **kwargs)

    def __repr__(self) -> str:
        state = "complete" if self.complete else "INCOMPLETE"
        return f"<harmonize Store {self.url!r} {state}: {len(self)} samples from {self.sources}>"


def open_store(
    url: str, *, allow_incomplete: bool = False, storage_options: dict | None = None
) -> Store:
    """Open a store for reading.

    An incomplete store (a run that stopped half-way) raises :class:`~harmonize.errors.StoreError`
    saying how far it got, unless ``allow_incomplete`` is set.

    Examples
    --------
    >>> from harmonize import open_store
    >>> store = open_store(nuclei_store)  # a store path ("out/nuclei_merged.zarr" after the demo)
    >>> store.sources
    ['consep']
    >>> s = store[0]
    >>> s.source, s.split, s.semantic.shape == (s.height, s.width)
    ('consep', 'train', True)
    """
    return Store.open(url, allow_incomplete=allow_incomplete, storage_options=storage_options)
