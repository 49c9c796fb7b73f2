"""Test helpers for harmonize and for third-party readers: the reader contract
(:mod:`.contract`), layout checks (:mod:`.layout`) and hypothesis strategies (:mod:`.strategies`)."""
