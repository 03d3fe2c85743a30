"""The dashboard as an ASGI application: the Shiny app behind the login gate."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from msreboot.app._auth import AuthGate, RateLimiter
from msreboot.app._config import AppConfig, load_app_config
from msreboot.app._state import Cohorts

__all__ = ["LOOPBACK", "bind_warning", "create_app"]

#: The default bind address: this machine only.
LOOPBACK = "127.0.0.1"


def bind_warning(host: str) -> str | None:
    """The warning printed when the dashboard listens beyond this machine (``None`` on
    loopback)."""
    if host in (LOOPBACK, "localhost", "::1"):
        return None
    return (
        f"warning: listening on {host}, reachable from the network. The dashboard speaks "
        "plain HTTP: terminate TLS in front of it (a reverse proxy such as nginx or Caddy), "
        "and allow only the networks that need it."
    )


def create_app(
    store: str | Path | None = None,
    *,
    config: AppConfig | str | Path | None = None,
    limiter: RateLimiter | None = None,
) -> AuthGate:
    """The dashboard: every page of a store (or the bundled example) behind a login.

    Parameters
    ----------
    store
        A DuckDB store written by ``msreboot import`` (:func:`msreboot.data.read_store`);
        ``None``: the bundled synthetic example cohort only.
    config
        The configuration (:class:`AppConfig` or its TOML file; default
        :func:`default_config_path`) with at least one user.
    limiter
        Failed-login limits (default: 5 per user and 20 per client in 15 minutes).

    Returns
    -------
    AuthGate
        An ASGI application (serve it with ``uvicorn``), every route behind the login.

    Raises
    ------
    FileNotFoundError
        No configuration file, or no such store.
    ValueError
        A configuration without users.
    """
    from shiny import App

    from msreboot.app._server import make_server
    from msreboot.app._ui import build_ui

    if not isinstance(config, AppConfig):
        config = load_app_config(config)
    if not config.users:
        raise ValueError(
            f"the app configuration must have at least one user; got none in {config.path}. "
            "Add one with `msreboot app adduser NAME --role analyst`."
        )
    store_path = Path(store) if store is not None else None
    if store_path is not None and not store_path.exists():
        raise FileNotFoundError(f"store must be an existing store file; got {store_path}.")
    config.data_dir.mkdir(parents=True, exist_ok=True)
    cohorts = Cohorts(store=store_path)

    from msreboot.endpoints import EndpointDefinition
    from msreboot.trials import TrialSpec

    presets = list(EndpointDefinition.presets())
    trials = list(TrialSpec.presets())

    def page(request: Any) -> Any:
        role = request.scope.get("msreboot.user", ("", "viewer"))[1]
        return build_ui(cohorts.sources(), presets, trials, role)

    shiny_app = App(page, make_server(cohorts, config))
    return AuthGate(shiny_app, config, limiter)
