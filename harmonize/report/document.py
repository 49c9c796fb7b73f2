"""Small shared renderers: one document model, four outputs (rich text, Markdown, HTML, JSON).

A report is a list of :class:`Section` (a heading plus blocks); a block is a :class:`Table` or
:class:`Lines` (bullets). Cells are strings, numbers, ``None`` (rendered as an em dash) or a
:class:`Swatch` (an RGB colour: a coloured square in HTML and text, ``#rrggbb`` in Markdown).

Stable helpers other report modules may import: :func:`esc`, :func:`swatch_html`,
:func:`html_table`, :func:`html_page`, :func:`md_table`, :func:`fmt_int` and the :data:`CSS` string.
HTML pages are self-contained (inline CSS, no scripts, no external assets).
"""

from __future__ import annotations

import html
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

__all__ = [
    "CSS",
    "Lines",
    "Section",
    "Styled",
    "Swatch",
    "Table",
    "esc",
    "fmt_int",
    "html_page",
    "html_table",
    "md_table",
    "render_html",
    "render_markdown",
    "render_text",
    "swatch_html",
]


@dataclass(frozen=True)
class Swatch:
    """An RGB colour cell (0..255 each)."""

    rgb: tuple[int, int, int]

    @property
    def hex(self) -> str:
        r, g, b = (int(v) for v in self.rgb)
        return f"#{r:02x}{g:02x}{b:02x}"

    def __str__(self) -> str:
        return self.hex


@dataclass(frozen=True)
class Styled:
    """A text cell with a CSS class (``exact``, ``coarse``, ``approx``, ``partial``, ``absent``)."""

    text: str
    cls: str

    def __str__(self) -> str:
        return self.text


#: rich styles of the CSS classes above, for terminal output.
TEXT_STYLES = {
    "exact": "bold green",
    "coarse": "yellow",
    "approx": "dark_orange",
    "partial": "cyan",
    "absent": "dim",
}


@dataclass(frozen=True)
class Table:
    """A table: column headers and rows of cells."""

    headers: Sequence[str]
    rows: Sequence[Sequence[Any]]
    title: str | None = None


@dataclass(frozen=True)
class Lines:
    """A bullet list of plain lines."""

    items: Sequence[str]


@dataclass
class Section:
    """A heading (level 2 or 3) and its blocks."""

    heading: str
    blocks: list[Table | Lines] = field(default_factory=list)
    level: int = 2


def esc(text: Any) -> str:
    """HTML-escape ``str(text)`` (quotes included)."""
    return html.escape(str(text), quote=True)


def fmt_int(value: int | None) -> str:
    """``1234567`` -> ``"1,234,567"``; ``None`` -> an em dash."""
    return "\u2014" if value is None else f"{int(value):,}"


def _cell_text(cell: Any) -> str:
    if cell is None:
        return "\u2014"
    if isinstance(cell, bool):
        return "yes" if cell else "no"
    if isinstance(cell, int):
        return fmt_int(cell)
    return str(cell)


def swatch_html(rgb: Iterable[int], label: str | None = None) -> str:
    """An inline coloured square (and optional label) as HTML."""
    sw = Swatch(tuple(int(v) for v in rgb))  # type: ignore[arg-type]
    text = esc(label if label is not None else sw.hex)
    return f'<span class="sw" style="background:{sw.hex}"></span>{text}'


def _cell_html(cell: Any) -> str:
    if isinstance(cell, Swatch):
        return swatch_html(cell.rgb)
    return esc(_cell_text(cell))


def html_table(headers: Sequence[str], rows: Sequence[Sequence[Any]], cls: str = "") -> str:
    """An HTML ``<table>``; numeric cells are right-aligned, :class:`Swatch` cells coloured."""
    head = "".join(f"<th>{esc(h)}</th>" for h in headers)
    body = []
    for row in rows:
        tds = []
        for c in row:
            num = isinstance(c, int | float) and not isinstance(c, bool)
            if isinstance(c, Styled):
                tds.append(f'<td class="{esc(c.cls)}">{esc(c.text)}</td>')
            elif num:
                tds.append(f'<td class="num">{_cell_html(c)}</td>')
            else:
                tds.append(f"<td>{_cell_html(c)}</td>")
        body.append("<tr>" + "".join(tds) + "</tr>")
    attr = f' class="{esc(cls)}"' if cls else ""
    return f"<table{attr}><thead><tr>{head}</tr></thead><tbody>{''.join(body)}</tbody></table>"


#: The inline style sheet of every page.
CSS = """
body{font:14px/1.45 system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;margin:2rem;color:#222}
h1{font-size:1.5rem}h2{font-size:1.2rem;margin-top:2rem;border-bottom:1px solid #ddd}
h3{font-size:1.05rem}
table{border-collapse:collapse;margin:.5rem 0 1rem}
th,td{border:1px solid #ddd;padding:.25rem .6rem;text-align:left;vertical-align:top}
th{background:#f4f4f4}td.num{text-align:right;font-variant-numeric:tabular-nums}
.sw{display:inline-block;width:.9em;height:.9em;border:1px solid #888;margin-right:.35em;
vertical-align:-.1em}
.exact{background:#d8f3d8}.coarse{background:#fff1c2}.approx{background:#ffd9b3}
.partial{background:#dde8ff}.absent{color:#aaa}
.meta{color:#666}
""".strip()


def html_page(title: str, body: str, subtitle: str | None = None) -> str:
    """A complete self-contained HTML5 page (inline CSS, no scripts or external assets)."""
    sub = f'<p class="meta">{esc(subtitle)}</p>' if subtitle else ""
    return (
        '<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">'
        f"<title>{esc(title)}</title><style>{CSS}</style></head>"
        f"<body><h1>{esc(title)}</h1>{sub}{body}</body></html>\n"
    )


def md_table(headers: Sequence[str], rows: Sequence[Sequence[Any]]) -> str:
    """A GitHub-flavoured Markdown table (``|`` in cells escaped)."""

    def cell(c: Any) -> str:
        text = f"`{c.hex}`" if isinstance(c, Swatch) else _cell_text(c)
        return text.replace("|", "\\|").replace("\n", " ")

    out = ["| " + " | ".join(cell(h) for h in headers) + " |"]
    out.append("|" + "|".join("---" for _ in headers) + "|")
    out.extend("| " + " | ".join(cell(c) for c in row) + " |" for row in rows)
    return "\n".join(out)


def render_markdown(title: str, sections: Sequence[Section], subtitle: str | None = None) -> str:
    """The sections as one Markdown document."""
    out = [f"# {title}", ""]
    if subtitle:
        out += [subtitle, ""]
    for s in sections:
        out += ["#" * s.level + " " + s.heading, ""]
        for b in s.blocks:
            if isinstance(b, Table):
                if b.title:
                    out += [f"**{b.title}**", ""]
                out += [md_table(b.headers, b.rows), ""]
            else:
                out += [f"- {line}" for line in b.items] + [""]
    return "\n".join(out).rstrip() + "\n"


def render_html(title: str, sections: Sequence[Section], subtitle: str | None = None) -> str:
    """The sections as one self-contained HTML page."""
    body = []
    for s in sections:
        lv = 2 if s.level <= 2 else 3
        body.append(f"<h{lv}>{esc(s.heading)}</h{lv}>")
        for b in s.blocks:
            if isinstance(b, Table):
                if b.title:
                    body.append(f"<p><strong>{esc(b.title)}</strong></p>")
                body.append(html_table(b.headers, b.rows))
            else:
                body.append("<ul>" + "".join(f"<li>{esc(i)}</li>" for i in b.items) + "</ul>")
    return html_page(title, "\n".join(body), subtitle)


def render_text(
    console: Any, title: str, sections: Sequence[Section], subtitle: str | None = None
) -> None:
    """Print the sections to a :class:`rich.console.Console` (tables, headings, colour squares)."""
    from rich.table import Table as RichTable
    from rich.text import Text

    console.rule(Text(title, style="bold"))
    if subtitle:
        console.print(Text(subtitle, style="dim"))
    for s in sections:
        console.print()
        console.print(Text(s.heading, style="bold underline" if s.level <= 2 else "bold"))
        for b in s.blocks:
            if isinstance(b, Table):
                t = RichTable(title=b.title, title_justify="left", show_lines=False)
                for h in b.headers:
                    t.add_column(h)
                for row in b.rows:
                    cells = []
                    for c in row:
                        if isinstance(c, Swatch):
                            cells.append(Text.assemble(("\u25a0 ", c.hex), c.hex))
                        elif isinstance(c, Styled):
                            cells.append(Text(c.text, style=TEXT_STYLES.get(c.cls, "")))
                        else:
                            cells.append(Text(_cell_text(c)))
                    t.add_row(*cells)
                console.print(t)
            else:
                for line in b.items:
                    console.print(Text("  \u2022 " + line))
