"""The Zarr store: layout, writer (whole shards, resumable), reader, training patches.

Never imports :mod:`harmonize.datasets`; zarr is imported lazily inside functions.
"""

from harmonize.store.layout import SourceLayout
from harmonize.store.reader import OntologyTable, Sample, Store, open_store

__all__ = ["OntologyTable", "Sample", "SourceLayout", "Store", "open_store"]
