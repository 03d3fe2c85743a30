"""The ``msreboot`` command line: one module per command group over the public API.

Exit codes: 0 success; 1 data problems found (the cohort is not valid, or the store could
not be used); 2 usage errors (bad options, missing files). Data and reports go to stdout,
progress bars and diagnostics to stderr. This is the only package that imports typer.
"""

from msreboot.cli._app import app, main

__all__ = ["app", "main"]
