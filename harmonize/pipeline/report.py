"""What a run did (:class:`RunReport`) and how it is shown after the run."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

__all__ = ["RunReport"]


@dataclass
class RunReport:
    """What a run did: per-source sample counts, skipped samples with reasons, timings."""

    name: str
    store: str
    samples: int = 0
    written: int = 0
    skipped: list[dict[str, Any]] = field(default_factory=list)
    #: reader warnings of written samples: source, sample_id, path, line, region_id, message
    warnings: list[dict[str, Any]] = field(default_factory=list)
    per_source: dict[str, dict[str, Any]] = field(default_factory=dict)
    shards: int = 0
    resumed_shards: int = 0
    #: samples (written or skipped) that this run processed itself; ``--resume`` leaves out the
    #: shards an earlier run committed, so ``samples_per_second`` measures this run's work only
    processed: int = 0
    seconds: float = 0.0
    executor: str = "local"
    workers: int = 1
    #: findings of the leakage check (``LeakageReport.to_dict()``) when it ran
    leakage: dict[str, Any] | None = None

    def to_dict(self) -> dict[str, Any]:
        extra = {} if self.leakage is None else {"leakage": self.leakage}
        return {
            "name": self.name,
            "store": self.store,
            "samples": self.samples,
            "written": self.written,
            "skipped": self.skipped,
            "warnings": self.warnings,
            "per_source": self.per_source,
            "shards": self.shards,
            "resumed_shards": self.resumed_shards,
            "processed": self.processed,
            "seconds": round(self.seconds, 3),
            "executor": self.executor,
            "workers": self.workers,
            "samples_per_second": (
                round(self.processed / self.seconds, 2) if self.seconds and self.processed else None
            ),
            **extra,
        }

    def print_summary(self) -> None:
        """Print the per-source table, the totals and the first skipped samples and warnings
        (what ``harmonize run`` and ``harmonize demo`` show after a run)."""
        from rich.console import Console
        from rich.table import Table

        d = self.to_dict()
        t = Table(title=f"{d['name']} -> {d['store']}")
        for col in ("source", "dataset", "samples", "written", "skipped", "instances", "slot HxW"):
            t.add_column(col, justify="right" if col not in ("source", "dataset") else "left")
        for name, s in d["per_source"].items():
            t.add_row(
                name,
                s["dataset"],
                str(s["samples"]),
                str(s["written"]),
                str(s["skipped"]),
                str(s["instances"]),
                f"{s['height']}x{s['width']}",
            )
        con = Console()
        con.print(t)
        rate = d["samples_per_second"]
        resumed = (
            f"; {d['resumed_shards']} of {d['shards']} shards were already written, "
            f"{d['processed']} samples processed now"
            if d["resumed_shards"]
            else ""
        )
        con.print(
            f"{d['written']} samples in {d['seconds']:.1f} s"
            + (f" ({rate} samples/s, {d['executor']}, {d['workers']} workers)" if rate else "")
            + resumed
        )
        if d["skipped"]:
            con.print(f"[yellow]{len(d['skipped'])} skipped:[/]")
            for s in d["skipped"][:20]:
                con.print(
                    f"  {s.get('source', '')} {s.get('sample_id', '')}: {s['error']}",
                    highlight=False,
                    markup=False,
                )
        if d.get("warnings"):
            n = len(d["warnings"])
            con.print(
                f"[yellow]{n} warnings[/] (all in the run report and the store's `warnings`):"
            )
            for w in d["warnings"][:5]:
                where = (
                    f"{w.get('path') or ''}:{w['line']}" if w.get("line") else w.get("path") or ""
                )
                con.print(
                    f"  {w.get('source', '')} {w.get('sample_id', '')}: {where} {w.get('message', '')}",
                    highlight=False,
                    markup=False,
                )
            if n > 5:
                con.print(f"  ... and {n - 5} more")
