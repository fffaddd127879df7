"""The Mitto client against a loopback fake Mitto: submission, status, and every failure mapped to
what the caller may assume (nothing accepted, whole request rejected, outcome unknown); then the
SMS backends that share its interface."""

from __future__ import annotations

import json
import socket
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from functools import partial
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from unittest.mock import Mock

import pytest
import requests
from structlog.testing import capture_logs
from urllib3.exceptions import ConnectTimeoutError, MaxRetryError, ProtocolError

from shopify_app.clients.mitto import (
    BulkResult,
    MittoClient,
    MittoError,
    MittoRateLimited,
    MittoRejected,
    MittoSettings,
    MittoTimeout,
    MittoUnavailable,
    OutboundSms,
    SubmitResult,
)
from shopify_app.clients.sms import ConsoleBackend, MemoryBackend, MittoBackend, SmsBackend, build_backend, mask_phone
from shopify_app.config import SMS_BACKENDS

from .fakes.mitto import FakeMitto

API_KEY = "mitto-live-key-5f0c2a9e7b"
TRAFFIC_ACCOUNT = "ta-blossom-1"
PHONE = "+14155550142"
TEXT = "Spring sale: 20% off roses with code BLOOM"


def sms(destination: str = PHONE, reference: str | None = "msg-1", text: str = TEXT) -> OutboundSms:
    return OutboundSms(destination=destination, text=text, sender="Blossom", reference=reference)


@pytest.fixture
def fake() -> Iterator[FakeMitto]:
    with FakeMitto(api_key=API_KEY) as fake:
        yield fake


def client_for(base_url: str, *, session: requests.Session | None = None, **overrides: Any) -> MittoClient:
    fields: dict[str, Any] = {"api_key": API_KEY, "traffic_account_id": TRAFFIC_ACCOUNT, "read_timeout": 2.0}
    return MittoClient(MittoSettings(base_url=base_url, **{**fields, **overrides}), session=session)


@pytest.fixture
def client(fake: FakeMitto) -> Iterator[MittoClient]:
    with requests.Session() as session:
        yield client_for(fake.base_url, session=session)


def closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@contextmanager
def raw_server(status: int | None, body: Any = None, **headers: str) -> Iterator[str]:
    """A one-off server answering every POST with `status` and `body`, or hanging up after reading
    the request when `status` is None: for what FakeMitto never does."""
    encoded = b"" if body is None else json.dumps(body).encode()

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            self.rfile.read(int(self.headers["Content-Length"]))
            if status is None:
                self.close_connection = True
                return
            self.send_response(status)
            for name, value in {**headers, "Content-Length": str(len(encoded))}.items():
                self.send_header(name, value)
            self.end_headers()
            self.wfile.write(encoded)

        def log_message(self, *args: Any) -> None:
            return None

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True).start()
    try:
        yield f"http://127.0.0.1:{server.server_port}"
    finally:
        server.shutdown()
        server.server_close()


# -- submission ----------------------------------------------------------------------------------
def test_the_environment_proxy_and_ca_bundle_are_read_once(monkeypatch):
    monkeypatch.setenv("HTTPS_PROXY", "http://proxy.internal:3128")
    monkeypatch.setenv("NO_PROXY", "")
    monkeypatch.setenv("REQUESTS_CA_BUNDLE", "/etc/ssl/custom.pem")
    settings = MittoSettings(api_key="k", base_url="https://messaging.mittoapi.com", traffic_account_id="t")
    session = MittoClient(settings)._session
    assert session.proxies.get("https") == "http://proxy.internal:3128"
    assert session.verify == "/etc/ssl/custom.pem"
    assert session.trust_env is False  # not read again on every request
    monkeypatch.setenv("NO_PROXY", "messaging.mittoapi.com")
    bypassed = MittoClient(settings)._session
    assert "https" not in bypassed.proxies


def test_an_integer_id_past_64_bits_keeps_every_digit(client):
    """Requests encode with orjson; answers still decode with json, which (unlike orjson, which
    makes such an integer a float) keeps every digit of an id."""
    huge = 2**70
    with raw_server(200, {"bulkId": "b-1", "messages": [{"messageId": huge, "reference": "msg-1"}]}) as url:
        result = client_for(url).send_bulk([sms()])
    assert [item.message_id for item in result.results] == [str(huge)]


def test_requests_declare_their_json_body(fake, client):
    client.send_bulk([sms()])
    with requests.post(f"{fake.base_url}/api/v1.1/Messages/sendmessagesbulk", data=b"{}", timeout=5) as refused:
        assert refused.status_code == 415  # the fake, like the API, reads only declared JSON
    assert len(fake.received) == 1


def test_bulk_send_returns_ids_in_request_order_with_references_and_bulk_id(fake, client):
    messages = [sms(f"+1415555010{n}", reference=f"msg-{n}", text=f"Hello {n}") for n in range(3)]
    messages.append(sms(reference=None))

    result = client.send_bulk(messages)
    assert isinstance(result, BulkResult)
    assert [item.reference for item in result.results] == ["msg-0", "msg-1", "msg-2", None]
    assert all(item.accepted and item.error_code is None for item in result.results)
    assert [item.message_id for item in result.results] == [entry["messageId"] for entry in fake.received]
    assert result.bulk_id == fake.received[0]["bulkId"]
    assert [(e["destination"], e["text"], e["reference"]) for e in fake.received] == [
        (m.destination, m.text, m.reference) for m in messages
    ]
    assert {(e["trafficAccountId"], e["sender"]) for e in fake.received} == {(TRAFFIC_ACCOUNT, "Blossom")}


def test_single_send_returns_the_message_id_and_status_reads_its_delivery_status(fake, client):
    result = client.send(sms())
    message_id = fake.received[0]["messageId"]
    assert result == SubmitResult(reference="msg-1", message_id=message_id)
    assert fake.received[0]["bulkId"] is None
    assert client.status(message_id)["deliveryStatus"] == "Delivered"

    fake.statuses[message_id] = "Undelivered"
    assert client.status(message_id) == {
        "messageId": message_id,
        "deliveryStatus": "Undelivered",
        "trafficAccountId": TRAFFIC_ACCOUNT,
        "reference": "msg-1",
    }
    with pytest.raises(MittoRejected) as caught:
        client.status("no-such-id")
    assert caught.value.status == 404


def test_rejected_destination_is_a_per_message_result_beside_accepted_ones(fake, client):
    fake.reject_destinations.add("+14155550199")
    messages = [sms("+14155550101", "a"), sms("+14155550199", "b"), sms("+14155550102", "c")]

    result = client.send_bulk(messages)
    assert [item.accepted for item in result.results] == [True, False, True]
    rejected = result.results[1]
    assert (rejected.reference, rejected.message_id, rejected.error_code) == ("b", None, "InvalidDestination")
    assert rejected.error_message
    assert [entry["reference"] for entry in fake.received] == ["a", "c"]
    single = client.send(sms("+14155550199"))  # a result, not an exception, for one message too
    assert (single.accepted, single.error_code) == (False, "InvalidDestination")


# -- failures that prove nothing was accepted ----------------------------------------------------


@pytest.mark.parametrize(("header", "wait"), [("3", 3.0), (None, 1.0)])
def test_429_is_rate_limited_with_retry_after_and_nothing_accepted(fake, client, header, wait):
    fake.fail_next(429, retry_after=header)
    with pytest.raises(MittoRateLimited) as caught:
        client.send_bulk([sms()])
    assert (caught.value.retry_after, caught.value.status) == (wait, 429)
    assert fake.received == []
    assert fake.requests == 1  # the client never retries: the caller owns retry policy


def test_503_is_unavailable_and_nothing_accepted(fake, client):
    fake.fail_next(503)
    with pytest.raises(MittoUnavailable) as caught:
        client.send_bulk([sms()])
    assert caught.value.status == 503
    assert fake.received == []
    assert client.send_bulk([sms()]).results[0].accepted  # the knob was used up


def test_refused_connection_is_unavailable():
    client = client_for(f"http://127.0.0.1:{closed_port()}", connect_timeout=0.5)
    with pytest.raises(MittoUnavailable) as caught:
        client.send_bulk([sms()])
    assert caught.value.status is None


@pytest.mark.parametrize(
    ("error", "expected"),
    [
        (requests.ConnectTimeout("connect timed out"), MittoUnavailable),
        (requests.ConnectionError(MaxRetryError(None, "/", ConnectTimeoutError("slow"))), MittoUnavailable),
        (requests.ConnectionError(ProtocolError("Connection aborted.")), MittoTimeout),
        (requests.exceptions.ChunkedEncodingError("truncated"), MittoTimeout),
        (requests.ReadTimeout("read timed out"), MittoTimeout),
    ],
)
def test_only_failures_to_connect_prove_nothing_was_sent(error, expected):
    client = client_for("https://mitto.test", session=Mock(request=Mock(side_effect=error)))
    with pytest.raises(expected):
        client.send_bulk([sms()])


# -- failures after which the outcome is unknown -------------------------------------------------


@pytest.mark.parametrize("status", [500, 502, 504])
def test_5xx_after_accepting_is_timeout_outcome_unknown(fake, client, status):
    """502/504 too: a gateway answers them when the upstream failed after taking the request."""
    fake.accept_then_fail_next(status)
    with pytest.raises(MittoTimeout) as caught:
        client.send_bulk([sms()])
    assert caught.value.status == status
    assert [entry["reference"] for entry in fake.received] == ["msg-1"]  # Mitto did accept it


def test_read_timeout_is_timeout_outcome_unknown(fake):
    fake.timeout_next(seconds=1.0)
    client = client_for(fake.base_url, read_timeout=0.2)
    with pytest.raises(MittoTimeout) as caught:
        client.send_bulk([sms()])
    assert caught.value.status is None
    assert len(fake.received) == 1


def test_connection_dropped_after_the_request_is_timeout_outcome_unknown():
    with raw_server(None) as base_url, pytest.raises(MittoTimeout):
        client_for(base_url).send_bulk([sms()])


@pytest.mark.parametrize(
    ("answer", "send"),
    [
        ({"bulkId": "b", "messages": [{"messageId": "m-1"}]}, "bulk"),  # fewer items than messages
        ({"bulkId": "b", "messages": [{"messageId": "m-2", "reference": "b"}, {"messageId": "m-1"}]}, "bulk"),
        ({"bulkId": "b", "messages": [{"messageId": "m-1"}, {"status": "Queued"}]}, "bulk"),
        ({"status": "Queued"}, "single"),
        (["m-1"], "single"),
    ],
)
def test_answer_that_does_not_match_the_request_is_outcome_unknown(answer, send):
    with raw_server(200, answer) as base_url:
        client = client_for(base_url)
        with pytest.raises(MittoTimeout):
            client.send_bulk([sms(reference="a"), sms(reference="b")]) if send == "bulk" else client.send(sms())


# -- whole request rejected ----------------------------------------------------------------------


def test_wrong_api_key_is_rejected_401(fake):
    client = client_for(fake.base_url, api_key="not-the-key")
    with pytest.raises(MittoRejected) as caught:
        client.send_bulk([sms()])
    assert caught.value.status == 401
    assert caught.value.errors == [{"error": "Unauthorized"}]
    assert fake.received == []


def test_malformed_payload_is_rejected_400_with_mittos_errors(fake, client):
    with pytest.raises(MittoRejected) as caught:
        client.send_bulk([sms(), OutboundSms(destination=PHONE, text=TEXT, sender="")])
    assert caught.value.status == 400
    assert caught.value.errors == [{"index": 1, "message": "Malformed message"}]
    assert fake.received == []


@pytest.mark.parametrize("count", [0, 5001])
def test_bulk_size_outside_1_to_5000_is_value_error_before_any_request(fake, client, count):
    with pytest.raises(ValueError, match="1 to 5000"):
        client.send_bulk([sms(reference=str(n)) for n in range(count)])
    assert fake.requests == 0

    # ... and the fake, like Mitto, refuses what the client would not send.
    message = {"trafficAccountId": "t", "destination": PHONE, "sms": {"text": "x", "sender": "s"}}
    url = f"{fake.base_url}/api/v1.1/Messages/sendmessagesbulk"
    answer = requests.post(url, json={"messages": [message] * count}, headers={"X-Mitto-API-Key": API_KEY}, timeout=5)
    assert answer.status_code == 400


def test_redirects_are_never_followed(fake):
    """requests would resend X-Mitto-API-Key, and the messages, to wherever Location points."""
    location = fake.base_url + "/api/v1.1/Messages/sendmessagesbulk"
    with raw_server(307, Location=location) as base_url, pytest.raises(MittoRejected, match="not followed") as caught:
        client_for(base_url).send_bulk([sms()])
    assert caught.value.status == 307
    assert fake.requests == 0


# -- every call ----------------------------------------------------------------------------------


def test_every_call_has_timeouts_the_key_header_and_no_redirects(fake):
    session = requests.Session()
    session.request = Mock(wraps=session.request)  # type: ignore[method-assign]
    client = client_for(fake.base_url, session=session, connect_timeout=1.5, read_timeout=4.0)

    client.status(client.send(sms()).message_id or "")
    client.send_bulk([sms()])

    calls = [call.kwargs for call in session.request.call_args_list]
    assert len(calls) == 3
    assert all(call["timeout"] == (1.5, 4.0) for call in calls)
    assert all(call["allow_redirects"] is False for call in calls)
    assert all(call["headers"]["X-Mitto-API-Key"] == API_KEY for call in calls)
    assert fake.connections == 1  # one kept-alive connection for all three


def test_errors_and_logs_never_carry_the_key_phone_numbers_or_texts(fake):
    raised: list[MittoError] = []
    with capture_logs() as logs:
        fail_429, fail_503 = partial(fake.fail_next, 429), partial(fake.fail_next, 503)
        for arrange in (fail_429, fail_503, fake.accept_then_fail_next, fake.timeout_next):
            arrange()
            with pytest.raises(MittoError) as caught:
                client_for(fake.base_url, read_timeout=0.3).send_bulk([sms()])
            raised.append(caught.value)
        for base_url, key in [(fake.base_url, "sk-wrong-key-123"), (f"http://127.0.0.1:{closed_port()}", API_KEY)]:
            with pytest.raises(MittoError) as caught:
                client_for(base_url, api_key=key).send(sms())
            raised.append(caught.value)
        client = client_for(fake.base_url)
        client.send_bulk([sms()])

    assert len(raised) == 6
    everything = " ".join(f"{exc!s} {exc!r}" for exc in raised) + repr(logs) + repr(sms()) + repr(client.settings)
    for secret in (API_KEY, "sk-wrong-key-123", PHONE, PHONE[1:], TEXT):
        assert secret not in everything
    assert any(entry["event"] == "mitto_bulk_submitted" and entry["count"] == 1 for entry in logs)


def test_settings_from_config_and_their_checks():
    config = {"MITTO_API_KEY": "k", "MITTO_TRAFFIC_ACCOUNT_ID": "t", "MITTO_BASE_URL": None}
    assert MittoSettings.from_config(config).base_url == "https://messaging.mittoapi.com"
    trailing_slash = MittoSettings(api_key="k", base_url="http://127.0.0.1:9/", traffic_account_id="t")
    assert trailing_slash.base_url == "http://127.0.0.1:9"
    with pytest.raises(ValueError, match="MITTO_API_KEY"):
        MittoSettings.from_config({"MITTO_TRAFFIC_ACCOUNT_ID": "t"})
    with pytest.raises(ValueError, match="MITTO_TRAFFIC_ACCOUNT_ID"):
        MittoSettings.from_config({"MITTO_API_KEY": "k"})
    with pytest.raises(ValueError, match="without a path"):
        MittoSettings(api_key="k", base_url="https://messaging.mittoapi.com/api/v1.1", traffic_account_id="t")


# -- backends ------------------------------------------------------------------------------------


def test_mask_phone_keeps_country_code_and_last_four_digits():
    assert mask_phone("+14155550142") == "+1******0142"
    assert mask_phone("+306912345678") == "+30******5678"
    assert mask_phone("+447700900123") == "+44******0123"
    for invalid in ("14155550142", "+1 415 555 0142", "+999123456789", "+12345", ""):
        assert mask_phone(invalid) == "***"


def test_console_backend_logs_a_masked_destination_and_returns_ids():
    backend = ConsoleBackend()
    with capture_logs() as logs:
        bulk = backend.send_bulk([sms(reference="a"), sms("+306912345678", reference="b")])
        single = backend.send(sms(reference="c"))

    assert (bulk.bulk_id or "").startswith("console-bulk-")
    assert [item.reference for item in bulk.results] == ["a", "b"]
    assert all((item.message_id or "").startswith("console-") for item in [*bulk.results, single])
    assert [entry["destination"] for entry in logs] == ["+1******0142", "+30******5678", "+1******0142"]
    assert logs[0]["length"] == len(TEXT)
    assert PHONE not in repr(logs)
    assert TEXT not in repr(logs)


@pytest.mark.parametrize(("app_env", "shown"), [("development", True), ("test", False), ("production", False)])
def test_console_backend_shows_the_whole_text_in_development_only(capsys, app_env, shown):
    """A developer must see the links texted to shoppers; elsewhere the text stays out of
    every output (the log line carries its length only)."""
    text = "Demo Shop: tap https://demo-shop.myshopify.com/apps/sms/confirm?t=eyJjIjoxfQ.aXy.Kq to confirm"
    backend = build_backend({"SMS_BACKEND": "console", "APP_ENV": app_env})
    with capture_logs() as logs:
        backend.send(sms(text=text))
        backend.send_bulk([sms(text=text), sms("+306912345678", text=text)])
    printed = capsys.readouterr()
    assert printed.err.count(text) == (3 if shown else 0)
    assert text not in printed.out
    assert text not in repr(logs)
    assert [entry["length"] for entry in logs] == [len(text)] * 3
    assert PHONE not in printed.err + printed.out  # the destination stays masked even so
    if shown:
        assert "to +1******0142 from Blossom" in printed.err


def test_memory_backend_records_what_it_accepted_and_its_knobs_fail_like_mitto():
    backend = MemoryBackend()
    bulk = backend.send_bulk([sms(reference="a"), sms(reference="b")])
    assert [item.message_id for item in bulk.results] == ["mem-1", "mem-2"]
    assert [message.reference for message in backend.sent] == ["a", "b"]
    with pytest.raises(ValueError, match="1 to 5000"):
        backend.send_bulk([])
    backend.reset()

    backend.fail_with = MittoRateLimited("slow down", retry_after=2.0)
    with pytest.raises(MittoRateLimited):
        backend.send_bulk([sms()])
    assert backend.sent == []
    assert backend.fail_with is None

    backend.fail_after_accept = MittoTimeout("answer lost")
    with pytest.raises(MittoTimeout):
        backend.send(sms(reference="lost"))
    assert [message.reference for message in backend.sent] == ["lost"]

    backend.reject_destinations.add("+14155550199")
    result = backend.send_bulk([sms("+14155550199", reference="x"), sms(reference="y")])
    assert [(item.message_id, item.error_code) for item in result.results] == [(None, "rejected"), ("mem-4", None)]
    assert [message.reference for message in backend.sent] == ["lost", "y"]

    backend.reset()
    assert backend.sent == []
    assert backend.reject_destinations == set()


def test_memory_backend_is_thread_safe():
    backend = MemoryBackend()
    threads = [threading.Thread(target=lambda: [backend.send(sms()) for _ in range(200)]) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(backend.sent) == 1600
    assert backend.send(sms()).message_id == "mem-1601"


def test_build_backend_picks_the_class_by_sms_backend(fake):
    mitto_config = {"SMS_BACKEND": "mitto", "MITTO_API_KEY": API_KEY, "MITTO_TRAFFIC_ACCOUNT_ID": TRAFFIC_ACCOUNT}
    mitto_config["MITTO_BASE_URL"] = fake.base_url
    backends = {
        "console": build_backend({"SMS_BACKEND": "console"}),
        "memory": build_backend({"SMS_BACKEND": "memory"}),
        "mitto": build_backend(mitto_config),
    }

    assert set(backends) == set(SMS_BACKENDS)
    assert isinstance(backends["console"], ConsoleBackend)
    assert isinstance(backends["memory"], MemoryBackend)
    assert isinstance(backends["mitto"], MittoBackend)
    assert backends["mitto"].send_bulk([sms()]).results[0].message_id == fake.received[0]["messageId"]
    assert all(isinstance(backend, SmsBackend) and backend.name == name for name, backend in backends.items())
    assert build_backend({"SMS_BACKEND": "memory"}) is not backends["memory"]  # the caller caches it
    with pytest.raises(ValueError, match="SMS_BACKEND"):
        build_backend({"SMS_BACKEND": "carrier-pigeon"})
    with pytest.raises(ValueError, match="MITTO_API_KEY"):
        build_backend({"SMS_BACKEND": "mitto"})
