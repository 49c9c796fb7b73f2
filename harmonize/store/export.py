"""Moved to :mod:`harmonize.export.png`; kept so old imports keep working."""

from harmonize.export.png import export_png, export_table

__all__ = ["export_png", "export_table"]
