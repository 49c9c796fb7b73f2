"""harmonize.pipeline (to be built)."""
