"""Exports of a store to the folder layouts training frameworks read (one module per format).

Import the format module you need (``harmonize.export.png``); this package imports nothing heavy.
"""
