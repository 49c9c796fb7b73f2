"""``harmonize report STORE --html OUT``: one self-contained HTML page about a store.

The page holds, with no external resource (inline CSS, images as base64 PNG data URIs, plots as
hand-written inline SVG):

- the ontology tree with colour swatches (and the special values);
- the coverage matrix: sources x ontology nodes, each cell exact / approx / coarse / partial /
  absent (:mod:`harmonize.report.coverage`, from the mapping reports stored with the run and the
  store's own ontology), with the store's pixel and instance counts;
- class histograms: pixels (log scale) and instances per class per source, bars in ontology colours;
  instance-size histograms (log-binned areas) per source; the statistics tables;
- a grid of sample previews per source: image, semantic overlay, instance outlines. Every preview is
  ``<figure class="preview" data-source=... data-sample-id=...>``; a tiny inline script writes
  the preview count into ``document.title`` and ``body[data-previews]``, and after the load event
  the number of decoded preview images into ``body[data-images-loaded]``, so a headless browser
  can check the page rendered.
"""

from __future__ import annotations

import html as _html
import math
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from harmonize.report.previews import Preview, make_preview, png_data_uri, sample_indices
from harmonize.report.stats import StoreStats, special_ids, store_stats

if TYPE_CHECKING:
    from harmonize.store.access import OntologyTable, Store

__all__ = [
    "KIND_COLOURS",
    "build_report",
    "store_coverage",
    "store_ontology_model",
    "write_report",
]

#: Cell colours of the coverage states (:data:`harmonize.report.coverage.STATES`).
KIND_COLOURS = {
    "exact": "#2e7d32",
    "approx": "#f9a825",
    "coarse": "#ef6c00",
    "partial": "#90caf9",
    "absent": "#eeeeee",
}


def _e(x: Any) -> str:
    return _html.escape(str(x), quote=True)


def _hex(rgb: Sequence[int]) -> str:
    r, g, b = (int(v) for v in rgb)
    return f"#{r:02x}{g:02x}{b:02x}"


def _fmt(n: float | int | None) -> str:
    """Compact number: 1234 -> 1.2k, 2.5e6 -> 2.5M."""
    if n is None:
        return "-"
    n = float(n)
    for div, suffix in ((1e9, "G"), (1e6, "M"), (1e3, "k")):
        if abs(n) >= div:
            return f"{n / div:.3g}{suffix}"
    return f"{n:.4g}" if n != int(n) else str(int(n))


# -- coverage -------------------------------------------------------------------------------------
def _children(onto: OntologyTable) -> dict[str | None, list[dict[str, Any]]]:
    kids: dict[str | None, list[dict[str, Any]]] = {}
    for c in onto.classes:
        if c.get("role") not in (None, "class"):
            continue
        kids.setdefault(c.get("parent"), []).append(c)
    for v in kids.values():
        v.sort(key=lambda c: int(c["id"]))
    return kids


def store_ontology_model(store: Store):
    """The store's ontology (root attributes) as a :class:`harmonize.taxonomy.Ontology` model, so
    coverage is computed against exactly the classes the store was written in, without YAML."""
    from harmonize.taxonomy.models import Ontology, OntologyNode, SpecialValue

    o = store.meta["ontology"]

    def fields(model, d: dict[str, Any]) -> dict[str, Any]:
        return {k: v for k, v in d.items() if k in model.model_fields and v is not None}

    special = [
        fields(SpecialValue, c) for c in o["classes"] if c.get("role") not in (None, "class")
    ]
    nodes = [fields(OntologyNode, c) for c in o["classes"] if c.get("role") in (None, "class")]
    return Ontology(
        kind="ontology",
        name=o["name"],
        title=o.get("title") or o["name"],
        version=o.get("version") or 1,
        special=special,
        nodes=nodes,
    )


def store_coverage(store: Store):
    """Sources x ontology nodes of a store, with its pixel and instance counts.

    Uses :func:`harmonize.report.coverage.compute_coverage` on the mapping reports the run stored
    (:func:`~harmonize.report.coverage.rows_from_store`) and the store's ontology.

    Returns
    -------
    harmonize.report.coverage.Coverage
        ``cells[(source, node)].state`` is one of ``STATES`` (exact, approx, coarse, partial,
        absent).
    """
    from harmonize.report.coverage import compute_coverage, rows_from_store, store_counts

    onto = store_ontology_model(store)
    return compute_coverage(onto, rows_from_store(onto, store), store_counts(store))


# -- SVG plots ------------------------------------------------------------------------------------
def _svg_bars(
    rows: Sequence[tuple[str, float, str]],
    *,
    title: str,
    log: bool = False,
    width: int = 420,
    bar_h: int = 14,
    label_w: int = 170,
) -> str:
    """Horizontal bar chart: ``rows`` of (label, value, fill colour)."""
    if not rows:
        return f'<p class="empty">{_e(title)}: nothing to plot</p>'
    top = max(v for _, v, _ in rows) or 1.0

    def scale(v: float) -> float:
        if v <= 0:
            return 0.0
        if log:
            return math.log10(1 + v) / math.log10(1 + top)
        return v / top

    plot_w = width - label_w - 60
    h = 22 + len(rows) * (bar_h + 4)
    parts = [
        f'<svg class="chart" xmlns="http://www.w3.org/2000/svg" width="{width}" height="{h}" '
        f'viewBox="0 0 {width} {h}" role="img" aria-label="{_e(title)}">',
        f'<text x="0" y="13" class="chart-title">{_e(title)}{" (log scale)" if log else ""}</text>',
    ]
    for i, (label, v, fill) in enumerate(rows):
        y = 22 + i * (bar_h + 4)
        bw = max(1.0, scale(v) * plot_w) if v > 0 else 0.0
        parts.append(
            f'<text x="{label_w - 4}" y="{y + bar_h - 3}" text-anchor="end">{_e(label)}</text>'
            f'<rect x="{label_w}" y="{y}" width="{bw:.1f}" height="{bar_h}" fill="{fill}" '
            f'stroke="#333" stroke-width="0.5"><title>{_e(label)}: {int(v)}</title></rect>'
            f'<text x="{label_w + bw + 4:.1f}" y="{y + bar_h - 3}">{_fmt(v)}</text>'
        )
    parts.append("</svg>")
    return "".join(parts)


def _svg_columns(
    counts: Sequence[int], edges: Sequence[float], *, title: str, width: int = 420, h: int = 140
) -> str:
    """Column chart of a log-binned histogram (x: area in pixels)."""
    if not len(counts) or not sum(counts):
        return f'<p class="empty">{_e(title)}: no instances</p>'
    nz = [i for i, c in enumerate(counts) if c]
    lo, hi = nz[0], nz[-1] + 1
    counts, edges = list(counts[lo:hi]), list(edges[lo : hi + 1])
    top = max(counts)
    plot_h = h - 40
    col_w = (width - 40) / len(counts)
    parts = [
        f'<svg class="chart" xmlns="http://www.w3.org/2000/svg" width="{width}" height="{h}" '
        f'viewBox="0 0 {width} {h}" role="img" aria-label="{_e(title)}">',
        f'<text x="0" y="13" class="chart-title">{_e(title)}</text>',
    ]
    for i, c in enumerate(counts):
        ch = plot_h * c / top
        x = 20 + i * col_w
        parts.append(
            f'<rect x="{x:.1f}" y="{20 + plot_h - ch:.1f}" width="{max(1.0, col_w - 1):.1f}" '
            f'height="{ch:.1f}" fill="#5c6bc0"><title>[{edges[i]:.0f}, {edges[i + 1]:.0f}) px: '
            f"{c}</title></rect>"
        )
    for i in range(0, len(edges), max(1, len(edges) // 6)):
        x = 20 + i * col_w
        parts.append(
            f'<text x="{x:.1f}" y="{h - 6}" text-anchor="middle">{_fmt(round(edges[i]))}</text>'
        )
    parts.append("</svg>")
    return "".join(parts)


# -- page sections --------------------------------------------------------------------------------
CSS = """
body{font:13px/1.4 system-ui,-apple-system,'Segoe UI',sans-serif;margin:16px 24px;color:#222;
 background:#fff}
h1{font-size:22px;margin:0 0 4px}h2{font-size:17px;margin:24px 0 8px;border-bottom:2px solid #ddd}
h3{font-size:14px;margin:14px 0 6px}
.meta{color:#555}
.swatch{display:inline-block;width:14px;height:14px;border:1px solid #333;vertical-align:middle;
 margin-right:6px}
ul.tree{list-style:none;padding-left:18px;margin:2px 0}ul.tree li{margin:1px 0}
.id{color:#777;font-family:monospace;margin-right:4px}
table{border-collapse:collapse;margin:6px 0}
td,th{border:1px solid #ccc;padding:2px 6px;text-align:right}th{background:#f3f3f3}
td.l,th.l{text-align:left}
table.coverage td{font-size:11px;text-align:center;min-width:48px}
table.coverage th.node{writing-mode:vertical-rl;transform:rotate(180deg);font-weight:normal;
 padding:6px 2px}
.legend span{display:inline-block;padding:1px 8px;margin-right:6px;border:1px solid #999}
.charts{display:flex;flex-wrap:wrap;gap:16px}
svg.chart text{font:11px system-ui,sans-serif;fill:#222}svg.chart .chart-title{font-weight:bold}
.preview-grid{display:flex;flex-wrap:wrap;gap:12px}
figure.preview{margin:0;padding:6px;border:1px solid #ccc;background:#fafafa}
figure.preview .panels{display:flex;gap:4px}
figure.preview img{display:block;width:160px;height:auto;image-rendering:pixelated;
 border:1px solid #999}
figure.preview figcaption{font-size:11px;color:#444;margin-top:4px;max-width:500px}
.panel-label{font-size:10px;color:#666;text-align:center}
"""


def _tree_html(onto: OntologyTable) -> str:
    kids = _children(onto)

    def item(c: dict[str, Any]) -> str:
        title = c.get("title") or ""
        sub = "".join(item(k) for k in kids.get(c["name"], []))
        return (
            f'<li data-node="{_e(c["name"])}"><span class="swatch" '
            f'style="background:{_hex(c.get("color", (0, 0, 0)))}"></span>'
            f'<span class="id">{int(c["id"])}</span><b>{_e(c["name"])}</b>'
            + (f" <span class='meta'>{_e(title)}</span>" if title else "")
            + (f'<ul class="tree">{sub}</ul>' if sub else "")
            + "</li>"
        )

    roots = "".join(item(c) for c in kids.get(None, []))
    special = "".join(
        f'<li><span class="swatch" style="background:{_hex(c.get("color", (0, 0, 0)))}"></span>'
        f'<span class="id">{int(c["id"])}</span><b>{_e(c["name"])}</b> '
        f'<span class="meta">role: {_e(c.get("role"))}</span></li>'
        for c in onto.classes
        if c.get("role") not in (None, "class")
    )
    return (
        f'<div class="ontology"><ul class="tree">{roots}</ul>'
        f'<h3>Special values</h3><ul class="tree">{special}</ul></div>'
    )


def _coverage_html(store: Store, cov) -> str:
    onto = store.ontology
    names = cov.nodes
    head = "".join(
        f'<th class="node" title="{_e(n)}"><span class="swatch" style="background:'
        f'{_hex(onto.by_name[n].get("color", (0, 0, 0)))}"></span>{_e(n)}</th>'
        for n in names
    )
    rows = []
    for row in cov.rows:
        tds = []
        for n in names:
            c = cov.cells[(row.name, n)]
            fg = "#fff" if c.state in ("exact", "coarse") else "#222"
            tip = f"{row.name} / {n}: {c.state}"
            if c.via:
                tip += " via " + ", ".join(f"{r.name} -> {r.to} ({r.kind})" for r in c.via)
            tip += f"; {c.pixels or 0} px, {c.instances or 0} instances"
            counts = f"<br>{_fmt(c.pixels)} px<br>{_fmt(c.instances)} inst" if c.pixels else ""
            tds.append(
                f'<td class="cov cov-{c.state}" data-kind="{c.state}" title="{_e(tip)}" '
                f'style="background:{KIND_COLOURS[c.state]};color:{fg}">{c.state}{counts}</td>'
            )
        rows.append(
            f'<tr data-source="{_e(row.name)}"><th class="l">{_e(row.name)}</th>{"".join(tds)}</tr>'
        )
    legend = "".join(
        f'<span style="background:{col}">{k}</span>' for k, col in KIND_COLOURS.items()
    )
    return (
        f'<p class="legend">{legend}</p><table class="coverage"><tr><th class="l">source</th>'
        f"{head}</tr>{''.join(rows)}</table>"
    )


def _histograms_html(store: Store, stats: StoreStats) -> str:
    onto = store.ontology
    out = []
    for src_stats in stats.sources:
        src = src_stats.key["source"]
        rows = [g for g in stats.groups if g.key.get("source") == src and "class" in g.key]
        colour = {int(c["id"]): _hex(c.get("color", (0, 0, 0))) for c in onto.classes}
        pix = [(g.name or str(g.key["class"]), g.pixels, colour[g.key["class"]]) for g in rows]
        ins = [
            (g.name or str(g.key["class"]), g.instances, colour[g.key["class"]])
            for g in rows
            if g.instances
        ]
        counts, edges = src_stats.sizes.histogram()
        out.append(
            f'<div class="source-charts" data-source="{_e(src)}"><h3>{_e(src)}</h3>'
            '<div class="charts">'
            + _svg_bars(pix, title=f"{src}: pixels per class", log=True)
            + _svg_bars(ins, title=f"{src}: instances per class")
            + _svg_columns(
                counts.tolist(), edges.tolist(), title=f"{src}: instance area (px, log bins)"
            )
            + "</div></div>"
        )
    return "".join(out)


def _stats_html(stats: StoreStats) -> str:
    def size_cells(s) -> str:
        return "".join(
            f"<td>{_fmt(v)}</td>" for v in (s.sizes.min, s.sizes.median, s.sizes.p95, s.sizes.max)
        )

    head = (
        "<tr><th class='l'>{first}</th><th>images</th><th>pixels</th><th>instances</th>"
        "<th>ignore %</th><th>area min</th><th>median</th><th>p95</th><th>max</th></tr>"
    )
    src_rows = "".join(
        f"<tr><td class='l'>{_e(g.key.get('source', 'all'))}</td><td>{g.images}</td>"
        f"<td>{g.pixels}</td>"
        f"<td>{g.instances}</td><td>{100 * g.ignore_fraction:.2f}</td>{size_cells(g)}</tr>"
        for g in [*stats.sources, stats.total]
    )
    cls_rows = "".join(
        f"<tr><td class='l'>{_e(g.key.get('source', ''))} / {_e(g.name)}</td><td>{g.images}</td>"
        f"<td>{g.pixels}</td><td>{g.instances}</td><td>{100 * g.ignore_fraction:.2f}</td>"
        f"{size_cells(g)}</tr>"
        for g in stats.groups
    )
    return (
        f"<table class='stats stats-sources'>{head.format(first='source')}{src_rows}</table>"
        f"<h3>Per source and class</h3>"
        f"<table class='stats stats-classes'>{head.format(first='source / class')}{cls_rows}"
        "</table>"
    )


def _preview_html(p: Preview, onto: OntologyTable) -> str:
    panels = [("image", p.image)] if p.image is not None else []
    panels.append(("semantic overlay", p.overlay))
    if p.outlines is not None:
        panels.append(("instance outlines", p.outlines))
    imgs = "".join(
        f'<div><img class="panel panel-{label.split()[0]}" alt="{_e(label)}" '
        f'src="{png_data_uri(arr)}"><div class="panel-label">{_e(label)}</div></div>'
        for label, arr in panels
    )
    legend = " ".join(
        f'<span class="swatch" style="background:{_hex(onto.by_id[c].get("color", (0, 0, 0)))}">'
        f"</span>{_e(onto.by_id[c]['name'])}"
        for c in p.classes
        if c in onto.by_id
    )
    return (
        f'<figure class="preview" data-source="{_e(p.source)}" data-sample-id="{_e(p.sample_id)}"'
        f' data-split="{_e(p.split)}"><div class="panels">{imgs}</div>'
        f"<figcaption><b>{_e(p.sample_id)}</b> ({_e(p.split)}) {legend}</figcaption></figure>"
    )


def _previews_html(store: Store, per_source: int, max_side: int, alpha: float) -> tuple[str, int]:
    onto = store.ontology
    cmap = onto.colormap()
    skip = [onto.background] if onto.background is not None else []
    out, n = [], 0
    for src in store.sources:
        idx = store.indices([src])
        figs = []
        for k in sample_indices(len(idx), per_source):
            p = make_preview(store[idx[k]], cmap, max_side=max_side, alpha=alpha, skip=skip)
            figs.append(_preview_html(p, onto))
        n += len(figs)
        out.append(
            f'<h3>{_e(src)} <span class="meta">({len(figs)} of {len(idx)} samples)</span></h3>'
            f'<div class="preview-grid" data-source="{_e(src)}">{"".join(figs)}</div>'
        )
    return "".join(out), n


def build_report(
    store: Store | str,
    *,
    per_source: int = 4,
    max_side: int = 256,
    alpha: float = 0.5,
    stats: StoreStats | None = None,
) -> str:
    """The report page of a store, as one self-contained HTML string.

    Parameters
    ----------
    store : Store or str
        An open store or its path/URL.
    per_source : int
        Previews per source (spread evenly over the source's samples).
    max_side : int
        Longest side of each preview panel, pixels.
    alpha : float
        Overlay weight of the label colours.
    stats : StoreStats, optional
        Precomputed :func:`~harmonize.report.stats.store_stats` (by source and class).

    Returns
    -------
    str
        The HTML document.
    """
    if isinstance(store, str) or hasattr(store, "__fspath__"):
        from harmonize.store import open_store

        store = open_store(str(store))
    if per_source < 0:
        raise ValueError(f"per_source must be >= 0, got {per_source}")
    st = stats if stats is not None else store_stats(store, by=("source", "class"))
    onto = store.ontology
    previews, n_prev = _previews_html(store, per_source, max_side, alpha)
    n_special = len(special_ids(onto.classes))
    title = f"harmonize report: {Path(str(store.url).rstrip('/')).name}"
    script = (
        "(function(){var n=document.querySelectorAll('figure.preview').length;"
        "document.body.setAttribute('data-previews',String(n));"
        "document.title=document.title+' ['+n+' previews]';"
        "window.addEventListener('load',function(){var ok=0;"
        "document.querySelectorAll('figure.preview img').forEach(function(i){"
        "if(i.complete&&i.naturalWidth>0){ok++;}});"
        "document.body.setAttribute('data-images-loaded',String(ok));});})();"
    )
    return (
        "<!DOCTYPE html>\n"
        f'<html lang="en"><head><meta charset="utf-8"><title>{_e(title)}</title>'
        f"<style>{CSS}</style></head>"
        f'<body data-expected-previews="{n_prev}">'
        f"<h1>{_e(title)}</h1>"
        f'<p class="meta">store <code>{_e(store.url)}</code> - ontology <b>{_e(onto.name)}</b>'
        f" ({len(onto.classes) - n_special} classes, {n_special} special values) - "
        f"{len(store)} samples from {len(store.sources)} sources - "
        f"{st.total.pixels} pixels, {st.total.instances} instances, "
        f"ignore {100 * st.total.ignore_fraction:.2f}%</p>"
        f'<section id="ontology"><h2>Ontology</h2>{_tree_html(onto)}</section>'
        f'<section id="coverage"><h2>Coverage</h2>{_coverage_html(store, store_coverage(store))}'
        "</section>"
        f'<section id="histograms"><h2>Class histograms</h2>{_histograms_html(store, st)}'
        "</section>"
        f'<section id="stats"><h2>Statistics</h2>{_stats_html(st)}</section>'
        f'<section id="previews"><h2>Sample previews</h2>{previews}</section>'
        f"<script>{script}</script></body></html>\n"
    )


def write_report(store: Store | str, out: str | Path, **kwargs: Any) -> Path:
    """Write :func:`build_report` to ``out`` (through a temporary name, then renamed).

    Returns
    -------
    pathlib.Path
        The written file.
    """
    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    text = build_report(store, **kwargs)
    tmp = out.with_name(out.name + ".tmp")
    tmp.write_text(text, encoding="utf-8")
    tmp.replace(out)
    return out
