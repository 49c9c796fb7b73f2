"""Turn :class:`~harmonize.errors.HarmonizeError` into a one-line message and exit code 2."""

from __future__ import annotations

import sys

import typer


def run_app(app: typer.Typer) -> None:
    from harmonize.errors import HarmonizeError

    try:
        app(standalone_mode=False)
    except HarmonizeError as exc:
        from rich.console import Console

        Console(stderr=True).print(f"[bold red]error:[/] {exc}", highlight=False, markup=True)
        sys.exit(2)
    except SystemExit:
        raise
    except Exception as exc:  # click usage errors etc. keep click's formatting
        import click

        if isinstance(exc, click.exceptions.ClickException):
            exc.show()
            sys.exit(exc.exit_code)
        if isinstance(exc, click.exceptions.Exit):
            sys.exit(exc.exit_code)
        if isinstance(exc, click.exceptions.Abort):
            sys.exit(1)
        raise
