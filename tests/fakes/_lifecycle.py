"""Start/stop of a loopback fake server on its own thread, shared by every fake."""

from __future__ import annotations

import threading
from typing import Any, Self


class LoopbackServer:
    """Subclasses build their server in `_make_server(port)`; this runs and stops it."""

    name = "fake"

    def __init__(self) -> None:
        self.port: int | None = None
        self._server: Any = None
        self._thread: threading.Thread | None = None

    def _make_server(self, port: int) -> Any:
        raise NotImplementedError

    def _after_shutdown(self) -> None:
        """Hook: release what outlives the server (e.g. idle keep-alive sockets)."""

    def start(self, port: int = 0) -> Self:
        self._server = self._make_server(port)
        self.port = self._server.server_port
        # A short poll interval makes stop() (shutdown) return in ~50 ms instead of 500 ms.
        self._thread = threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.05}, name=self.name, daemon=True
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None
        self._after_shutdown()
        if self._thread is not None:
            self._thread.join(timeout=5)
            self._thread = None

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    def require_port(self) -> int:
        if self.port is None:
            raise RuntimeError(f"{type(self).__name__} is not started")
        return self.port
