"""The dashboard: msreboot in the browser, behind a login (Shiny for Python).

:func:`create_app` serves the pages Data, Endpoints, Patients (analysts only), Evidence,
Comparison and Trial designer as an ASGI application; every route needs a login (users and
scrypt password hashes in a TOML file made by :func:`add_user`, ``msreboot app adduser``).
The dashboard renders results of the lower layers and computes nothing itself. Install
with ``pip install 'msreboot[app]'``.
"""

from msreboot.app._app import LOOPBACK, bind_warning, create_app
from msreboot.app._auth import PATIENT_DOWNLOADS, AuthGate, RateLimiter
from msreboot.app._config import (
    ROLES,
    AppConfig,
    AppUser,
    add_user,
    default_config_path,
    load_app_config,
)
from msreboot.app._uploads import UploadFolder, safe_upload_name

__all__ = [
    "LOOPBACK",
    "PATIENT_DOWNLOADS",
    "ROLES",
    "AppConfig",
    "AppUser",
    "AuthGate",
    "RateLimiter",
    "UploadFolder",
    "add_user",
    "bind_warning",
    "create_app",
    "default_config_path",
    "load_app_config",
    "safe_upload_name",
]
