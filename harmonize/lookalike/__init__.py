"""Look-alike generators: one module per dataset, each writing a miniature copy of the native layout.

``harmonize/lookalike/<name>.py`` holds that dataset's ``synthesize`` (a
:class:`~harmonize.datasets.base.Synthesize`) and every helper only the generator needs (drawing
the ground truth, writing the files, planting the quirks). The matching reader lives in
``harmonize/datasets/<name>.py`` and registers the generator by name
(``synthesize="harmonize.lookalike.<name>:synthesize"``), so it is imported only when a look-alike
is written: readers load fast and read like their format's description. :mod:`.layout` is the
generic generator of a dataset declared by a ``layout:`` block alone: its registry entry names it
(:data:`harmonize.datasets.LAYOUT_GENERATOR`) and binds it to the declared data.

Shared helpers: :mod:`harmonize.lookalike._draw` (ellipses, H&E and scene images, deterministic PNG /
TIFF / ``.mat`` writers), :mod:`harmonize.lookalike._hovernet` (HoVer-Net instance-only layouts),
:mod:`harmonize.lookalike._aperio` (ImageScope XML writer).

Import direction: a look-alike module may import :mod:`harmonize.datasets` (format constants, path
helpers it shares with the reader); :mod:`harmonize.datasets` never imports this package
(``tests/repo/test_layout.py``).
"""
