"""harmonize.report (to be built)."""
