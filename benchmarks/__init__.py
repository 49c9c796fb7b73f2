"""harmonize benchmarks: each ``benchmarks/bench_*.py`` module has a ``main()`` that measures
harmonize against today's baselines on the same arrays and prints tables of ratios.

Run them all with ``python -m benchmarks`` (``make bench``), or one with
``python -m benchmarks engine``.
"""
