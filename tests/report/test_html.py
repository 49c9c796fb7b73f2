"""The self-contained HTML report: structure, panel pixels, and a render in headless Chromium.

References are computed from the store's raw zarr arrays, its root attributes and the mapping YAML
files (read with plain ``yaml.safe_load``), never from the code under test.
"""

from __future__ import annotations

import base64
import io
import re
import shutil
import subprocess
from html.parser import HTMLParser
from pathlib import Path

import numpy as np
import pytest
import yaml
import zarr
from PIL import Image
from typer.testing import CliRunner

from harmonize import datasets
from harmonize.report.html import build_report, write_report

ROOT = Path(__file__).resolve().parents[2]
PER_SOURCE = 2


@pytest.fixture(scope="module")
def page(store_path: str, tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write_report(
        store_path, tmp_path_factory.mktemp("page") / "report.html", per_source=PER_SOURCE
    )


class Tags(HTMLParser):
    """Every start tag with its attributes, and the text inside <title> elements."""

    def __init__(self) -> None:
        super().__init__()
        self.tags: list[tuple[str, dict[str, str]]] = []
        self.titles: list[str] = []
        self._in_title = False

    def handle_starttag(self, tag, attrs):
        self.tags.append((tag, dict(attrs)))
        self._in_title = tag == "title"

    def handle_endtag(self, tag):
        self._in_title = False

    def handle_data(self, data):
        if self._in_title:
            self.titles.append(data)


def _parse(text: str) -> Tags:
    p = Tags()
    p.feed(text)
    return p


def _classes(attrs: dict[str, str]) -> set[str]:
    return set((attrs.get("class") or "").split())


def _store_facts(url: str) -> dict:
    g = zarr.open_group(url, mode="r")
    meta = g.attrs["harmonize"]
    out = {"meta": meta, "valid": {}, "group": g}
    for s in meta["sources"]:
        out["valid"][s["name"]] = np.flatnonzero(g["sources"][s["name"]]["valid"][:])
    return out


def _expected_previews(facts: dict) -> dict[str, int]:
    return {src: min(PER_SOURCE, len(v)) for src, v in facts["valid"].items()}


def _decode(uri: str) -> np.ndarray:
    head = "data:image/png;base64,"
    assert uri.startswith(head)
    return np.asarray(Image.open(io.BytesIO(base64.b64decode(uri[len(head) :]))).convert("RGB"))


def test_page_is_self_contained(page: Path) -> None:
    text = page.read_text(encoding="utf-8")
    p = _parse(text)
    assert text.startswith("<!DOCTYPE html>")
    for tag, attrs in p.tags:
        assert tag not in ("link", "iframe", "object", "embed"), tag
        if "src" in attrs:
            assert attrs["src"].startswith("data:image/png;base64,"), attrs["src"][:60]
        if "href" in attrs:
            assert attrs["href"].startswith("#"), attrs["href"]
        if tag == "script":
            assert "src" not in attrs
    assert "url(" not in text and "@import" not in text


def test_preview_count_and_panels(page: Path, store_path: str) -> None:
    facts = _store_facts(store_path)
    want = _expected_previews(facts)
    p = _parse(page.read_text(encoding="utf-8"))
    figs = [a for t, a in p.tags if t == "figure" and "preview" in _classes(a)]
    got: dict[str, int] = {}
    for a in figs:
        got[a["data-source"]] = got.get(a["data-source"], 0) + 1
    assert got == want
    body = next(a for t, a in p.tags if t == "body")
    assert int(body["data-expected-previews"]) == sum(want.values())
    # three panels per preview (every source has an instance layer)
    imgs = [a for t, a in p.tags if t == "img" and "panel" in _classes(a)]
    assert len(imgs) == 3 * sum(want.values())
    # sample ids are those of the sources' first and last valid samples
    g = facts["group"]
    for src, idx in facts["valid"].items():
        ids = {str(g["sources"][src]["sample_id"][i]) for i in (idx[0], idx[-1])}
        shown = {a["data-sample-id"] for a in figs if a["data-source"] == src}
        assert shown == ids, src


def test_overlay_and_outline_pixels(page: Path, store_path: str) -> None:
    facts = _store_facts(store_path)
    g = facts["group"]
    classes = facts["meta"]["ontology"]["classes"]
    colour = {c["id"]: np.array(c["color"], np.float64) for c in classes}
    background = next(c["id"] for c in classes if c.get("role") == "background")
    p = _parse(page.read_text(encoding="utf-8"))
    order = [
        (t, a) for t, a in p.tags if (t == "figure" and "preview" in _classes(a)) or t == "img"
    ]
    checked = 0
    for k, (t, a) in enumerate(order):
        if t != "figure":
            continue
        src, sid = a["data-source"], a["data-sample-id"]
        arr = g["sources"][src]
        i = [str(x) for x in arr["sample_id"][:]].index(sid)
        h, w = int(arr["height"][i]), int(arr["width"][i])
        image = np.asarray(arr["image"][i])[:h, :w].astype(np.float64)
        sem = np.asarray(arr["semantic"][i])[:h, :w]
        inst = np.asarray(arr["instance"][i])[:h, :w].astype(np.int64)
        off = arr["instance_offset"][i : i + 2]
        icls = arr["instance_class"][int(off[0]) : int(off[1])]
        panels = {b["class"].split()[1]: _decode(b["src"]) for _, b in order[k + 1 : k + 4]}
        np.testing.assert_array_equal(panels["panel-image"], image.astype(np.uint8))
        # overlay: 50/50 blend of image and class colour, background left as is
        want = image.copy()
        for cid in np.unique(sem):
            if cid == background:
                continue
            m = sem == cid
            want[m] = 0.5 * image[m] + 0.5 * colour[int(cid)]
        diff = np.abs(panels["panel-semantic"].astype(np.int64) - np.rint(want).astype(np.int64))
        assert diff.max() <= 1, f"{src}/{sid}: overlay differs by {diff.max()}"
        # outlines: changed pixels lie inside instances, take the instance's class colour, and
        # every instance is outlined
        changed = np.any(panels["panel-instance"] != image.astype(np.uint8), axis=-1)
        assert not (changed & (inst == 0)).any()
        for kk in np.unique(inst[changed]):
            m = changed & (inst == kk)
            want_col = colour[int(icls[kk - 1])].astype(np.uint8)
            assert (panels["panel-instance"][m] == want_col).all(), f"{src}/{sid} inst {kk}"
        missing = set(np.unique(inst[inst > 0]).tolist()) - set(np.unique(inst[changed]).tolist())
        assert not missing, f"{src}/{sid}: instances without outline {missing}"
        checked += 1
    assert checked == sum(_expected_previews(facts).values())


_NUCLEI = yaml.safe_load((ROOT / "taxonomies" / "ontologies" / "nuclei.yaml").read_text())["nodes"]


def _subtree(name: str) -> set[str]:
    out, frontier = {name}, [name]
    while frontier:
        cur = frontier.pop()
        for n in _NUCLEI:
            if n.get("parent") == cur and n["name"] not in out:
                out.add(n["name"])
                frontier.append(n["name"])
    return out


def _leaves_under(name: str) -> set[str]:
    parents = {n.get("parent") for n in _NUCLEI}
    return {x for x in _subtree(name) if x not in parents}


def test_tree_histograms_and_coverage(page: Path, store_path: str) -> None:
    facts = _store_facts(store_path)
    meta, g = facts["meta"], facts["group"]
    text = page.read_text(encoding="utf-8")
    p = _parse(text)
    classes = meta["ontology"]["classes"]
    nodes = [c for c in classes if c.get("role") is None]
    # tree: every node once, nested in its parent's <li>
    lis = [a["data-node"] for t, a in p.tags if t == "li" and "data-node" in a]
    assert sorted(lis) == sorted(c["name"] for c in nodes)
    for c in nodes:
        assert "#{:02x}{:02x}{:02x}".format(*c["color"]) in text
        if c.get("parent"):
            start = text.index(f'data-node="{c["parent"]}"')
            assert text.index(f'data-node="{c["name"]}"') > start
    # histograms: a bar per (source, class) labelled with the pixel count from the label maps
    names = {c["id"]: c["name"] for c in classes}
    for src, idx in facts["valid"].items():
        a = g["sources"][src]
        tot: dict[int, int] = {}
        for i in idx:
            h, w = int(a["height"][i]), int(a["width"][i])
            v, n = np.unique(np.asarray(a["semantic"][i])[:h, :w], return_counts=True)
            for vv, nn in zip(v.tolist(), n.tolist(), strict=True):
                tot[vv] = tot.get(vv, 0) + nn
        start = text.index(f'class="source-charts" data-source="{src}"')
        end = text.index("</div></div>", start)
        for cid, n in tot.items():
            assert f"<title>{names[cid]}: {n}</title>" in text[start:end], (src, cid)
    # coverage: a cell per (source, node); a node with one rule onto it has that rule's kind
    n_cells = sum(1 for t, a in p.tags if t == "td" and "cov" in _classes(a))
    assert n_cells == len(meta["sources"]) * len(nodes)
    rows = re.findall(r'<tr data-source="([^"]+)">(.*?)</tr>', text)
    assert [r[0] for r in rows] == [s["name"] for s in meta["sources"]]
    node_names = [c["name"] for c in nodes]
    for src, row in rows:
        kinds = re.findall(r'data-kind="([a-z]+)"', row)
        assert len(kinds) == len(node_names)
        dataset = next(s["dataset"] for s in meta["sources"] if s["name"] == src)
        tax = datasets.get(dataset).taxonomy
        rules = yaml.safe_load(
            (ROOT / "taxonomies" / "mappings" / f"{tax}__nuclei.yaml").read_text()
        )["rules"]
        onto_rules: dict[str, list[str]] = {}
        for r in rules:
            onto_rules.setdefault(r["to"], []).append(r.get("kind", "exact"))
        for node, kind in zip(node_names, kinds, strict=True):
            if node in onto_rules and len(set(onto_rules[node])) == 1:
                assert kind == onto_rules[node][0], (src, node)
            if not onto_rules.get(node) and kind == "approx":
                pytest.fail(f"{src}/{node}: approx without a rule onto it")
            if not onto_rules.get(node) and kind == "exact":
                # exact through finer classes: rules below the node cover every leaf under it
                leaves = _leaves_under(node)
                covered = set().union(
                    *(_leaves_under(t) for t in onto_rules if t in _subtree(node))
                )
                assert leaves <= covered, (
                    f"{src}/{node}: exact, but leaves {leaves - covered} unlabelled"
                )


def test_panels_are_downscaled_to_max_side(store_path: str) -> None:
    facts = _store_facts(store_path)
    g = facts["group"]
    classes = facts["meta"]["ontology"]["classes"]
    colour = {c["id"]: np.array(c["color"], np.float64) for c in classes}
    text = build_report(store_path, per_source=1, max_side=32)
    p = _parse(text)
    seq = [(t, a) for t, a in p.tags if t == "img" or (t == "figure" and "preview" in _classes(a))]
    n = 0
    for k, (t, a) in enumerate(seq):
        if t != "figure":
            continue
        arr = g["sources"][a["data-source"]]
        i = [str(x) for x in arr["sample_id"][:]].index(a["data-sample-id"])
        h, w = int(arr["height"][i]), int(arr["width"][i])
        step = -(-max(h, w) // 32)
        sem = np.asarray(arr["semantic"][i])[:h:step, :w:step]
        panels = {b["class"].split()[1]: _decode(b["src"]) for _, b in seq[k + 1 : k + 4]}
        for img in panels.values():
            assert img.shape == (*sem.shape, 3) and max(img.shape[:2]) <= 32
        base = panels["panel-image"].astype(np.float64)
        fg = sem != 0  # nuclei ontology: 0 is background, left unblended
        want = base.copy()
        want[fg] = 0.5 * base[fg] + 0.5 * np.stack([colour[int(c)] for c in sem[fg]])
        assert np.abs(panels["panel-semantic"] - np.rint(want)).max() <= 1
        n += 1
    assert n == len(facts["valid"])


def test_cli_report(store_path: str, tmp_path: Path) -> None:
    from harmonize.cli import app

    out = tmp_path / "sub" / "r.html"
    res = CliRunner().invoke(app, ["report", store_path, "--html", str(out), "--per-source", "1"])
    assert res.exit_code == 0, res.output
    figs = re.findall(r'<figure class="preview"', out.read_text(encoding="utf-8"))
    assert len(figs) == len(_store_facts(store_path)["valid"])
    assert not list(out.parent.glob("*.tmp"))
    assert build_report(store_path, per_source=0).count('<figure class="preview"') == 0


# -- headless Chromium ---------------------------------------------------------------------------
def _chromium() -> str | None:
    for name in ("chromium", "chromium-browser"):
        path = shutil.which(name)
        if path:
            return path
    return None


CHROMIUM_FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-dev-shm-usage",
]


def _browser(args: list[str], profile: Path) -> subprocess.CompletedProcess:
    exe = _chromium()
    assert exe is not None
    return subprocess.run(
        [exe, *CHROMIUM_FLAGS, f"--user-data-dir={profile}", *args],
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        timeout=180,
        check=False,
    )


@pytest.mark.skipif(
    _chromium() is None,
    reason="chromium not found on PATH: .ci/run installs Debian's `chromium` with apt-get; the "
    "install failed or was not run, so the HTML report cannot be rendered",
)
def test_page_renders_in_headless_chromium(page: Path, store_path: str, tmp_path: Path) -> None:
    facts = _store_facts(store_path)
    n_want = sum(_expected_previews(facts).values())
    url = page.resolve().as_uri()

    dom = _browser(["--dump-dom", url], tmp_path / "profile-dom")
    assert dom.returncode == 0, dom.stderr[-2000:]
    m = re.search(r"<title>[^<]*\[(\d+) previews\]</title>", dom.stdout)
    assert m, "the inline script did not run (no preview count in the title)"
    assert int(m.group(1)) == n_want
    body = re.search(r"<body[^>]*>", dom.stdout).group(0)
    assert f'data-previews="{n_want}"' in body
    loaded = re.search(r'data-images-loaded="(\d+)"', body)
    assert loaded and int(loaded.group(1)) == 3 * n_want, body

    shot = tmp_path / "shot.png"
    res = _browser(
        [f"--screenshot={shot}", "--window-size=1400,3000", "--hide-scrollbars", url],
        tmp_path / "profile-shot",
    )
    assert res.returncode == 0 and shot.is_file(), res.stderr[-2000:]
    px = np.asarray(Image.open(shot).convert("RGB"))
    assert px.shape[:2] == (3000, 1400)
    assert px.reshape(-1, 3).std(axis=0).mean() > 20, "screenshot is (nearly) blank"
    packed = np.unique(
        (px[..., 0].astype(np.uint32) << 16) | (px[..., 1].astype(np.uint32) << 8) | px[..., 2]
    )
    assert len(packed) > 200, f"only {len(packed)} distinct colours"
    onto = {c["name"]: c["color"] for c in facts["meta"]["ontology"]["classes"]}
    missing = [
        n for n, (r, g, b) in onto.items() if (r << 16 | g << 8 | b) not in set(packed.tolist())
    ]
    assert not missing, f"ontology colours missing from the screenshot: {missing}"
    # the H&E-like preview images are on screen: pinkish pixels (R high, G lower, B high)
    pink = (px[..., 0] > 180) & (px[..., 2] > 150) & (px[..., 1] < px[..., 0] - 40)
    assert pink.sum() > 5000, "no preview image pixels in the screenshot"
