"""Rendering a :class:`~harmonize.leakage.check.LeakageReport` as text, JSON or Markdown."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Literal

if TYPE_CHECKING:
    from harmonize.leakage.check import LeakageReport, Match

__all__ = ["render"]


def _where(m: Match) -> str:
    return f"at (row {m.offset[0]:.1f}, col {m.offset[1]:.1f}), scale {m.scale:.3f}"


def _text(report: LeakageReport) -> str:
    lines = [
        f"leakage check: {report.n_images} images, {len(report.leaks)} leaking pairs, "
        f"{len(report.duplicates)} duplicate pairs within a source and split "
        f"({report.seconds:.1f} s)"
    ]
    for title, ms in (
        ("LEAKS (across sources or splits)", report.leaks),
        ("duplicates (same source and split)", report.duplicates),
    ):
        if not ms:
            continue
        lines.append(f"{title}:")
        for m in ms:
            across = "+".join(m.across) or "-"
            lines.append(
                f"  [{m.kind}] {m.a.label()}  in  {m.b.label()}  {_where(m)}, "
                f"ncc {m.score:.3f}, shared {100 * m.overlap_a:.0f}% / {100 * m.overlap_b:.0f}%"
                f"  (across {across})"
            )
    if report.unchecked:
        lines.append(
            f"{len(report.unchecked)} images too small or flat for the near-duplicate search "
            "(exact copies still found): " + ", ".join(r.label() for r in report.unchecked[:20])
        )
    return "\n".join(lines) + "\n"


def _markdown(report: LeakageReport) -> str:
    out = [
        "## Leakage check",
        "",
        f"{report.n_images} images; **{len(report.leaks)} leaking pairs** (across sources or "
        f"splits), {len(report.duplicates)} duplicate pairs within a source and split.",
        "",
    ]
    for title, ms in (("Leaks", report.leaks), ("Duplicates", report.duplicates)):
        if not ms:
            continue
        out += [
            f"### {title}",
            "",
            "| kind | a (source/split/sample) | b (source/split/sample) | scale | offset (row, col) "
            "| NCC | shared a / b | across |",
            "|---|---|---|---:|---|---:|---|---|",
        ]
        for m in ms:
            out.append(
                f"| {m.kind} | `{m.a.label()}` | `{m.b.label()}` | {m.scale:.3f} | "
                f"{m.offset[0]:.1f}, {m.offset[1]:.1f} | {m.score:.3f} | "
                f"{100 * m.overlap_a:.0f}% / {100 * m.overlap_b:.0f}% | "
                f"{', '.join(m.across) or '-'} |"
            )
        out.append("")
    if report.unchecked:
        out += [
            f"Too small or flat to search for near-duplicates: {len(report.unchecked)} "
            "images (exact copies are still found).",
            "",
        ]
    return "\n".join(out)


def render(report: LeakageReport, fmt: Literal["text", "json", "markdown"] = "text") -> str:
    """The report in ``fmt`` (``text``, ``json`` or ``markdown``)."""
    if fmt == "json":
        return json.dumps(report.to_dict(), indent=2) + "\n"
    if fmt == "markdown":
        return _markdown(report)
    if fmt == "text":
        return _text(report)
    raise ValueError(f"unknown format {fmt!r}; use text, json or markdown")
