"""A Shiny session driven over the dashboard's websocket without a browser: log in, send
the inputs a page would send, read the outputs the server renders (the server functions
tested as they run, behind the login gate)."""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from typing import Any

from starlette.testclient import TestClient

from msreboot.app import AppConfig, RateLimiter, create_app

__all__ = ["ShinySession", "shiny_session"]


class ShinySession:
    """One browser session's inputs and outputs (the last value of each output)."""

    def __init__(self, client: TestClient, ws: Any, session_id: str) -> None:
        self.client = client
        self.ws = ws
        self.session_id = session_id
        self.values: dict[str, Any] = {}
        self.errors: dict[str, Any] = {}
        self.messages: list[dict[str, Any]] = []

    def update(self, **inputs: Any) -> None:
        """Change inputs (a button press is its count going up)."""
        self.ws.send_text(json.dumps({"method": "update", "data": inputs}))

    def _read(self) -> None:
        message = json.loads(self.ws.receive_text())
        self.messages.append(message)
        self.values.update(message.get("values") or {})
        self.errors.update(message.get("errors") or {})

    def until(self, ready: Callable[[ShinySession], bool], timeout: float = 120.0) -> ShinySession:
        """Read messages until ``ready(self)`` (a bounded wait)."""
        deadline = time.monotonic() + timeout
        while not ready(self):
            if time.monotonic() > deadline:
                raise TimeoutError(f"the page did not get ready; outputs: {sorted(self.values)}")
            self._read()
        return self

    def text(self, output: str) -> str:
        """A text or code output's value (``""`` before it renders)."""
        value = self.values.get(output)
        return value if isinstance(value, str) else ""

    def html(self, output: str) -> str:
        """A ui output's HTML."""
        value = self.values.get(output) or {}
        return str(value.get("html", "")) if isinstance(value, dict) else ""

    def rows(self, output: str) -> list[dict[str, Any]]:
        """A data-frame output's rows as records."""
        value = self.values.get(output) or {}
        payload = value.get("payload", value) if isinstance(value, dict) else {}
        data = payload.get("data", []) if isinstance(payload, dict) else []
        names = [
            c.get("title", c) if isinstance(c, dict) else c for c in payload.get("columns", [])
        ]
        return [dict(zip(names, row, strict=False)) for row in data]

    def download(self, output: str) -> Any:
        """A download button's response (through the gate, as the browser fetches it)."""
        return self.client.get(f"/session/{self.session_id}/download/{output}?w=")


@contextmanager
def shiny_session(
    config: AppConfig,
    user: str,
    password: str,
    inputs: Mapping[str, Any],
    outputs: list[str],
    store: Any = None,
) -> Iterator[ShinySession]:
    """Log in and open one session with ``inputs`` and the ``outputs`` shown."""
    client = TestClient(create_app(store, config=config, limiter=RateLimiter()))
    r = client.post("/login", data={"username": user, "password": password}, follow_redirects=False)
    assert r.status_code == 303
    data = {**inputs, **{f".clientdata_output_{o}_hidden": False for o in outputs}}
    with client.websocket_connect("/websocket/", headers={"origin": "http://testserver"}) as ws:
        ws.send_text(json.dumps({"method": "init", "data": data}))
        first = json.loads(ws.receive_text())
        session = ShinySession(client, ws, first["config"]["sessionId"])
        yield session
