"""The reader contract of every dataset declared by a taxonomy ``layout:`` alone.

The classes are made from the registry at collection time, so a YAML-only dataset (shipped, or on
``HARMONIZE_TAXONOMIES``) is tested without a test file of its own.
"""

from __future__ import annotations

from harmonize.testing.layout import LayoutContract, layout_only_datasets

for _name in layout_only_datasets():
    globals()[f"TestLayout_{_name}"] = type(
        f"TestLayout_{_name}", (LayoutContract,), {"dataset": _name}
    )
