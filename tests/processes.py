"""Helpers for tests and benches that start real server processes on loopback."""

from __future__ import annotations

import socket
import subprocess
import sys
import time
import urllib.request
from typing import IO, Any


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def wait_for_http(url: str, *, timeout: float = 30.0) -> str | None:
    """GET `url` until it answers 200; returns the body, or None when `timeout` passes first."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(url, timeout=2) as response:
                if response.status == 200:
                    return response.read().decode()
        except OSError:
            time.sleep(0.02)
    return None


def start_embedded_server(
    *, port: int, env: dict[str, str], cwd: str, capture: bool = False, output: IO[str] | None = None
) -> subprocess.Popen[str]:
    """`flask serve` (web + in-process scheduler), the process `make run` ends in. Its console
    goes to a pipe with `capture`, to the open file `output`, or nowhere."""
    stdout: int | IO[str] = output if output is not None else subprocess.PIPE if capture else subprocess.DEVNULL
    return subprocess.Popen(
        [sys.executable, "-m", "flask", "--app", "shopify_app", "serve", "--port", str(port)],
        cwd=cwd,
        env=env,
        stdout=stdout,
        stderr=subprocess.STDOUT if capture or output is not None else subprocess.DEVNULL,
        text=True,
    )


def gunicorn_config(project_root: Any) -> Any:
    """gunicorn's config as `gunicorn -c gunicorn.conf.py` reads it (env included), serving nothing."""
    from gunicorn.app.base import Application

    class ConfigOnly(Application):
        def init(self, parser: Any, opts: Any, args: Any) -> None:
            return None

        def load_config(self) -> None:
            self.load_config_from_file(str(project_root / "gunicorn.conf.py"))

        def load(self) -> Any:
            raise AssertionError("no app is served here")

    return ConfigOnly().cfg
