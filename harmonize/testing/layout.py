"""``LayoutContract``: :class:`~harmonize.testing.contract.ReaderContract` for a dataset declared
by a taxonomy ``layout:`` block alone (no module, so no ``break_one_file`` of its own)."""

from __future__ import annotations

from pathlib import Path
from typing import ClassVar

from harmonize import datasets
from harmonize.errors import CorruptFileError, HarmonizeError
from harmonize.testing.contract import ReaderContract

__all__ = ["LayoutContract", "layout_only_datasets"]


def layout_only_datasets() -> list[str]:
    """Registry names of the datasets read by the generic reader alone (``layout:``, no
    ``reader:``)."""
    from harmonize.datasets.layout import LayoutReader

    out = []
    for name in datasets.names():
        reader = datasets.get(name).reader
        if issubclass(reader, LayoutReader) and reader.__module__ == LayoutReader.__module__:
            out.append(name)
    return out


class LayoutContract(ReaderContract):
    """The reader contract of a layout-only dataset; the broken file is a truncated label file."""

    synth_kwargs: ClassVar[dict] = {"n": 4, "seed": 0}

    def break_one_file(self, root: Path) -> tuple[str, type[HarmonizeError]]:
        reader = datasets.open_reader(self.dataset, root)
        ref = reader.list_refs()[0]
        label = Path(ref.paths[1])
        data = label.read_bytes()
        label.write_bytes(data[: len(data) // 2])
        return ref.sample_id, CorruptFileError
