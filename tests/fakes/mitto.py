"""A loopback fake of the Mitto SMS API: bulk and single sends, message status.

Real HTTP on 127.0.0.1 (so timeouts, refused connections and lost answers are exercised for
real), with knobs for the failures that matter to exactly-once sending: errors before anything
is accepted (429, 503), answers lost after acceptance (500, read timeouts), rejected
destinations. It is built on the standard library's threading HTTP server and kept lean:
benchmarks push thousands of messages a second through it.

    fake = FakeMitto().start()
    ...
    fake.stop()

MMS: a message may carry `"mms": {"text", "sender", "mediaUrls": [one https URL]}` instead of
`"sms"`, in the same requests. That shape is OUR ASSUMPTION (docs/mms.md): Mitto's MMS request is
not public. The fake accepts exactly it and refuses, per message, an MMS to a number outside +1
(the US and Canada; `MmsNotSupported`). Accepted MMS are recorded with `mediaUrl`.

Standalone, for benchmarks: `python -m tests.fakes.mitto --port 0` prints the base URL and
serves until Ctrl-C.
"""

from __future__ import annotations

import argparse
import contextlib
import hmac
import json
import os
import re
import socket
import threading
import time
import uuid
from collections import deque
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import unquote, urlsplit

from ._lifecycle import LoopbackServer

# Spelled out again, not imported from the client: the fake mirrors Mitto, so a typo there fails.
PREFIX = "/api/v1.1/Messages/"
MAX_BULK_SIZE = 5000
_VALID_DESTINATION = re.compile(r"\+?[1-9]\d{6,14}")

Answer = tuple[int, dict[str, Any], dict[str, str], float]  # status, body, headers, delay


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive; every answer carries Content-Length
    server: _Server

    def setup(self) -> None:
        super().setup()
        # Without it every answer (headers, then body) stalls ~40 ms on Nagle + delayed ACKs.
        self.request.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.server.fake._opened(self.request)

    def finish(self) -> None:
        try:
            super().finish()
        finally:
            self.server.fake._closed(self.request)

    def log_message(self, format: str, *args: Any) -> None:
        return None  # tests and benchmarks read FakeMitto.requests instead

    def do_GET(self) -> None:
        self._serve("GET")

    def do_POST(self) -> None:
        self._serve("POST")

    def _serve(self, method: str) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(length) if length else b""
        if method == "POST" and not (self.headers.get("Content-Type") or "").startswith("application/json"):
            status, body, headers, delay = _error(415)  # the real API reads JSON bodies only
        else:
            status, body, headers, delay = self.server.fake._answer(
                method, urlsplit(self.path).path, self.headers.get("X-Mitto-API-Key"), raw
            )
        if delay:
            time.sleep(delay)
        encoded = json.dumps(body).encode()
        try:
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(encoded)))
            for name, value in headers.items():
                self.send_header(name, value)
            self.end_headers()
            self.wfile.write(encoded)
        except OSError:  # the client gave up (read timeout) while we slept
            self.close_connection = True


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    block_on_close = False  # stop() must not wait for keep-alive connections or slow answers
    request_queue_size = 128  # benchmarks open many connections at once

    def __init__(self, fake: FakeMitto, port: int):
        self.fake = fake
        super().__init__(("127.0.0.1", port), _Handler)

    def handle_error(self, request: Any, client_address: Any) -> None:
        return None  # dropped connections are the point of several knobs, not errors


def _error(status: int, errors: Any = None) -> Answer:
    body = {"error": HTTPStatus(status).phrase} if errors is None else {"errors": errors}
    return status, body, {}, 0.0


class FakeMitto(LoopbackServer):
    latency: float = 0.0  # seconds to sleep before answering every request

    def __init__(self, *, api_key: str = "test-mitto-key") -> None:
        super().__init__()
        self.api_key = api_key
        self.received: list[dict[str, Any]] = []  # every accepted message, with its messageId
        self.requests = 0  # HTTP requests received, whatever their fate
        self.connections = 0  # TCP connections accepted: keep-alive means few
        self.reject_destinations: set[str] = set()
        self.statuses: dict[str, str] = {}  # messageId -> deliveryStatus (default "Delivered")
        self._by_id: dict[str, dict[str, Any]] = {}
        self._pending: deque[tuple[str, int, Any]] = deque()  # (kind, status, extra) per next submission
        self._sockets: set[socket.socket] = set()
        self._lock = threading.Lock()

    # -- lifecycle (LoopbackServer) -----------------------------------------------------------

    name = "fake-mitto"

    def _make_server(self, port: int) -> _Server:
        return _Server(self, port)

    def _after_shutdown(self) -> None:
        with self._lock:
            sockets, self._sockets = list(self._sockets), set()
        for sock in sockets:  # idle keep-alive connections would otherwise outlive the fake
            with contextlib.suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.require_port()}"

    # -- knobs -------------------------------------------------------------------------------

    def fail_next(self, status: int, times: int = 1, *, retry_after: str | None = None) -> None:
        """The next `times` submissions (sends; status reads are not counted) get `status` and
        nothing is accepted."""
        with self._lock:
            self._pending.extend([("fail", status, retry_after)] * times)

    def accept_then_fail_next(self, status: int = 500, times: int = 1) -> None:
        """The next `times` submissions are accepted and recorded, then answered `status`: the
        answer was lost, so the caller cannot know what Mitto accepted."""
        with self._lock:
            self._pending.extend([("accept_then_fail", status, None)] * times)

    def timeout_next(self, times: int = 1, *, seconds: float = 2.0) -> None:
        """The next `times` submissions are accepted and recorded, then answered after `seconds`."""
        with self._lock:
            self._pending.extend([("slow", 200, seconds)] * times)

    # -- requests ----------------------------------------------------------------------------

    def _opened(self, sock: socket.socket) -> None:
        with self._lock:
            self.connections += 1
            self._sockets.add(sock)

    def _closed(self, sock: socket.socket) -> None:
        with self._lock:
            self._sockets.discard(sock)

    def _answer(self, method: str, path: str, api_key: str | None, raw: bytes) -> Answer:
        with self._lock:
            self.requests += 1
        if self.latency:
            time.sleep(self.latency)
        if api_key is None or not hmac.compare_digest(api_key.encode(), self.api_key.encode()):
            return 401, {"error": "Unauthorized"}, {}, 0.0
        if not path.startswith(PREFIX):
            return _error(404)
        endpoint = path[len(PREFIX) :]
        if method == "GET" and endpoint and "/" not in endpoint:
            return self._status(unquote(endpoint))
        if method == "POST" and endpoint == "sendmessagesbulk":
            return self._submit(raw, bulk=True)
        if method == "POST" and endpoint == "send":
            return self._submit(raw, bulk=False)
        return _error(404)

    def _submit(self, raw: bytes, *, bulk: bool) -> Answer:
        try:
            parsed = _parse_submission(raw, bulk=bulk)
        except _BadRequest as exc:
            return _error(400, exc.errors)
        with self._lock:
            kind, status, extra = self._pending.popleft() if self._pending else ("accept", 200, None)
            if kind == "fail":
                headers = {"Retry-After": extra} if extra is not None else {}
                return status, {"error": HTTPStatus(status).phrase}, headers, 0.0
            bulk_id = str(uuid.uuid4()) if bulk else None
            answers = [self._accept(message, bulk_id) for message in parsed]
        if kind == "accept_then_fail":
            return _error(status)
        delay = extra if kind == "slow" else 0.0
        if not bulk:
            return 200, answers[0], {}, delay
        return 200, {"bulkId": bulk_id, "messages": answers}, {}, delay

    def _accept(self, message: dict[str, Any], bulk_id: str | None) -> dict[str, Any]:
        """One message's answer item; accepted ones are recorded. Called with the lock held."""
        answer: dict[str, Any] = {
            "trafficAccountId": message["trafficAccountId"],
            "destination": message["destination"],
        }
        if message["reference"] is not None:
            answer["reference"] = message["reference"]
        destination = message["destination"]
        if destination in self.reject_destinations or not _VALID_DESTINATION.fullmatch(destination):
            error = {"code": "InvalidDestination", "message": "Destination is not a valid mobile number"}
            return {**answer, "status": "Rejected", "error": error}
        if message.get("mediaUrl") is not None and not destination.startswith("+1"):
            error = {"code": "MmsNotSupported", "message": "MMS is carried to US and Canadian numbers only"}
            return {**answer, "status": "Rejected", "error": error}
        message_id = str(uuid.uuid4())
        record = {"messageId": message_id, **message, "bulkId": bulk_id}
        self.received.append(record)
        self._by_id[message_id] = record
        return {**answer, "messageId": message_id, "status": "Accepted"}

    def _status(self, message_id: str) -> Answer:
        with self._lock:
            record = self._by_id.get(message_id)
            delivery = self.statuses.get(message_id, "Delivered")
        if record is None:
            return _error(404, [{"code": "NotFound", "message": "Unknown message id"}])
        body = {
            "messageId": message_id,
            "deliveryStatus": delivery,
            "trafficAccountId": record["trafficAccountId"],
            "reference": record["reference"],
        }
        return 200, body, {}, 0.0


class _BadRequest(Exception):
    def __init__(self, errors: list[dict[str, Any]]):
        super().__init__("bad request")
        self.errors = errors


def _parse_submission(raw: bytes, *, bulk: bool) -> list[dict[str, Any]]:
    """The messages of a request body; `_BadRequest` (a 400, nothing accepted) if any is malformed."""
    try:
        body = json.loads(raw or b"null")
    except ValueError:
        raise _BadRequest([{"message": "Body is not JSON"}]) from None
    items = body.get("messages") if bulk and isinstance(body, dict) else [body]
    if not isinstance(items, list) or not items:
        raise _BadRequest([{"message": "messages must be a non-empty list"}])
    if len(items) > MAX_BULK_SIZE:
        raise _BadRequest([{"message": f"At most {MAX_BULK_SIZE} messages per request"}])
    parsed = [_parse_message(item) for item in items]
    invalid = [{"index": index, "message": "Malformed message"} for index, m in enumerate(parsed) if m is None]
    if invalid:
        raise _BadRequest(invalid)
    return [message for message in parsed if message is not None]


def _parse_message(item: Any) -> dict[str, Any] | None:
    if not isinstance(item, dict) or ("sms" in item) == ("mms" in item):  # exactly one channel
        return None
    sms = item.get("sms") or item.get("mms")
    if not isinstance(sms, dict):
        return None
    media_url = _media_url(sms) if "mms" in item else None
    if "mms" in item and media_url is None:
        return None
    message = {
        "trafficAccountId": item.get("trafficAccountId"),
        "destination": item.get("destination"),
        "text": sms.get("text"),
        "sender": sms.get("sender"),
    }
    if not all(isinstance(value, str) and value for value in message.values()):
        return None
    reference = item.get("reference")
    if reference is not None and not isinstance(reference, str):
        return None
    return {**message, "reference": reference, **({"mediaUrl": media_url} if media_url else {})}


def _media_url(mms: dict[str, Any]) -> str | None:
    """The one image of an MMS: a list of exactly one https URL (the assumed shape), else None."""
    urls = mms.get("mediaUrls")
    if not isinstance(urls, list) or len(urls) != 1 or set(mms) - {"text", "sender", "mediaUrls"}:
        return None
    url = urls[0]
    return url if isinstance(url, str) and url.startswith("https://") and len(url) <= 2048 else None


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description="Serve a fake Mitto SMS API on 127.0.0.1 until Ctrl-C.")
    parser.add_argument("--port", type=int, default=0, help="0 picks a free port")
    parser.add_argument("--api-key", default=os.environ.get("MITTO_API_KEY") or "test-mitto-key")
    parser.add_argument("--latency", type=float, default=0.0, help="seconds to sleep before every answer")
    args = parser.parse_args(argv)
    fake = FakeMitto(api_key=args.api_key)
    fake.latency = args.latency
    fake.start(port=args.port)
    print(fake.base_url, flush=True)
    try:
        threading.Event().wait()
    except KeyboardInterrupt:
        pass
    finally:
        fake.stop()


if __name__ == "__main__":
    main()
