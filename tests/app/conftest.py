"""One dashboard for the websocket tests of the pages, served on one event loop for the
whole run: Shiny's reactive lock is process-wide and binds to the first loop it waits on,
so sessions on test clients with loops of their own would collide."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

pytest.importorskip("shiny")

from starlette.testclient import TestClient

from msreboot.app import AppConfig, RateLimiter, add_user, create_app

#: The analyst of :func:`app_client`.
ANALYST = ("ana", "analyst password 1")


@pytest.fixture(scope="session")
def app_config(tmp_path_factory: pytest.TempPathFactory) -> AppConfig:
    return add_user(tmp_path_factory.mktemp("pages") / "app.toml", *ANALYST, "analyst")


@pytest.fixture(scope="session")
def app_client(app_config: AppConfig) -> Iterator[TestClient]:
    with TestClient(create_app(config=app_config, limiter=RateLimiter())) as client:
        yield client
