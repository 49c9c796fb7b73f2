"""Turn :class:`~harmonize.errors.HarmonizeError` into a one-line message and exit code 2.

Usage errors, ``--help`` and ``typer.Exit(code)`` are handled by click's standalone mode; any other
exception keeps its traceback (it is a bug, not bad input).
"""

from __future__ import annotations

import sys

import typer


def run_app(app: typer.Typer) -> None:
    from harmonize.errors import HarmonizeError

    try:
        app()
    except HarmonizeError as exc:
        from rich.console import Console
        from rich.markup import escape

        Console(stderr=True, soft_wrap=True).print(
            f"[bold red]error:[/] {escape(str(exc))}", highlight=False, markup=True
        )
        sys.exit(2)
