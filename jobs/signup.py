"""Storefront sign-up jobs."""

from __future__ import annotations

from shopify_app.services.contacts import signup

from . import job


@job("default")
def send_double_opt_in(contact_id: int, consent_event_id: int) -> str:
    return signup.send_double_opt_in(contact_id=contact_id, consent_event_id=consent_event_id)
