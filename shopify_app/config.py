"""Configuration: the only module that reads the environment.

`load_config()` is called by every `create_app()` (never at import time), so tests can build
apps with different environments. Production refuses to start while any required variable is
missing or still holds a development value; the message names every offending variable.
"""

from __future__ import annotations

import base64
import hashlib
import os
import re
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

from flask import current_app
from sqlalchemy.engine import make_url

from .smtp_settings import smtp_settings

# Development keys are derived from fixed, public strings: stable across restarts (so data
# encrypted on a laptop stays readable) and unmistakably insecure. Production rejects them.
DEV_KEY_ID = "dev-insecure"
DEV_ENCRYPTION_KEY = base64.b64encode(hashlib.sha256(b"sms-blossom dev-insecure encryption").digest()).decode()
DEV_BLIND_INDEX_KEY = base64.b64encode(hashlib.sha256(b"sms-blossom dev-insecure blind index").digest()).decode()
DEV_API_SECRET = "dev-insecure-shopify-api-secret-0123456789abcdef"  # noqa: S105 (public on purpose)
DEV_SECRET_KEY = "dev-insecure-flask-secret-key-0123456789abcdef"  # noqa: S105 (public on purpose)
# The Mitto callbacks' path secret in development when none is set, so delivery reports and
# replies can be played locally (`flask dev dlr`, `flask dev reply`).
DEV_MITTO_WEBHOOK_SECRET = "dev-insecure-mitto-webhook-secret"  # noqa: S105 (public on purpose)

QUEUE_NAMES = ("default", "campaigns", "webhooks", "automations", "housekeeping")
SMS_BACKENDS = ("mitto", "console", "memory")
PROJECT_ROOT = Path(__file__).resolve().parent.parent


class ConfigError(RuntimeError):
    """Raised at start-up when the configuration is unusable; lists every problem at once."""

    def __init__(self, problems: list[str]):
        self.problems = problems
        lines = "\n".join(f"  - {problem}" for problem in problems)
        super().__init__(f"Invalid configuration ({len(problems)} problem(s)):\n{lines}")


def _int(name: str, default: int, *, minimum: int = 0, maximum: int | None = None) -> Callable[[str | None], int]:
    def parse(raw: str | None) -> int:
        if raw is None or raw.strip() == "":
            return default
        try:
            value = int(raw)
        except ValueError:
            raise ValueError(f"{name} must be an integer, got {raw!r}") from None
        if value < minimum or (maximum is not None and value > maximum):
            bound = f"between {minimum} and {maximum}" if maximum is not None else f">= {minimum}"
            raise ValueError(f"{name} must be {bound}, got {value}")
        return value

    return parse


def _float(name: str, default: float) -> Callable[[str | None], float]:
    def parse(raw: str | None) -> float:
        if raw is None or raw.strip() == "":
            return default
        try:
            value = float(raw)
        except ValueError:
            raise ValueError(f"{name} must be a number, got {raw!r}") from None
        if value < 0:
            raise ValueError(f"{name} must be >= 0, got {value}")
        return value

    return parse


def _str(default: str | None) -> Callable[[str | None], str | None]:
    def parse(raw: str | None) -> str | None:
        return default if raw is None or raw.strip() == "" else raw.strip()

    return parse


def parse_encryption_keys(raw: str) -> dict[str, bytes]:
    """Parse `kid:base64key,kid2:base64key`; the first key encrypts, all decrypt."""
    keys: dict[str, bytes] = {}
    for part in (p.strip() for p in raw.split(",") if p.strip()):
        kid, sep, encoded = part.partition(":")
        if not sep or not re.fullmatch(r"[A-Za-z0-9_-]{1,32}", kid):
            raise ValueError("ENCRYPTION_KEYS entries must look like kid:base64key (kid: letters, digits, - or _)")
        try:
            key = base64.b64decode(encoded, validate=True)
        except ValueError:
            raise ValueError(f"ENCRYPTION_KEYS key {kid!r} is not valid base64") from None
        if len(key) != 32:
            raise ValueError(f"ENCRYPTION_KEYS key {kid!r} must decode to 32 bytes (AES-256), got {len(key)}")
        if kid in keys:
            raise ValueError(f"ENCRYPTION_KEYS key id {kid!r} appears twice")
        keys[kid] = key
    if not keys:
        raise ValueError("ENCRYPTION_KEYS is empty")
    return keys


def _decode_blind_index_key(raw: str) -> bytes:
    try:
        key = base64.b64decode(raw, validate=True)
    except ValueError:
        raise ValueError("BLIND_INDEX_KEY is not valid base64") from None
    if len(key) < 32:
        raise ValueError(f"BLIND_INDEX_KEY must decode to at least 32 bytes, got {len(key)}")
    return key


def _default_database_url() -> str:
    instance = PROJECT_ROOT / "instance"
    return f"sqlite:///{instance / 'sms_blossom.sqlite3'}"


# name -> parser(raw env value or None) -> config value. Every variable in the README is here.
_SETTINGS: dict[str, Callable[[str | None], Any]] = {
    "APP_ENV": _str("development"),
    "SECRET_KEY": _str(DEV_SECRET_KEY),
    "SHOPIFY_API_KEY": _str("dev-api-key"),
    "SHOPIFY_API_SECRET": _str(DEV_API_SECRET),
    "SHOPIFY_API_SECRET_PREVIOUS": _str(None),
    "SHOPIFY_SCOPES": _str(
        "read_customers,write_customers,read_orders,read_fulfillments,read_inventory,write_discounts,read_products,"
        "write_pixels,read_customer_events"
    ),
    "SHOPIFY_APP_URL": _str("http://127.0.0.1:8000"),
    "SHOPIFY_API_VERSION": _str("2026-10"),
    "SHOPIFY_ADMIN_BASE_URL": _str("https://{shop}"),
    # 1: our SMS consent changes are sent to the Shopify customers (services/shopify_consent.py);
    # 0: recorded nowhere, sent nowhere (the test suite, whose shops have no Shopify behind them).
    "SHOPIFY_CONSENT_SYNC": _int("SHOPIFY_CONSENT_SYNC", 1, maximum=1),
    # 1: an install (or reinstall) starts the import of Shopify's SMS subscribers as a job
    # (services/shopify_import.py); 0: only the merchant's "Import from Shopify" starts it.
    "SHOPIFY_IMPORT_ON_INSTALL": _int("SHOPIFY_IMPORT_ON_INSTALL", 1, maximum=1),
    "DATABASE_URL": _str(None),
    "DATABASE_ADMIN_URL": _str(None),
    "REDIS_URL": _str(None),
    "ENCRYPTION_KEYS": _str(f"{DEV_KEY_ID}:{DEV_ENCRYPTION_KEY}"),
    "BLIND_INDEX_KEY": _str(DEV_BLIND_INDEX_KEY),
    "MITTO_API_KEY": _str(None),
    "MITTO_BASE_URL": _str("https://messaging.mittoapi.com"),
    "MITTO_TRAFFIC_ACCOUNT_ID": _str(None),
    "MITTO_WEBHOOK_SECRET": _str(None),
    "DLR_POLL_AFTER_MINUTES": _int("DLR_POLL_AFTER_MINUTES", 120, minimum=1),
    "MITTO_READ_TIMEOUT_SECONDS": _float("MITTO_READ_TIMEOUT_SECONDS", 15.0),
    "SMS_BACKEND": _str("console"),
    "SMS_DEFAULT_SENDER": _str("SMSBlossom"),
    "APP_PROXY_PATH": _str("/apps/sms"),
    # Hosts every shop's texted links may point to besides its own (e.g. carriers' tracking pages).
    "SHORT_LINK_HOSTS": _str("www.ups.com,www.fedex.com,tools.usps.com,www.dhl.com"),
    # 0: an image campaign's US/CA recipients get an SMS with the image's link, like everyone else.
    "MMS_ENABLED": _int("MMS_ENABLED", 1, minimum=0, maximum=1),
    "REPORT_CACHE_SECONDS": _int("REPORT_CACHE_SECONDS", 600, minimum=0),
    # A statement waiting this long for a row lock fails instead of hanging (0 = wait forever):
    # two connections of one session (app and admin roles) waiting on each other are a deadlock
    # PostgreSQL cannot see.
    "DATABASE_LOCK_TIMEOUT_MS": _int("DATABASE_LOCK_TIMEOUT_MS", 30_000, minimum=0),
    "ATTRIBUTION_CLICK_HOURS": _int("ATTRIBUTION_CLICK_HOURS", 120, minimum=1, maximum=24 * 90),
    "ATTRIBUTION_VIEW_HOURS": _int("ATTRIBUTION_VIEW_HOURS", 24, minimum=0, maximum=24 * 30),
    "CIRCUIT_FAILURE_THRESHOLD": _int("CIRCUIT_FAILURE_THRESHOLD", 5, minimum=1),
    "CIRCUIT_COOLDOWN_SECONDS": _float("CIRCUIT_COOLDOWN_SECONDS", 30.0),
    "SMS_BATCH_SIZE": _int("SMS_BATCH_SIZE", 500, minimum=1, maximum=5000),
    "SEND_RATE_PER_ACCOUNT": _float("SEND_RATE_PER_ACCOUNT", 100.0),
    "SEND_RATE_PER_SHOP": _float("SEND_RATE_PER_SHOP", 50.0),
    "LOG_LEVEL": _str("INFO"),
    "SENTRY_DSN": _str(None),
    "TRIAL_CREDITS": _int("TRIAL_CREDITS", 100),
    # A shop's campaign tests to the merchant's own phone per shop-local day (services/test_sends.py).
    "TEST_SENDS_PER_DAY": _int("TEST_SENDS_PER_DAY", 10, minimum=1, maximum=1000),
    "OPERATOR_TOKEN": _str(None),
    # Runs a job gets before it is parked in its queue's failed registry (1 = no retry).
    "JOB_MAX_ATTEMPTS": _int("JOB_MAX_ATTEMPTS", 4, minimum=1, maximum=10),
    "METRICS_TOKEN": _str(None),
    # prometheus_client reads this itself at import; the app reads it here to pick the collector.
    "PROMETHEUS_MULTIPROC_DIR": _str(None),
    "ALERT_WEBHOOK_URL": _str(None),
    # Low-balance emails (services/billing/spend_email.py): smtps://user:pass@host:465, smtp+starttls://
    # user:pass@host:587, or smtp://host:port (no TLS: a local relay only). Unset: the banner only.
    "SMTP_URL": _str(None),
    "SMTP_FROM": _str("SMS Blossom <no-reply@localhost>"),
    "ALERT_COOLDOWN_SECONDS": _int("ALERT_COOLDOWN_SECONDS", 900, minimum=1),
    "ALERT_FAILED_JOBS_THRESHOLD": _int("ALERT_FAILED_JOBS_THRESHOLD", 10, minimum=1),
    "TRUSTED_PROXY_COUNT": _int("TRUSTED_PROXY_COUNT", 0, maximum=10),
    "MAX_CONTENT_LENGTH": _int("MAX_CONTENT_LENGTH", 1024 * 1024, minimum=1024),
    # Embedded API requests per minute, per shop and per client address (0 = no limit).
    "API_RATE_PER_SHOP": _int("API_RATE_PER_SHOP", 600),
    "API_RATE_PER_IP": _int("API_RATE_PER_IP", 1200),
    "SIGNATURE_MAX_AGE_SECONDS": _int("SIGNATURE_MAX_AGE_SECONDS", 90, minimum=1),
    # Web pixel reports (POST /pixel/events) per minute, per shop and per shopper (token or customer).
    "PIXEL_RATE_PER_SHOP": _int("PIXEL_RATE_PER_SHOP", 1200, minimum=1),
    "PIXEL_RATE_PER_VISITOR": _int("PIXEL_RATE_PER_VISITOR", 30, minimum=1),
    "SCHEDULER_INTERVAL_SECONDS": _float("SCHEDULER_INTERVAL_SECONDS", 5.0),
}


def load_config(overrides: Mapping[str, Any] | None = None, environ: Mapping[str, str] | None = None) -> dict[str, Any]:
    """Read the environment (or `environ`), apply `overrides`, validate, and return a dict.

    Overrides are trusted values from code (tests, scripts); they win over the environment and
    are validated like everything else.
    """
    env = os.environ if environ is None else environ
    overrides = dict(overrides or {})
    problems: list[str] = []
    config: dict[str, Any] = {}
    for name, parse in _SETTINGS.items():
        try:
            config[name] = parse(env.get(name))
        except ValueError as exc:
            problems.append(str(exc))
    config.update(overrides)

    config["APP_ENV"] = str(config["APP_ENV"]).lower()
    if config["APP_ENV"] not in ("development", "test", "production"):
        problems.append(f"APP_ENV must be development, test or production, got {config['APP_ENV']!r}")
    is_production = config["APP_ENV"] == "production"
    if config["APP_ENV"] == "development" and not config.get("MITTO_WEBHOOK_SECRET"):
        config["MITTO_WEBHOOK_SECRET"] = DEV_MITTO_WEBHOOK_SECRET
    for name in ("SHOPIFY_CONSENT_SYNC", "SHOPIFY_IMPORT_ON_INSTALL"):
        if not is_production and not (env.get(name) or "").strip() and name not in overrides:
            # Off unless asked for outside production: a development shop's offline token is not
            # one Shopify issued, and a refused call marks the shop for re-authorisation (README).
            config[name] = 0

    problems.extend(_database_settings(config))

    if config["SMS_BACKEND"] not in SMS_BACKENDS:
        problems.append(f"SMS_BACKEND must be one of {', '.join(SMS_BACKENDS)}, got {config['SMS_BACKEND']!r}")
    if config["LOG_LEVEL"].upper() not in ("DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL"):
        problems.append(f"LOG_LEVEL must be DEBUG, INFO, WARNING, ERROR or CRITICAL, got {config['LOG_LEVEL']!r}")
    config["LOG_LEVEL"] = config["LOG_LEVEL"].upper()

    try:
        config["ENCRYPTION_KEYRING"] = parse_encryption_keys(config["ENCRYPTION_KEYS"])
    except ValueError as exc:
        problems.append(str(exc))
    try:
        config["BLIND_INDEX_KEY_BYTES"] = _decode_blind_index_key(config["BLIND_INDEX_KEY"])
    except ValueError as exc:
        problems.append(str(exc))

    problems.extend(smtp_settings(config, is_production))

    # Jobs run in the enqueuing process when there is no Redis to hand them to a worker.
    config.setdefault("QUEUE_ASYNC", bool(config["REDIS_URL"]))
    config["JSON_SORT_KEYS"] = False
    config["PREFERRED_URL_SCHEME"] = "https" if is_production else "http"
    config["SESSION_COOKIE_SECURE"] = is_production
    config["SQLALCHEMY_TRACK_MODIFICATIONS"] = False

    if is_production:
        problems.extend(production_problems(config))
    if problems:
        raise ConfigError(problems)
    return config


def production_problems(config: Mapping[str, Any]) -> list[str]:
    """Everything that makes a configuration unsafe to serve real shops with."""
    problems: list[str] = []
    required = (
        "SHOPIFY_API_KEY",
        "SHOPIFY_API_SECRET",
        "SHOPIFY_APP_URL",
        "SECRET_KEY",
        "ENCRYPTION_KEYS",
        "BLIND_INDEX_KEY",
        "REDIS_URL",
        "MITTO_WEBHOOK_SECRET",
        "OPERATOR_TOKEN",
        # Without it /metrics answers anyone: queue depths, send volumes and error rates are
        # the operator's business, and an open scrape endpoint is a cheap load amplifier.
        "METRICS_TOKEN",
    )
    for name in required:
        if not config.get(name):
            problems.append(f"{name} is required in production")
    dev_values = {
        "SHOPIFY_API_KEY": "dev-api-key",
        "SHOPIFY_API_SECRET": DEV_API_SECRET,
        "SECRET_KEY": DEV_SECRET_KEY,
        "BLIND_INDEX_KEY": DEV_BLIND_INDEX_KEY,
        "MITTO_WEBHOOK_SECRET": DEV_MITTO_WEBHOOK_SECRET,
    }
    for name, dev_value in dev_values.items():
        if config.get(name) == dev_value:
            problems.append(f"{name} still holds the insecure development value")
    keyring = config.get("ENCRYPTION_KEYRING") or {}
    if DEV_KEY_ID in keyring or DEV_ENCRYPTION_KEY in str(config.get("ENCRYPTION_KEYS", "")):
        problems.append("ENCRYPTION_KEYS contains the insecure development key")
    problems.extend(_production_database_problems(config))
    if config.get("SMS_BACKEND") == "mitto":
        for name in ("MITTO_API_KEY", "MITTO_TRAFFIC_ACCOUNT_ID"):
            if not config.get(name):
                problems.append(f"{name} is required when SMS_BACKEND=mitto")
    elif config.get("SMS_BACKEND") == "memory":
        problems.append("SMS_BACKEND=memory is for tests only")
    if not str(config.get("SHOPIFY_APP_URL", "")).startswith("https://"):
        problems.append("SHOPIFY_APP_URL must be an https:// URL in production")
    secret = config.get("SHOPIFY_API_SECRET") or ""
    if secret and len(secret) < 32:
        problems.append("SHOPIFY_API_SECRET looks truncated (shorter than 32 characters)")
    return problems


def current_config() -> Mapping[str, Any]:
    """The running app's configuration, for code that must not import Flask (services)."""
    return current_app.config


def _production_database_problems(config: Mapping[str, Any]) -> list[str]:
    if str(config.get("DATABASE_URL", "")).startswith("sqlite"):
        return ["DATABASE_URL must point at PostgreSQL in production, not SQLite"]
    if not config.get("DATABASE_ADMIN_URL"):
        return [
            "DATABASE_ADMIN_URL is required in production: DATABASE_URL's role is walled by row-level "
            "security, the admin role runs migrations and cross-shop jobs"
        ]
    if _role_of(config["DATABASE_ADMIN_URL"]) == _role_of(config["DATABASE_URL"]):
        return ["DATABASE_ADMIN_URL must log in as another role than DATABASE_URL (one that bypasses RLS)"]
    return []


def _role_of(url: str) -> str | None:
    return make_url(url).username


def _database_settings(config: dict[str, Any]) -> list[str]:
    """SQLAlchemy's URL, engine options and binds from DATABASE_URL / DATABASE_ADMIN_URL."""
    if not config.get("DATABASE_URL"):
        config["DATABASE_URL"] = _default_database_url()
    config["DATABASE_URL"] = _normalise_database_url(config["DATABASE_URL"])
    config["SQLALCHEMY_DATABASE_URI"] = config["DATABASE_URL"]
    lock_timeout = int(config.get("DATABASE_LOCK_TIMEOUT_MS") or 0)
    config.setdefault("SQLALCHEMY_ENGINE_OPTIONS", _engine_options(config["DATABASE_URL"], lock_timeout))
    if not config.get("DATABASE_ADMIN_URL"):
        return []
    # The owner role for migrations and cross-shop work (shopify_app/tenancy.py).
    admin_url = config["DATABASE_ADMIN_URL"] = _normalise_database_url(config["DATABASE_ADMIN_URL"])
    if _database_of(admin_url) != _database_of(config["DATABASE_URL"]):
        return ["DATABASE_ADMIN_URL must name the same database (host, port, name) as DATABASE_URL"]
    if admin_url != config["DATABASE_URL"]:
        config.setdefault("SQLALCHEMY_BINDS", {"admin": {"url": admin_url, **_engine_options(admin_url, lock_timeout)}})
    return []


def _database_of(url: str) -> tuple[str, str | None, int | None, str | None]:
    parsed = make_url(url)
    return parsed.get_backend_name(), parsed.host, parsed.port, parsed.database


def _normalise_database_url(url: str) -> str:
    # Heroku-style and bare postgres URLs get the psycopg 3 driver SQLAlchemy should use.
    for prefix in ("postgres://", "postgresql://"):
        if url.startswith(prefix):
            return "postgresql+psycopg://" + url[len(prefix) :]
    return url


def _engine_options(url: str, lock_timeout_ms: int = 0) -> dict[str, Any]:
    if url.startswith("sqlite"):
        # Waits instead of failing when the web process and the scheduler write at once.
        return {"connect_args": {"timeout": 15}}
    # No pool_pre_ping: dbpool.ping_when_idle pings only connections that sat idle a while.
    options: dict[str, Any] = {"pool_size": 5, "max_overflow": 10, "pool_recycle": 1800}
    if lock_timeout_ms:
        options["connect_args"] = {"options": f"-c lock_timeout={int(lock_timeout_ms)}"}
    return options
