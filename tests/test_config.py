from __future__ import annotations

import base64
import os

import pytest

from shopify_app import create_app
from shopify_app.config import DEV_KEY_ID, DEV_MITTO_WEBHOOK_SECRET, ConfigError, load_config

PRODUCTION_ENV = {
    "APP_ENV": "production",
    "SECRET_KEY": "s" * 48,
    "SHOPIFY_API_KEY": "prod-api-key",
    "SHOPIFY_API_SECRET": "p" * 40,
    "SHOPIFY_APP_URL": "https://sms.example.com",
    "DATABASE_URL": "postgresql://app@db.internal/sms",
    "DATABASE_ADMIN_URL": "postgresql://owner@db.internal/sms",
    "REDIS_URL": "redis://cache.internal:6379/0",
    "ENCRYPTION_KEYS": "k2025:" + base64.b64encode(b"\x01" * 32).decode(),
    "BLIND_INDEX_KEY": base64.b64encode(b"\x02" * 32).decode(),
    "MITTO_WEBHOOK_SECRET": "w" * 32,
    "OPERATOR_TOKEN": "o" * 32,
    "METRICS_TOKEN": "m" * 32,
    "SMS_BACKEND": "console",
}


def test_development_defaults_need_no_environment():
    config = load_config(environ={})
    assert config["APP_ENV"] == "development"
    assert config["DATABASE_URL"].startswith("sqlite:///")
    assert config["DATABASE_URL"].endswith("instance/sms_blossom.sqlite3")
    assert config["REDIS_URL"] is None
    assert config["QUEUE_ASYNC"] is False
    assert config["SMS_BACKEND"] == "console"
    assert DEV_KEY_ID in config["ENCRYPTION_KEYRING"]
    assert len(config["ENCRYPTION_KEYRING"][DEV_KEY_ID]) == 32


def test_environment_is_read_at_each_call_not_at_import(monkeypatch):
    monkeypatch.setenv("SMS_BATCH_SIZE", "750")
    assert load_config()["SMS_BATCH_SIZE"] == 750
    monkeypatch.setenv("SMS_BATCH_SIZE", "250")
    assert load_config()["SMS_BATCH_SIZE"] == 250


def test_redis_url_makes_queues_asynchronous():
    assert load_config(environ={"REDIS_URL": "redis://127.0.0.1:6379/3"})["QUEUE_ASYNC"] is True


def test_bare_postgres_urls_get_the_psycopg3_driver():
    config = load_config(environ={"DATABASE_URL": "postgres://u@h/db"})
    assert config["SQLALCHEMY_DATABASE_URI"] == "postgresql+psycopg://u@h/db"


def test_complete_production_environment_is_accepted():
    config = load_config(environ=PRODUCTION_ENV)
    assert config["APP_ENV"] == "production"
    assert config["SESSION_COOKIE_SECURE"] is True


def test_production_start_up_names_every_missing_or_unsafe_variable():
    with pytest.raises(ConfigError) as excinfo:
        load_config(environ={"APP_ENV": "production"})
    message = str(excinfo.value)
    for expected in (
        "SHOPIFY_API_SECRET still holds the insecure development value",
        "ENCRYPTION_KEYS contains the insecure development key",
        "BLIND_INDEX_KEY still holds the insecure development value",
        "DATABASE_URL must point at PostgreSQL",
        "REDIS_URL is required in production",
        "MITTO_WEBHOOK_SECRET is required in production",
        "SHOPIFY_APP_URL must be an https:// URL",
    ):
        assert expected in message
    assert len(excinfo.value.problems) >= 7


def test_create_app_refuses_production_with_a_missing_secret(monkeypatch):
    for name, value in PRODUCTION_ENV.items():
        monkeypatch.setenv(name, value)
    monkeypatch.delenv("SHOPIFY_API_SECRET")
    with pytest.raises(ConfigError, match="SHOPIFY_API_SECRET still holds the insecure development value"):
        create_app()


def test_development_gives_the_mitto_callbacks_a_documented_secret_and_nothing_else_does():
    assert load_config(environ={})["MITTO_WEBHOOK_SECRET"] == DEV_MITTO_WEBHOOK_SECRET
    assert load_config(environ={"MITTO_WEBHOOK_SECRET": "mine"})["MITTO_WEBHOOK_SECRET"] == "mine"
    assert load_config(environ={"APP_ENV": "test"})["MITTO_WEBHOOK_SECRET"] is None
    with pytest.raises(ConfigError, match="MITTO_WEBHOOK_SECRET still holds the insecure development value"):
        load_config(environ={**PRODUCTION_ENV, "MITTO_WEBHOOK_SECRET": DEV_MITTO_WEBHOOK_SECRET})


def test_production_refuses_to_start_without_a_metrics_token(monkeypatch):
    env = {name: value for name, value in PRODUCTION_ENV.items() if name != "METRICS_TOKEN"}
    with pytest.raises(ConfigError, match="METRICS_TOKEN is required in production"):
        load_config(environ=env)
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    monkeypatch.delenv("METRICS_TOKEN", raising=False)
    with pytest.raises(ConfigError, match="METRICS_TOKEN is required in production"):
        create_app()


@pytest.mark.parametrize(
    ("name", "value", "fragment"),
    [
        ("SMS_BATCH_SIZE", "6000", "SMS_BATCH_SIZE must be between 1 and 5000"),
        ("SMS_BATCH_SIZE", "lots", "SMS_BATCH_SIZE must be an integer"),
        ("SEND_RATE_PER_SHOP", "-1", "SEND_RATE_PER_SHOP must be >= 0"),
        ("SMS_BACKEND", "carrier-pigeon", "SMS_BACKEND must be one of"),
        ("ENCRYPTION_KEYS", "k1:c2hvcnQ=", "must decode to 32 bytes"),
        ("ENCRYPTION_KEYS", "no-colon-here", "kid:base64key"),
        ("BLIND_INDEX_KEY", "!!!", "BLIND_INDEX_KEY is not valid base64"),
        ("LOG_LEVEL", "LOUD", "LOG_LEVEL must be"),
        ("APP_ENV", "staging", "APP_ENV must be"),
    ],
)
def test_invalid_values_fail_with_the_variable_named(name, value, fragment):
    with pytest.raises(ConfigError, match=fragment):
        load_config(environ={name: value})


def test_production_rejects_memory_backend_and_incomplete_mitto():
    with pytest.raises(ConfigError) as excinfo:
        load_config(environ={**PRODUCTION_ENV, "SMS_BACKEND": "mitto"})
    assert "MITTO_API_KEY is required when SMS_BACKEND=mitto" in str(excinfo.value)
    with pytest.raises(ConfigError, match="SMS_BACKEND=memory is for tests only"):
        load_config(environ={**PRODUCTION_ENV, "SMS_BACKEND": "memory"})


def test_config_module_is_the_only_reader_of_the_environment(project_root):
    offenders = []
    for path in [*project_root.joinpath("shopify_app").rglob("*.py"), *project_root.joinpath("jobs").rglob("*.py")]:
        if path.name == "config.py":
            continue
        source = path.read_text()
        if "os.environ" in source or "os.getenv" in source:
            offenders.append(str(path.relative_to(project_root)))
    assert offenders == []
    assert os.environ is not None


def test_production_needs_an_admin_url_on_the_same_database():
    env = {k: v for k, v in PRODUCTION_ENV.items() if k != "DATABASE_ADMIN_URL"}
    with pytest.raises(ConfigError, match="DATABASE_ADMIN_URL is required in production"):
        load_config(environ=env)
    with pytest.raises(ConfigError, match="DATABASE_ADMIN_URL must name the same database"):
        load_config(environ={**PRODUCTION_ENV, "DATABASE_ADMIN_URL": "postgresql://owner@db.internal/other"})
    with pytest.raises(ConfigError, match="must log in as another role"):
        load_config(environ={**PRODUCTION_ENV, "DATABASE_ADMIN_URL": "postgresql://app:other@db.internal/sms"})
    config = load_config(environ=PRODUCTION_ENV)
    assert config["SQLALCHEMY_BINDS"]["admin"]["url"] == "postgresql+psycopg://owner@db.internal/sms"


def test_shopify_consent_sync_is_on_in_production_and_off_elsewhere_unless_asked_for():
    assert load_config(environ=dict(PRODUCTION_ENV))["SHOPIFY_CONSENT_SYNC"] == 1
    assert load_config(environ={})["SHOPIFY_CONSENT_SYNC"] == 0  # development: the demo token is not Shopify's
    assert load_config(environ={"SHOPIFY_CONSENT_SYNC": "1"})["SHOPIFY_CONSENT_SYNC"] == 1
    assert load_config(environ=dict(PRODUCTION_ENV))["SHOPIFY_IMPORT_ON_INSTALL"] == 1
    assert load_config(environ={})["SHOPIFY_IMPORT_ON_INSTALL"] == 0  # the demo shop has no Shopify behind it
    assert load_config(environ={"SHOPIFY_IMPORT_ON_INSTALL": "1"})["SHOPIFY_IMPORT_ON_INSTALL"] == 1
    assert load_config(environ={**PRODUCTION_ENV, "SHOPIFY_CONSENT_SYNC": "0"})["SHOPIFY_CONSENT_SYNC"] == 0
