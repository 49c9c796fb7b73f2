"""The Zarr store: layout, writer (whole shards, resumable), access (Store, Sample), training patches.

Never imports :mod:`harmonize.datasets`; zarr is imported lazily inside functions.
"""

from harmonize.store.access import OntologyTable, Sample, Store, open_store
from harmonize.store.layout import SourceLayout

__all__ = ["OntologyTable", "Sample", "SourceLayout", "Store", "open_store"]
