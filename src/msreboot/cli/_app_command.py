"""``msreboot app``: serve the dashboard, and ``msreboot app adduser``: add its users."""

from __future__ import annotations

import getpass
import sys
from pathlib import Path
from typing import Annotated, Any

import typer
from typer.core import TyperGroup

from msreboot.cli._common import EXIT_DATA, EXIT_USAGE, err, out
from msreboot.cli._common import fail as _fail

__all__ = ["app_group"]

_EXTRA = "the dashboard needs the app extra; install it with `pip install 'msreboot[app]'`."


class _ServeByDefault(TyperGroup):
    """``msreboot app [STORE] [options]`` serves; ``msreboot app adduser ...`` adds a user."""

    def parse_args(self, ctx: Any, args: list[str]) -> list[str]:
        if not args or (args[0] not in self.commands and args[0] not in ("--help", "-h")):
            args = ["serve", *args]
        result: list[str] = super().parse_args(ctx, args)
        return result


app_group = typer.Typer(
    cls=_ServeByDefault,
    help="The dashboard in the browser, behind a login: `msreboot app [STORE]` serves it "
    "(127.0.0.1:8000 by default); `msreboot app adduser NAME --role analyst` adds a user.",
    no_args_is_help=False,
)

ConfigOpt = Annotated[
    Path | None,
    typer.Option(
        "--config",
        help="The users file (TOML, mode 0600); default $MSREBOOT_APP_CONFIG or "
        "~/.config/msreboot/app.toml.",
    ),
]


@app_group.command("serve")
def serve_command(
    store: Annotated[
        Path | None,
        typer.Argument(help="A store written by `msreboot import`; default: the example only."),
    ] = None,
    host: Annotated[
        str, typer.Option(help="Address to listen on; anything but loopback needs TLS in front.")
    ] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port to listen on.", min=1, max=65535)] = 8000,
    config: ConfigOpt = None,
) -> None:
    """Serve the dashboard (every page behind a login)."""
    try:
        import uvicorn

        from msreboot.app import bind_warning, create_app
    except ImportError as exc:
        raise _fail(_EXTRA, EXIT_USAGE) from exc
    try:
        application = create_app(store, config=config)
    except (FileNotFoundError, ValueError) as exc:
        raise _fail(str(exc), EXIT_USAGE) from exc
    warning = bind_warning(host)
    if warning:
        err.print(f"[bold yellow]{warning}[/]")
    err.print(f"msreboot dashboard on http://{host}:{port}/ (Ctrl+C to stop)")
    uvicorn.run(application, host=host, port=port, log_level="warning", ws="websockets")


@app_group.command("adduser")
def adduser_command(
    name: Annotated[str, typer.Argument(help="The login name.")],
    role: Annotated[
        str, typer.Option("--role", help="viewer (de-identified results only) or analyst.")
    ],
    config: ConfigOpt = None,
) -> None:
    """Add a user (or set their password and role); the password is read from a prompt, or
    from the first line of standard input when it is not a terminal."""
    from msreboot.app import ROLES, add_user

    if role not in ROLES:
        raise _fail(f"--role must be one of {', '.join(ROLES)}; got {role!r}.", EXIT_USAGE)
    if sys.stdin.isatty():
        password = getpass.getpass(f"Password for {name}: ")
        if getpass.getpass("Again: ") != password:
            raise _fail("the passwords must match; got two different ones. Try again.", EXIT_USAGE)
    else:
        password = sys.stdin.readline().rstrip("\r\n")
    try:
        written = add_user(config, name, password, role)
    except ValueError as exc:
        raise _fail(str(exc), EXIT_USAGE) from exc
    except OSError as exc:
        raise _fail(f"--config must be a file that can be written; got {exc}", EXIT_DATA) from exc
    out.print(f"{name} ({role}) saved in {written.path}")
