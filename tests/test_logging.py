from __future__ import annotations

import json
import logging
import warnings

import pytest
import structlog

from shopify_app.logging import configure_logging, scrub, scrub_text

from .processes import gunicorn_config

SECRET_SAMPLES = {
    "phone": "+14155550142",
    "email": "shopper@example.com",
    "token": "shpat_0123456789abcdef0123456789abcdef",
    "jwt": "eyJhbGciOiJIUzI1NiJ9.eyJkZXN0IjoiaHR0cHM6Ly9hLm15c2hvcGlmeS5jb20ifQ.c2lnbmF0dXJl",
}


def test_request_id_is_generated_and_echoed(client):
    response = client.get("/health")
    request_id = response.headers["X-Request-ID"]
    assert len(request_id) == 36


def test_a_well_formed_client_request_id_is_kept(client):
    assert client.get("/health", headers={"X-Request-ID": "lb-abc.123_x"}).headers["X-Request-ID"] == "lb-abc.123_x"


@pytest.mark.parametrize("bad", ["has space", "x" * 129, "<script>", "a;b", ""])
def test_a_malformed_client_request_id_is_replaced(client, bad):
    echoed = client.get("/health", headers={"X-Request-ID": bad}).headers["X-Request-ID"]
    assert echoed != bad
    assert len(echoed) == 36


def test_request_id_is_bound_to_every_log_line_of_the_request(client, capsys):
    client.get("/health", headers={"X-Request-ID": "trace-me-42"})
    lines = [line for line in capsys.readouterr().err.splitlines() if "path=/health" in line]
    assert lines
    assert all("trace-me-42" in line for line in lines)


def test_scrub_text_masks_phones_emails_tokens_and_query_strings():
    text = (
        "sent to +1 415 555 0142 and (415) 555-0142 for shopper@example.com with Bearer abc.def.ghi "
        "token shpat_abcdef123456 at GET /proxy/subscribe?shop=a.myshopify.com&signature=deadbeef&phone=%2B1415"
    )
    cleaned = scrub_text(text)
    for leaked in ("555", "shopper@example.com", "abc.def.ghi", "shpat_abcdef", "signature=", "deadbeef"):
        assert leaked not in cleaned
    assert "/proxy/subscribe?[redacted]" in cleaned


def test_scrub_keeps_ordinary_numbers_and_paths():
    assert scrub_text("processed 500 messages in 12 ms on /health/ready") == (
        "processed 500 messages in 12 ms on /health/ready"
    )


def test_scrub_redacts_sensitive_keys_recursively():
    event = {"shop_id": 7, "access_token": "x", "customer": {"phone": "+14155550142", "tags": ["vip"]}}
    assert scrub(event) == {
        "shop_id": 7,
        "access_token": "[redacted]",
        "customer": {"phone": "[redacted]", "tags": ["vip"]},
    }


def _log_everything(logger_name: str) -> None:
    log = structlog.get_logger(logger_name)
    log.info("structlog_line", phone=SECRET_SAMPLES["phone"], note=f"mail {SECRET_SAMPLES['email']}")
    log.info(f"jwt {SECRET_SAMPLES['jwt']} token {SECRET_SAMPLES['token']}")
    logging.getLogger("werkzeug").info(
        '127.0.0.1 - - "GET /proxy/subscribe?shop=a.myshopify.com&signature=abc123&phone=%2B14155550142 HTTP/1.1" 200 -'
    )
    logging.getLogger("rq.worker").info("job for %s", SECRET_SAMPLES["phone"])


@pytest.mark.parametrize("json_output", [True, False])
def test_no_secret_or_pii_reaches_the_log_output(capsys, json_output):
    configure_logging(level="DEBUG", json_output=json_output)
    _log_everything("shopify_app.test")
    err = capsys.readouterr().err
    assert "structlog_line" in err
    assert "/proxy/subscribe?[redacted]" in err
    for value in SECRET_SAMPLES.values():
        assert value not in err
    assert "5550142" not in err
    assert "signature=abc123" not in err
    if json_output:
        assert all(json.loads(line) for line in err.splitlines())


@pytest.mark.parametrize("json_output", [True, False])
def test_a_logged_exception_keeps_its_traceback_scrubbed_and_warns_of_nothing(capsys, json_output):
    """The traceback is rendered to text before the scrubber (format_exc_info), and the console
    renderer takes that text as it is: no "Remove `format_exc_info`" warning, no second,
    unscrubbed rendering."""
    configure_logging(level="DEBUG", json_output=json_output)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        try:
            raise ValueError(f"no route to {SECRET_SAMPLES['phone']} for {SECRET_SAMPLES['email']}")
        except ValueError:
            structlog.get_logger("shopify_app.test").exception("send_failed")
            logging.getLogger("rq.worker").exception("job failed")
    assert [str(warning.message) for warning in caught] == []
    err = capsys.readouterr().err
    assert err.count("Traceback (most recent call last)") == 2
    assert err.count("ValueError: no route to [phone] for [email]") == 2
    for value in SECRET_SAMPLES.values():
        assert value not in err


def test_request_logs_carry_the_path_but_never_the_query_string(client, capsys):
    client.get("/health?shop=a.myshopify.com&signature=deadbeef&phone=%2B14155550142")
    err = capsys.readouterr().err
    assert "path=/health" in err
    assert "deadbeef" not in err
    assert "14155550142" not in err


MITTO_SECRET = "mitto-path-secret-0123456789abcdef"


@pytest.mark.parametrize("kind", ["dlr", "inbound"])
def test_the_mitto_path_secret_never_reaches_the_apps_log_lines(make_app, capsys, kind):
    app = make_app(MITTO_WEBHOOK_SECRET=MITTO_SECRET)
    client = app.test_client()
    client.post(f"/mitto/{kind}/{MITTO_SECRET}", json={"bogus": True}, headers={"X-Request-ID": "trace-mitto"})
    client.post(f"/mitto/{kind}/{MITTO_SECRET}x", json=[])  # a near miss is a secret too
    logging.getLogger("werkzeug").info('127.0.0.1 - - "POST /mitto/%s/%s HTTP/1.1" 202 -', kind, MITTO_SECRET)
    err = capsys.readouterr().err
    assert f"path=/mitto/{kind}/[redacted]" in err
    assert "trace-mitto" in err
    assert MITTO_SECRET not in err
    assert scrub_text(f"POST https://app.example/mitto/{kind}/{MITTO_SECRET}?x=1") == (
        f"POST https://app.example/mitto/{kind}/[redacted]?[redacted]"
    )


def _gunicorn_logger(project_root, access_log_format: str | None = None):
    """The logger gunicorn builds from gunicorn.conf.py, as `gunicorn -c gunicorn.conf.py` does."""
    cfg = gunicorn_config(project_root)
    if access_log_format is not None:
        cfg.set("access_log_format", access_log_format)
    return cfg.logger_class(cfg)


@pytest.mark.parametrize("access_log_format", [None, "%(r)s %(U)s %({raw_uri}e)s %({path_info}e)s"])
def test_gunicorns_access_log_never_shows_the_mitto_path_secret(project_root, capsys, access_log_format):
    from datetime import timedelta
    from types import SimpleNamespace

    logger = _gunicorn_logger(project_root, access_log_format)
    path = f"/mitto/dlr/{MITTO_SECRET}"
    environ = {
        "REQUEST_METHOD": "POST",
        "RAW_URI": path,
        "PATH_INFO": path,
        "QUERY_STRING": "",
        "SERVER_PROTOCOL": "HTTP/1.1",
        "REMOTE_ADDR": "10.0.0.9",
    }
    response = SimpleNamespace(status="202 ACCEPTED", sent=31, headers=[("X-Request-ID", "rid-1")])
    try:
        logger.access(response, SimpleNamespace(headers=[]), environ, timedelta(milliseconds=4))
    finally:
        access = logging.getLogger("gunicorn.access")
        access.handlers.clear()
        access.propagate = True
    out = capsys.readouterr().out
    assert "/mitto/dlr/[redacted]" in out
    assert MITTO_SECRET not in out
    if access_log_format is None:
        assert '"POST /mitto/dlr/[redacted]" 202 31 4ms rid=rid-1' in out
