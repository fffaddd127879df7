"""Helpers for tests and benches that start real server processes on loopback."""

from __future__ import annotations

import socket
import subprocess
import sys
import time
import urllib.request


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


def start_embedded_server(*, port: int, env: dict[str, str], cwd: str, capture: bool = False) -> subprocess.Popen[str]:
    """`flask serve` (web + in-process scheduler), the process `make run` ends in."""
    return subprocess.Popen(
        [sys.executable, "-m", "flask", "--app", "shopify_app", "serve", "--port", str(port)],
        cwd=cwd,
        env=env,
        stdout=subprocess.PIPE if capture else subprocess.DEVNULL,
        stderr=subprocess.STDOUT if capture else subprocess.DEVNULL,
        text=True,
    )
