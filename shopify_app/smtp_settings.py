"""SMTP_URL parsed into the settings the low-balance email uses (config.py reads the variable;
this only checks its shape). No message repeats the URL: it may carry the password."""

from __future__ import annotations

from typing import Any
from urllib.parse import unquote

SMTP_SCHEMES = {"smtp": 25, "smtp+starttls": 587, "smtps": 465}


def smtp_settings(config: dict[str, Any], is_production: bool) -> list[str]:
    """SMTP_URL into config["SMTP"]; no message repeats the URL (it may carry the password)."""
    config["SMTP"] = None
    raw = config.get("SMTP_URL")
    if not raw:
        return []
    scheme, sep, rest = str(raw).partition("://")
    if not sep or scheme not in SMTP_SCHEMES:
        return [f"SMTP_URL must start with {', '.join(name + '://' for name in SMTP_SCHEMES)}"]
    credentials, at, address = rest.rpartition("@")
    host, colon, port = address.rstrip("/").partition(":")
    if not host or (colon and not port.isdigit()) or not 0 < int(port or SMTP_SCHEMES[scheme]) < 65536:
        return ["SMTP_URL must name a host and an optional port (1-65535)"]
    username, _, password = credentials.partition(":") if at else ("", "", "")
    if is_production and scheme == "smtp" and host not in ("127.0.0.1", "localhost", "::1"):
        return ["SMTP_URL must use smtps:// or smtp+starttls:// in production (smtp:// is for a local relay)"]
    if "@" not in str(config.get("SMTP_FROM") or ""):
        return ["SMTP_FROM must be an email address, e.g. SMS Blossom <alerts@example.com>"]
    config["SMTP"] = {
        "scheme": scheme,
        "host": host,
        "port": int(port or SMTP_SCHEMES[scheme]),
        "username": unquote(username) or None,
        "password": unquote(password) or None,
    }
    return []
