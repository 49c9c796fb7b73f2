"""harmonize.store (to be built)."""
