"""The remapping engine: numba kernels that rewrite native label maps into ontology ids.

Imports numba lazily through :mod:`harmonize.engine.kernels`; never imports pydantic, YAML or zarr.
"""
