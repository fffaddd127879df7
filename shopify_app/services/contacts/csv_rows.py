"""What one row of a contact CSV says, read strictly: its optional profile fields (invalid
ones dropped and named), its consent (explicit only) and what the file claims about it."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

from ...models import ConsentSource, ConsentState
from ...schemas.contacts import validate_birthday
from ...security.crypto import normalise_email

CONSENT_YES = frozenset({"yes", "y", "true", "1", "subscribed", "opted_in", "opt_in"})
CONSENT_PENDING = "pending"  # asked for texts, not confirmed yet: kept so, never texted marketing


def row_profile(row: Mapping[str, str]) -> tuple[dict[str, Any], list[str]]:
    """Validated optional fields, and the names of the fields that were dropped as invalid."""
    profile: dict[str, Any] = {}
    dropped: list[str] = []
    for name in ("first_name", "last_name"):
        if row.get(name):
            profile[name] = row[name][:100]
    if row.get("email"):
        if "@" in row["email"] and len(row["email"]) <= 254:
            profile["email"] = normalise_email(row["email"])
        else:
            dropped.append("email")
    if row.get("birthday"):
        try:
            validate_birthday(row["birthday"])
            profile["birthday"] = row["birthday"]
        except Exception:  # marshmallow.ValidationError; the row still imports without it
            dropped.append("birthday")
    tags = [tag.strip()[:64] for tag in row.get("tags", "").split(",") if tag.strip()]
    profile["tags"] = list(dict.fromkeys(tags))[:50]
    return profile, dropped


def row_consent(row: Mapping[str, str]) -> ConsentState:
    """Explicit consent only: a yes (or an export's `subscribed`) subscribes, `pending` stays
    pending (the shopper asked and has not confirmed), anything else is no consent."""
    value = row.get("consent", "").lower()
    if value in CONSENT_YES:
        return ConsentState.SUBSCRIBED
    return ConsentState.PENDING if value == CONSENT_PENDING else ConsentState.UNSUBSCRIBED


def file_claim(row: Mapping[str, str]) -> str:
    """How and when the file (our export) says consent was first given, when it names a known
    source and a real time; only those two, never free text from the file."""
    source, when = row.get("consent_source", ""), row.get("consented_at", "")
    if source not in {known.value for known in ConsentSource}:
        return ""
    try:
        at = datetime.fromisoformat(when)
    except ValueError:
        return ""
    return f"; the file says it was given via {source} at {at.isoformat()}"
