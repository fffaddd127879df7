"""The per-message rules a batch re-checks before sending: what each kind of campaign must
respect (consent, quiet hours, the frequency cap, the footer, how credits are held), and why
a claimed row is skipped instead of sent (quiet hours themselves: quiet_hours.py)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import func, select

from ...bulk import id_in
from ...extensions import db
from ...models import CampaignKind, ConsentState, Message
from .claim import ContactRow, TestRecipient


@dataclass(frozen=True)
class Policy:
    """What a kind of carrier campaign must respect at send time."""

    consent: frozenset[ConsentState]  # the consent states a recipient may be in
    quiet_hours: bool
    frequency_cap: bool
    footer: bool  # the shop's name and "Reply STOP to opt out"
    hold_per_message: bool  # no launch-time hold: each message holds its cost before the call
    # Compliance first: a text the balance cannot fund is sent anyway, free, never refused.
    free_when_unfunded: bool = False


_SUBSCRIBED = frozenset({ConsentState.SUBSCRIBED})
POLICIES = {
    CampaignKind.BROADCAST: Policy(
        _SUBSCRIBED, quiet_hours=True, frequency_cap=True, footer=True, hold_per_message=False
    ),
    CampaignKind.AUTOMATION: Policy(
        _SUBSCRIBED, quiet_hours=True, frequency_cap=True, footer=True, hold_per_message=True
    ),
    # Order and shipping news is expected at once: no quiet hours, no marketing cap.
    CampaignKind.TRANSACTIONAL: Policy(
        _SUBSCRIBED, quiet_hours=False, frequency_cap=False, footer=True, hold_per_message=True
    ),
    # The merchant answering a shopper who texted in (a pending double opt-in may ask a question).
    CampaignKind.CONVERSATION: Policy(
        frozenset({ConsentState.SUBSCRIBED, ConsentState.PENDING}),
        quiet_hours=True,
        frequency_cap=False,
        footer=False,
        hold_per_message=True,
    ),
    # A merchant's test of a campaign, to their own phone, now: the campaign's footer, no quiet
    # hours or cap; an opted-out number reads as unsubscribed (services/test_sends.py).
    CampaignKind.TEST: Policy(_SUBSCRIBED, quiet_hours=False, frequency_cap=False, footer=True, hold_per_message=True),
    # The app's own texts (services/automations/notices.py), each carrying its whole text (it
    # names the shop and says how to opt out): an answer to STOP goes to someone who just
    # opted out, so any consent state; no quiet hours, no cap, no footer. Charged like any
    # text when the balance covers it, but never refused for want of credits: compliance first.
    CampaignKind.KEYWORD_REPLY: Policy(
        frozenset(ConsentState),
        quiet_hours=False,
        frequency_cap=False,
        footer=False,
        hold_per_message=True,
        free_when_unfunded=True,
    ),
    # A sign-up's confirmation: only while the contact is still pending (a `Y` or a STOP in
    # between wins); never refused for want of credits either (the sign-up limits of
    # services/contacts/signup.py bound what a form can cost).
    CampaignKind.CONFIRMATION: Policy(
        frozenset({ConsentState.PENDING}),
        quiet_hours=False,
        frequency_cap=False,
        footer=False,
        hold_per_message=True,
        free_when_unfunded=True,
    ),
}


def skip_reason(
    contact: ContactRow | TestRecipient | None, policy: Policy, cap: dict[str, int] | None, recent: dict[int, int]
) -> str | None:
    if contact is None:
        return "contact_deleted"
    if contact.consent_state not in policy.consent:
        return "not_subscribed"  # a STOP after launch wins
    if cap and contact.id is not None and recent.get(contact.id, 0) >= cap["max_messages"]:
        return "frequency_cap"
    return None


def recent_counts(contact_ids: list[int], cap: dict[str, int] | None, now: datetime) -> dict[int, int]:
    """How many texts each contact was sent within the cap's window (none without a cap)."""
    if not cap or not contact_ids:
        return {}
    since = now - timedelta(days=cap["per_days"])
    rows = db.session.execute(
        select(Message.contact_id, func.count())
        .where(id_in(Message.contact_id, contact_ids), Message.sent_at >= since)
        .group_by(Message.contact_id)
    ).all()
    return {int(contact_id): int(count) for contact_id, count in rows}
