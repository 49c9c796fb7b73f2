"""`store_stats` and `harmonize stats` against plain numpy over the store's zarr arrays.

The store is built by the pipeline on generated look-alikes (CoNSeP, PanNuke with its edge cases so
that void pixels reach the ignore id, Kumar). The reference reads the arrays with zarr directly and
recomputes everything from the label maps (not from the count tables the code under test reads).
"""

from __future__ import annotations

import json
import math

import numpy as np
import pytest
import zarr
from typer.testing import CliRunner

from harmonize.report.stats import SizeStats, store_stats, to_markdown


class Reference:
    """Everything recomputed from the raw arrays of the store."""

    def __init__(self, url: str) -> None:
        g = zarr.open_group(url, mode="r")
        meta = g.attrs["harmonize"]
        classes = meta["ontology"]["classes"]
        self.special = {
            c["id"] for c in classes if c.get("role") in ("ignore", "ambiguous", "unlabeled")
        }
        # the ontology's roles, independently: every special value except background
        assert self.special == {
            c["id"] for c in classes if c.get("role") not in (None, "class", "background")
        }
        self.names = {c["id"]: c["name"] for c in classes}
        self.sources = [s["name"] for s in meta["sources"]]
        # per (source, split, class): images, pixels, instances, areas
        self.rows: list[dict] = []
        for src in self.sources:
            a = g["sources"][src]
            valid = a["valid"][:]
            off = a["instance_offset"][:]
            icls = a["instance_class"][:]
            for i in np.flatnonzero(valid):
                h, w = int(a["height"][i]), int(a["width"][i])
                sem = np.asarray(a["semantic"][i])[:h, :w].astype(np.int64)
                inst = np.asarray(a["instance"][i])[:h, :w].astype(np.int64)
                cls_of = icls[off[i] : off[i + 1]].astype(np.int64)
                ids = [k for k in np.unique(inst) if k]
                self.rows.append(
                    {
                        "source": src,
                        "split": str(a["split"][i]),
                        "sem": np.unique(sem, return_counts=True),
                        "inst": [(int(cls_of[k - 1]), int((inst == k).sum())) for k in ids],
                    }
                )

    def group(self, **key) -> dict:
        rows = [r for r in self.rows if all(r[k] == v for k, v in key.items() if k != "class")]
        cid = key.get("class")
        images = pixels = ign = 0
        areas: list[int] = []
        for r in rows:
            vals, cnt = r["sem"]
            inst = [(c, a) for c, a in r["inst"] if cid is None or c == cid]
            if cid is None:
                px = int(cnt.sum())
                ign += int(cnt[np.isin(vals, list(self.special))].sum())
            else:
                px = int(cnt[vals == cid].sum())
                ign += px if cid in self.special else 0
            if px or inst:
                images += 1
            pixels += px
            areas += [a for _, a in inst]
        return {
            "images": images,
            "pixels": pixels,
            "instances": len(areas),
            "ignore_pixels": ign,
            "areas": np.array(areas, np.int64),
        }


@pytest.fixture(scope="module")
def ref(store_path: str) -> Reference:
    return Reference(store_path)


def _check(g, want: dict) -> None:
    assert g.images == want["images"], g.key
    assert g.pixels == want["pixels"], g.key
    assert g.instances == want["instances"], g.key
    assert g.ignore_pixels == want["ignore_pixels"], g.key
    areas = want["areas"]
    assert g.sizes.n == len(areas), g.key
    if not len(areas):
        assert g.sizes.median is None and g.sizes.min is None
        return
    assert g.sizes.min == areas.min() and g.sizes.max == areas.max()
    assert math.isclose(g.sizes.median, float(np.median(areas)))
    assert math.isclose(g.sizes.p95, float(np.percentile(areas, 95)))
    counts, edges = g.sizes.histogram()
    # independent log bins: two per octave, [2^(k/2), 2^((k+1)/2)); one spare bin past the end
    want_edges = 2.0 ** (np.arange(len(counts) + 2) / 2)
    np.testing.assert_allclose(edges, want_edges[: len(counts) + 1])
    hist = np.histogram(areas, bins=want_edges)[0]
    np.testing.assert_array_equal(counts, hist[: len(counts)])
    assert hist[len(counts) :].sum() == 0, "histogram does not cover the largest area"


def test_per_source_and_class_match_numpy(store_path: str, ref: Reference) -> None:
    st = store_stats(store_path)
    assert st.by == ("source", "class")
    seen = set()
    for g in st.groups:
        src, cid = g.key["source"], g.key["class"]
        assert g.name == ref.names[cid]
        _check(g, ref.group(source=src, **{"class": cid}))
        seen.add((src, cid))
    # every (source, class) with pixels or instances has a row, and no other
    want = set()
    for r in ref.rows:
        vals, cnt = r["sem"]
        want |= {(r["source"], int(v)) for v, c in zip(vals, cnt, strict=True) if c}
        want |= {(r["source"], c) for c, _ in r["inst"]}
    assert seen == want
    # order: sources in store order, then class id
    order = [(ref.sources.index(g.key["source"]), g.key["class"]) for g in st.groups]
    assert order == sorted(order)


def test_per_source_and_total_match_numpy(store_path: str, ref: Reference) -> None:
    st = store_stats(store_path)
    assert [g.key["source"] for g in st.sources] == ref.sources
    for g in st.sources:
        _check(g, ref.group(source=g.key["source"]))
    _check(st.total, ref.group())


def test_ignore_fraction_counts_void_pixels(store_path: str, ref: Reference) -> None:
    st = store_stats(store_path)
    pannuke = next(g for g in st.sources if g.key["source"] == "pannuke")
    want = ref.group(source="pannuke")
    assert want["ignore_pixels"] > 0, "the PanNuke edge cases should write void pixels"
    assert math.isclose(pannuke.ignore_fraction, want["ignore_pixels"] / want["pixels"])
    consep = next(g for g in st.sources if g.key["source"] == "consep")
    assert consep.ignore_fraction == ref.group(source="consep")["ignore_pixels"] / max(
        1, ref.group(source="consep")["pixels"]
    )


def test_grouping_by_split(store_path: str, ref: Reference) -> None:
    st = store_stats(store_path, by=("source", "split"))
    keys = {(r["source"], r["split"]) for r in ref.rows}
    assert {(g.key["source"], g.key["split"]) for g in st.groups} == keys
    for g in st.groups:
        _check(g, ref.group(source=g.key["source"], split=g.key["split"]))
    st = store_stats(store_path, by=("split", "class"), sizes=False)
    for g in st.groups:
        want = ref.group(split=g.key["split"], **{"class": g.key["class"]})
        assert (g.pixels, g.instances, g.images) == (
            want["pixels"],
            want["instances"],
            want["images"],
        )
        assert g.sizes.n == 0  # sizes=False reads no instance map


def test_blockwise_count_reads_give_the_same_result(
    store_path: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    from harmonize.report import stats as mod

    whole = store_stats(store_path, by=("source", "split", "class")).to_dict()
    monkeypatch.setattr(mod, "ROWS", 2)  # count tables read two rows at a time
    assert store_stats(store_path, by=("source", "split", "class")).to_dict() == whole


def test_bad_group_key_raises(store_path: str) -> None:
    with pytest.raises(ValueError, match="group keys"):
        store_stats(store_path, by=("source", "dataset"))


@pytest.mark.parametrize("seed", range(5))
def test_size_quantiles_equal_numpy(seed: int) -> None:
    rng = np.random.default_rng(seed)
    s = SizeStats()
    chunks = [rng.integers(1, 400, rng.integers(0, 40)) for _ in range(6)]
    for c in chunks:  # added sample by sample, as store_stats does
        s.add(c)
    allv = np.concatenate(chunks)
    if not len(allv):
        assert s.quantile(0.5) is None
        return
    for q in (0.0, 0.1, 0.5, 0.95, 1.0):
        assert math.isclose(s.quantile(q), float(np.quantile(allv, q))), q
    # memory: one entry per distinct area, whatever the number of instances
    assert len(s.areas) == len(np.unique(allv))


def test_histogram_edges_are_exact_at_powers_of_two() -> None:
    s = SizeStats()
    s.add(np.array([1, 2, 4, 8, 1024]))
    counts, edges = s.histogram()
    # 2^k sits at the start of bin 2k
    for v in (1, 2, 4, 8, 1024):
        k = 2 * int(np.log2(v))
        assert edges[k] == v and counts[k] >= 1


def test_cli_stats_formats(store_path: str, ref: Reference) -> None:
    from harmonize.cli import app

    runner = CliRunner()
    res = runner.invoke(app, ["stats", store_path, "--format", "json"])
    assert res.exit_code == 0, res.output
    d = json.loads(res.output)
    assert d["ontology"] == "nuclei" and d["by"] == ["source", "class"]
    for row in d["sources"]:
        want = ref.group(source=row["source"])
        assert row["pixels"] == want["pixels"] and row["instances"] == want["instances"]
        assert row["sizes"]["n"] == want["instances"]

    res = runner.invoke(app, ["stats", store_path, "--format", "markdown"])
    assert res.exit_code == 0, res.output
    assert res.output.strip() == to_markdown(store_stats(store_path)).strip()
    lines = [ln for ln in res.output.splitlines() if ln.startswith("| ")]
    for src in ref.sources:
        want = ref.group(source=src)
        assert any(
            ln.startswith(f"| {src} | {want['images']} | {want['pixels']} |") for ln in lines
        ), src

    res = runner.invoke(app, ["stats", store_path], env={"COLUMNS": "200"})
    assert res.exit_code == 0, res.output
    assert "per source" in res.output and "neoplastic_epithelial" in res.output

    res = runner.invoke(app, ["stats", store_path, "--by", "source,nope"])
    assert res.exit_code != 0
