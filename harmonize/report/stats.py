"""Statistics of a harmonize store: images, pixels, instances, instance sizes and ignore fractions.

Pixel and instance counts come from the store's count tables (``pixel_counts``,
``instance_counts``: one row per sample, one column per output id). Instance sizes come from the
instance maps, read one sample at a time; each group keeps an exact ``{area: count}`` table, whose
size is bounded by the number of *distinct* areas (at most the largest image's pixel count), not by
the number of samples or instances. Median, 95th percentile and the log-binned histogram are
derived from that table, so they are exact.

>>> from harmonize.report.stats import store_stats
>>> st = store_stats(nuclei_store)  # a store path ("out/nuclei_merged.zarr" after `harmonize demo`)
>>> g = next(g for g in st.groups if g.name == "immune")  # one group per source and class
>>> g.key["source"], g.pixels > 0, g.sizes.median > 0
('consep', True, True)
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np

if TYPE_CHECKING:
    from harmonize.store.access import Store

__all__ = [
    "BINS_PER_OCTAVE",
    "GROUP_KEYS",
    "GroupStats",
    "SizeStats",
    "StoreStats",
    "log_bin_edges",
    "special_ids",
    "store_stats",
]

#: Keys a :func:`store_stats` grouping may use.
GROUP_KEYS = ("source", "split", "class")

#: Count-table rows read at a time (bounds memory on stores with many samples).
ROWS = 4096

#: Histogram bins per doubling of the instance area: edges are ``2 ** (k / BINS_PER_OCTAVE)``.
BINS_PER_OCTAVE = 2


def log_bin_edges(max_area: int) -> np.ndarray:
    """Edges of the log-spaced area histogram, covering ``[1, max_area]``.

    Parameters
    ----------
    max_area : int
        Largest area (pixels) the histogram must hold.

    Returns
    -------
    numpy.ndarray
        ``(B + 1,)`` float64 edges ``2 ** (k / BINS_PER_OCTAVE)``, ``k = 0..B``; bin ``k`` is
        ``[edge[k], edge[k + 1])``.
    """
    top = max(1, int(max_area))
    n_bins = int(_bin_index(np.array([top]))[0]) + 1
    return 2.0 ** (np.arange(n_bins + 1) / BINS_PER_OCTAVE)


def _bin_index(areas: np.ndarray) -> np.ndarray:
    """Histogram bin of each area (>= 1): ``floor(BINS_PER_OCTAVE * log2(area))``, made exact at
    the edges (log2 of a power of two can round down)."""
    a = np.asarray(areas, dtype=np.float64)
    k = np.floor(BINS_PER_OCTAVE * np.log2(a)).astype(np.int64)
    # guard against floating error on exact edges: edge[k] <= a < edge[k + 1]
    k += (2.0 ** ((k + 1) / BINS_PER_OCTAVE) <= a).astype(np.int64)
    k -= (2.0 ** (k / BINS_PER_OCTAVE) > a).astype(np.int64)
    return k


@dataclass
class SizeStats:
    """Distribution of instance areas (pixels) of one group, from an exact area table.

    Attributes
    ----------
    areas : dict of int to int
        ``{area in pixels: number of instances with that area}``.
    """

    areas: dict[int, int] = field(default_factory=dict)

    def add(self, areas: np.ndarray) -> None:
        """Add instance areas (``(K,)`` integers >= 1, pixels)."""
        if len(areas) == 0:
            return
        vals, cnt = np.unique(np.asarray(areas, dtype=np.int64), return_counts=True)
        for v, c in zip(vals.tolist(), cnt.tolist(), strict=True):
            self.areas[v] = self.areas.get(v, 0) + c

    def merge(self, other: SizeStats) -> None:
        for v, c in other.areas.items():
            self.areas[v] = self.areas.get(v, 0) + c

    @property
    def n(self) -> int:
        """Number of instances."""
        return sum(self.areas.values())

    def _sorted(self) -> tuple[np.ndarray, np.ndarray]:
        vals = np.array(sorted(self.areas), dtype=np.int64)
        cnt = np.array([self.areas[v] for v in vals.tolist()], dtype=np.int64)
        return vals, cnt

    def quantile(self, q: float) -> float | None:
        """``q``-quantile of the areas with numpy's default (linear) interpolation, or None.

        Equals ``numpy.quantile(all_areas, q)`` without materialising ``all_areas``.
        """
        if not self.areas:
            return None
        vals, cnt = self._sorted()
        cum = np.cumsum(cnt)  # rank r (0-based) has value vals[searchsorted(cum, r, 'right')]
        h = (cum[-1] - 1) * q
        lo, hi = math.floor(h), math.ceil(h)
        v_lo = vals[np.searchsorted(cum, lo, side="right")]
        v_hi = vals[np.searchsorted(cum, hi, side="right")]
        return float(v_lo + (h - lo) * (v_hi - v_lo))

    @property
    def min(self) -> int | None:
        return min(self.areas) if self.areas else None

    @property
    def max(self) -> int | None:
        return max(self.areas) if self.areas else None

    @property
    def median(self) -> float | None:
        return self.quantile(0.5)

    @property
    def p95(self) -> float | None:
        return self.quantile(0.95)

    def histogram(self, max_area: int | None = None) -> tuple[np.ndarray, np.ndarray]:
        """Log-binned histogram of the areas.

        Parameters
        ----------
        max_area : int, optional
            Cover ``[1, max_area]`` (default: this group's largest area), so that histograms of
            several groups can share edges.

        Returns
        -------
        counts : numpy.ndarray
            ``(B,)`` int64 instances per bin.
        edges : numpy.ndarray
            ``(B + 1,)`` float64 bin edges (pixels), see :func:`log_bin_edges`.
        """
        top = max_area if max_area is not None else (self.max or 1)
        edges = log_bin_edges(max(top, self.max or 1))
        counts = np.zeros(len(edges) - 1, np.int64)
        if self.areas:
            vals, cnt = self._sorted()
            np.add.at(counts, _bin_index(vals), cnt)
        return counts, edges

    def to_dict(self) -> dict[str, Any]:
        counts, edges = self.histogram()
        return {
            "n": self.n,
            "min": self.min,
            "median": self.median,
            "p95": self.p95,
            "max": self.max,
            "histogram": {"edges": edges.tolist(), "counts": counts.tolist()},
        }


@dataclass
class GroupStats:
    """Statistics of one group (e.g. one source and one class).

    Attributes
    ----------
    key : dict
        Group key: ``{"source": str, "split": str, "class": int}`` restricted to the grouping keys.
    name : str or None
        Class name when the key has a class.
    images : int
        Samples in the group; with a class key, samples where that class has a pixel or instance.
    pixels : int
        Pixels (of the samples' true size, padding excluded).
    instances : int
        Instances (from the count tables).
    ignore_pixels : int
        Pixels whose class is a special value other than background (ignore, void, ambiguous,
        unlabeled...).
    sizes : SizeStats
        Instance areas, from the instance maps.
    """

    key: dict[str, Any]
    name: str | None = None
    images: int = 0
    pixels: int = 0
    instances: int = 0
    ignore_pixels: int = 0
    sizes: SizeStats = field(default_factory=SizeStats)

    @property
    def ignore_fraction(self) -> float:
        """``ignore_pixels / pixels`` (0 for an empty group)."""
        return self.ignore_pixels / self.pixels if self.pixels else 0.0

    def to_dict(self) -> dict[str, Any]:
        d = dict(self.key)
        if self.name is not None:
            d["name"] = self.name
        d.update(
            images=self.images,
            pixels=self.pixels,
            instances=self.instances,
            ignore_pixels=self.ignore_pixels,
            ignore_fraction=self.ignore_fraction,
            sizes=self.sizes.to_dict(),
        )
        return d


@dataclass
class StoreStats:
    """What :func:`store_stats` returns.

    Attributes
    ----------
    store : str
        Store URL.
    ontology : str
        Ontology name.
    by : tuple of str
        Grouping keys of :attr:`groups`.
    groups : list of GroupStats
        One row per group of ``by`` that has samples (with a class key: per class with pixels or
        instances), in source order, then split, then class id.
    sources : list of GroupStats
        One row per source (all classes): images, pixels, instances, ignore fraction, sizes.
    total : GroupStats
        The whole store.
    """

    store: str
    ontology: str
    by: tuple[str, ...]
    groups: list[GroupStats]
    sources: list[GroupStats]
    total: GroupStats

    def to_dict(self) -> dict[str, Any]:
        return {
            "store": self.store,
            "ontology": self.ontology,
            "by": list(self.by),
            "bins_per_octave": BINS_PER_OCTAVE,
            "groups": [g.to_dict() for g in self.groups],
            "sources": [g.to_dict() for g in self.sources],
            "total": self.total.to_dict(),
        }


def special_ids(classes: Sequence[dict[str, Any]]) -> set[int]:
    """Output ids of special values other than background (ignore, void, ambiguous, unlabeled).

    Parameters
    ----------
    classes : sequence of dict
        The store ontology's classes (``Store.ontology.classes``); ontology nodes carry no role
        (or role ``"class"``), special values carry theirs.
    """
    return {int(c["id"]) for c in classes if c.get("role") not in (None, "class", "background")}


def _open(store: Store | str) -> Store:
    if isinstance(store, str) or hasattr(store, "__fspath__"):
        from harmonize.store import open_store

        return open_store(str(store))
    return store


def store_stats(
    store: Store | str,
    by: Sequence[str] = ("source", "class"),
    *,
    sizes: bool = True,
    progress: Callable[[int, int], None] | None = None,
) -> StoreStats:
    """Per-group statistics of a store.

    Parameters
    ----------
    store : Store or str
        An open store or its path/URL.
    by : sequence of str
        Grouping keys, a subset of ``("source", "split", "class")``.
    sizes : bool
        Read the instance maps to get instance-size distributions (one sample in memory at a time).
        Without it, only the count tables are read.
    progress : callable, optional
        ``progress(done, total)`` after each sample's instance map.

    Returns
    -------
    StoreStats
    """
    by = tuple(by)
    bad = [k for k in by if k not in GROUP_KEYS]
    if bad or len(set(by)) != len(by):
        raise ValueError(f"group keys must be distinct names among {GROUP_KEYS}, got {by}")
    st = _open(store)
    onto = st.ontology
    class_ids = st.class_ids
    special = special_ids(onto.classes)
    special_cols = np.array([int(c) in special for c in class_ids], dtype=bool)
    col_of = {int(c): j for j, c in enumerate(class_ids.tolist())}

    groups: dict[tuple, GroupStats] = {}
    per_source: dict[str, GroupStats] = {}
    total = GroupStats(key={})

    def group(source: str, split: str | None, cid: int | None) -> GroupStats:
        vals = {"source": source, "split": split, "class": cid}
        key = tuple(vals[k] for k in by)
        g = groups.get(key)
        if g is None:
            name = onto.name_of(cid) if "class" in by and cid in onto.by_id else None
            g = groups[key] = GroupStats(key={k: vals[k] for k in by}, name=name)
        return g

    # -- counts from the count tables, ROWS samples at a time -----------------------------------
    tables = {}
    n_total = 0
    for lay in st.layouts:
        g = st._group["sources"][lay.name]
        valid = np.asarray(g["valid"][:], dtype=bool)
        split = np.array([str(x) for x in g["split"][:]], dtype=object)
        tables[lay.name] = (g, valid, split)
        n_total += int(valid.sum()) if "instance" in lay.layers else 0
        src = per_source[lay.name] = GroupStats(key={"source": lay.name})
        for start in range(0, len(valid), ROWS):
            stop = min(len(valid), start + ROWS)
            v = valid[start:stop]
            if not v.any():
                continue
            pix = np.asarray(g["pixel_counts"][start:stop], dtype=np.int64)[v]
            ins = np.asarray(g["instance_counts"][start:stop], dtype=np.int64)[v]
            spl = split[start:stop][v]
            for agg in (src, total):
                agg.images += len(pix)
                agg.pixels += int(pix.sum())
                agg.ignore_pixels += int(pix[:, special_cols].sum())
                agg.instances += int(ins.sum())
            for sp in sorted(set(spl.tolist())) if "split" in by else [None]:
                rows = spl == sp if sp is not None else np.ones(len(spl), bool)
                p, n = pix[rows], ins[rows]
                if "class" in by:
                    present = (p > 0) | (n > 0)
                    for j in np.flatnonzero(present.any(axis=0)).tolist():
                        gr = group(lay.name, sp, int(class_ids[j]))
                        gr.images += int(present[:, j].sum())
                        gr.pixels += int(p[:, j].sum())
                        gr.instances += int(n[:, j].sum())
                        gr.ignore_pixels += int(p[:, j].sum()) if special_cols[j] else 0
                else:
                    gr = group(lay.name, sp, None)
                    gr.images += len(p)
                    gr.pixels += int(p.sum())
                    gr.instances += int(n.sum())
                    gr.ignore_pixels += int(p[:, special_cols].sum())

    # -- instance sizes from the instance maps, one sample at a time ----------------------------
    if sizes:
        done = 0
        for lay in st.layouts:
            if "instance" not in lay.layers:
                continue
            g, valid, split = tables[lay.name]
            has_classes = "instance_offset" in g
            heights, widths = g["height"][:], g["width"][:]
            for i in np.flatnonzero(valid).tolist():
                h, w = int(heights[i]), int(widths[i])
                inst = np.asarray(g["instance"][i, :h, :w])
                area = np.bincount(inst.ravel(), minlength=1)[1:]
                if has_classes:
                    a, b = (int(x) for x in g["instance_offset"][i : i + 2])
                    cls = np.asarray(g["instance_class"][a:b], dtype=np.int64)
                else:  # an incomplete store: class tables are written at the end of the run
                    cls = np.full(len(area), -1, np.int64)
                if len(cls) < len(area):  # ids beyond the class table: unknown class
                    cls = np.concatenate([cls, np.full(len(area) - len(cls), -1, np.int64)])
                present = area > 0
                area, cls = area[present], cls[: len(present)][present]
                per_source[lay.name].sizes.add(area)
                total.sizes.add(area)
                if "class" in by:
                    for cid in np.unique(cls).tolist():
                        if cid < 0 or cid not in col_of:
                            continue
                        group(lay.name, split[i], int(cid)).sizes.add(area[cls == cid])
                else:
                    group(lay.name, split[i], None).sizes.add(area)
                done += 1
                if progress is not None:
                    progress(done, n_total)

    order = {name: k for k, name in enumerate(st.sources)}

    def sort_key(item: tuple[tuple, GroupStats]) -> tuple:
        kd = item[1].key
        return (
            order.get(kd.get("source") or "", -1),
            str(kd.get("split", "")),
            kd.get("class") if kd.get("class") is not None else -1,
        )

    return StoreStats(
        store=st.url,
        ontology=onto.name,
        by=by,
        groups=[g for _, g in sorted(groups.items(), key=sort_key)],
        sources=[per_source[n] for n in st.sources],
        total=total,
    )


# -- tables ---------------------------------------------------------------------------------------
def _num(v: float | int | None) -> str:
    if v is None:
        return "-"
    if isinstance(v, float) and not v.is_integer():
        return f"{v:.1f}"
    return str(int(v))


def stats_tables(stats: StoreStats) -> list[tuple[str, list[str], list[list[str]]]]:
    """The statistics as plain tables: ``[(title, header, rows)]`` of strings.

    The first table has one row per source plus an ``all`` row; the second one row per group
    of ``stats.by``. Areas are in pixels; ``ignore %`` is the ignore fraction in percent.
    """
    size_head = ["area min", "median", "p95", "max"]

    def tail(g: GroupStats) -> list[str]:
        s = g.sizes
        return [
            str(g.images),
            str(g.pixels),
            str(g.instances),
            f"{100 * g.ignore_fraction:.2f}",
            *(_num(v) for v in (s.min, s.median, s.p95, s.max)),
        ]

    head = ["images", "pixels", "instances", "ignore %", *size_head]
    src_rows = [[g.key["source"], *tail(g)] for g in stats.sources]
    src_rows.append(["all", *tail(stats.total)])
    keys = list(stats.by)
    group_head = [*keys, *(["name"] if "class" in keys else []), *head]
    group_rows = []
    for g in stats.groups:
        row = [str(g.key[k]) for k in keys]
        if "class" in keys:
            row.append(g.name or "")
        group_rows.append([*row, *tail(g)])
    return [
        ("per source", ["source", *head], src_rows),
        (f"per {' x '.join(keys)}", group_head, group_rows),
    ]


def to_markdown(stats: StoreStats) -> str:
    """GitHub-flavoured Markdown tables of :func:`stats_tables`."""
    out = [f"# Statistics of `{stats.store}` (ontology `{stats.ontology}`)", ""]
    for title, head, rows in stats_tables(stats):
        out += [f"## {title}", "", "| " + " | ".join(head) + " |"]
        out.append("|" + "|".join(":--" if i == 0 else "--:" for i in range(len(head))) + "|")
        out += ["| " + " | ".join(c.replace("|", "\\|") for c in r) + " |" for r in rows]
        out.append("")
    return "\n".join(out)
