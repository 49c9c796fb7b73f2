"""Typed errors.

Every error harmonize raises derives from :class:`HarmonizeError` and from the builtin exception a
Python user would expect (``FileNotFoundError`` for a missing file, ``KeyError`` for a missing key, ...),
so ``except FileNotFoundError`` keeps working. Each carries the offending ``path`` (and ``line`` where one
is known) as attributes, and its message names them and says what is wrong.
"""

from __future__ import annotations

from os import PathLike
from pathlib import Path
from typing import Any

__all__ = [
    "ClassIdError",
    "ConfigError",
    "CorruptFileError",
    "DuplicateSampleError",
    "ExecutorError",
    "HarmonizeError",
    "LossyLabelError",
    "MissingFileError",
    "MissingKeyError",
    "PolygonError",
    "RunInterruptedError",
    "ShapeError",
    "SizeMismatchError",
    "StoreError",
    "TaxonomyError",
    "TooLargeError",
    "UnmappedValueError",
    "UnsafePathError",
]


def _where(path: str | PathLike[str] | None, line: int | None) -> str:
    if path is None:
        return ""
    where = str(path)
    if line is not None:
        where += f":{line}"
    return where + ": "


class HarmonizeError(Exception):
    """Root of every harmonize error.

    Parameters
    ----------
    message : str
        What is wrong (and, where it helps, what to do).
    path : path-like, optional
        The file (or directory) at fault. Prefixed to the message.
    line : int, optional
        1-based line in ``path``.
    """

    def __init__(
        self,
        message: str,
        *,
        path: str | PathLike[str] | None = None,
        line: int | None = None,
    ) -> None:
        # a URL (s3://..., memory://...) stays a string: Path() would fold its "//"
        self.path: Path | str | None = (
            None if path is None else (str(path) if "://" in str(path) else Path(path))
        )
        self.line = line
        self.reason = message
        # every problem found, ``(line, message)``, when one error reports several (YAML validation)
        self.problems: list[tuple[int | None, str]] = []
        super().__init__(_where(path, line) + message)

    def __str__(self) -> str:  # KeyError would otherwise repr() the message
        return self.args[0] if self.args else ""

    def __reduce__(
        self,
    ) -> tuple[Any, ...]:  # keep the keyword fields across pickling (worker processes)
        return (_rebuild, (type(self), self.reason, self.path, self.line))


def _rebuild(
    cls: type[HarmonizeError], reason: str, path: Path | str | None, line: int | None
) -> HarmonizeError:
    return cls(reason, path=path, line=line)


class MissingFileError(HarmonizeError, FileNotFoundError):
    """A file or directory that must exist does not."""


class CorruptFileError(HarmonizeError, ValueError):
    """A file exists but cannot be decoded (truncated PNG, malformed XML, broken .mat, ...)."""


class LossyLabelError(CorruptFileError):
    """A label map is stored in a lossy format (JPEG, lossy WebP), or its content is not what its
    extension says: a lossy codec changes label values, so the file is refused, not decoded."""


class PolygonError(CorruptFileError):
    """An annotation polygon cannot be drawn as written (fewer than 3 vertices, or wholly outside
    the image), under ``on_error="raise"``; the message names the file, line and region id."""


class TooLargeError(CorruptFileError):
    """An image or label map declares more pixels than the configured limit (``limits.max_pixels``);
    refused from its header, before any pixel buffer is allocated (decompression bombs)."""


class UnsafePathError(HarmonizeError, ValueError):
    """A sample id read from a list file (split list, CSV, JSON, XML) holds a path separator or
    ``..`` and would make the reader open files outside the dataset root."""


class MissingKeyError(HarmonizeError, KeyError):
    """A container file (``.mat``, JSON, XML, npy dict) lacks a key the format requires."""


class ShapeError(HarmonizeError, ValueError):
    """An array has the wrong shape, number of channels or dtype."""


class SizeMismatchError(HarmonizeError, ValueError):
    """An image and its label map (or two label maps of one sample) differ in size."""


class ClassIdError(HarmonizeError, ValueError):
    """A label file holds a class id (or class name) that the dataset taxonomy does not declare."""


class DuplicateSampleError(HarmonizeError, ValueError):
    """Two files of one dataset resolve to the same sample id."""


class TaxonomyError(HarmonizeError, ValueError):
    """A taxonomy, ontology or mapping YAML file is invalid (message names file and line)."""


class ConfigError(HarmonizeError, ValueError):
    """A run configuration is invalid (message names file and line)."""


class UnmappedValueError(HarmonizeError, ValueError):
    """A label map holds values that the compiled mapping does not cover, under the ``error`` policy."""


class StoreError(HarmonizeError, OSError):
    """A Zarr store is missing, incomplete, or not a harmonize store."""


class ExecutorError(HarmonizeError, RuntimeError):
    """The executor lost the processes running shard tasks (every dask worker gone for longer than
    ``executor.worker_timeout``, or a task that killed its worker again and again). The store is
    left incomplete; ``--resume`` finishes it."""


class RunInterruptedError(HarmonizeError, RuntimeError):
    """The run was stopped by a signal (SIGTERM) while writing shards. The shards committed so far
    are kept; ``--resume`` finishes the store."""
