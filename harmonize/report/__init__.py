"""Reports over taxonomies and stores: taxonomy diffs and their data impact
(:mod:`.diff_report`), coverage matrices (:mod:`.coverage`), store statistics (:mod:`.stats`), the
self-contained HTML report (:mod:`.html`, :mod:`.previews`) and the shared document model and its
renderers (:mod:`.document`)."""
