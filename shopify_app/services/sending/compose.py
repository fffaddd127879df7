"""Composing the texts of a batch: each recipient's decrypted details, the values a template
is rendered with (names, discount code, unsubscribe link, an automation run's own values), the
compliance footer, and the links shortened; the `OutboundSms` handed to the provider."""

from __future__ import annotations

import functools
import json
from dataclasses import dataclass, field
from typing import Any

import structlog
from sqlalchemy import select

from ...clients.mitto import OutboundSms
from ...extensions import db
from ...models import AutomationRun, Campaign, CampaignKind, Discount, DiscountKind, Shop
from ...security.crypto import Keyring, aad_for
from ..campaigns.campaigns import unsubscribe_url
from ..campaigns.variants import variant_bodies
from ..media import mms
from . import links
from .claim import Claimed, ContactRow, TestRecipient
from .policy import POLICIES
from .rendering import RUN_VARIABLES, render, render_runs
from .templating import compliant_text

log = structlog.get_logger(__name__)

NAME_VARIABLES = ("first_name", "last_name")


@dataclass(slots=True)  # not frozen: a frozen __init__ costs 2.5 µs, and a batch makes 500
class Recipient:
    """What a message needs of its contact, read (and decrypted) before the batch commits:
    after a commit the ORM would reload each contact with a query of its own."""

    contact_id: int | None  # None: a merchant's test to their own phone (services/test_sends.py)
    phone: str = field(repr=False)  # PII stays out of reprs and tracebacks
    first_name: str | None = field(repr=False)
    last_name: str | None = field(repr=False)
    country_code: str | None = None
    sender: str = ""  # what the text goes from (services/settings.py `sender_rule`)
    test: TestRecipient | None = field(default=None, repr=False)  # a test's body and sample values


@functools.lru_cache(maxsize=1024)
def _contact_aad(column: str, shop_id: int) -> str:
    return aad_for(table="contacts", column=column, shop_id=shop_id)


def recipient(contact: ContactRow | TestRecipient, names: set[str], ring: Keyring) -> Recipient:
    """A claimed row's recipient: the phone decrypted, and the names when the text uses them."""
    if isinstance(contact, TestRecipient):
        return Recipient(None, contact.phone, None, None, contact.country_code, test=contact)

    def opened(column: str, token: str | None) -> str | None:
        return None if token is None else ring.decrypt(token, aad=_contact_aad(column, contact.shop_id))

    return Recipient(
        contact.id,
        str(opened("phone", contact.phone_ciphertext)),
        opened("first_name", contact.first_name_ciphertext) if "first_name" in names else None,
        opened("last_name", contact.last_name_ciphertext) if "last_name" in names else None,
        contact.country_code,
    )


def _run_contexts(sendable: list[tuple[Claimed, Recipient]]) -> dict[int, dict[str, Any]]:
    """The per-run values (checkout URL, tracking link, a reply's text) of an automation's rows."""
    run_ids = [item.automation_run_id for item, _ in sendable if item.automation_run_id]
    if not run_ids:
        return {}
    runs = db.session.scalars(select(AutomationRun).where(AutomationRun.id.in_(run_ids)))
    return {run.id: json.loads(run.context or "{}") for run in runs}


def variant_texts(campaign: Campaign, claimed: list[Claimed]) -> dict[str, str]:
    """The bodies of an A/B-tested campaign's variants, by label, when any claimed row has one
    ({} otherwise, without a query: every other batch's case)."""
    return variant_bodies(campaign) if any(item.variant for item in claimed) else {}


def outbound(
    shop: Shop, campaign: Campaign, sendable: list[tuple[Claimed, Recipient]], *, bodies: dict[str, str] | None = None
) -> tuple[list[OutboundSms], list[dict[str, Any]], list[Claimed]]:
    """The texts to send (rendered, compliant, links shortened), their short-link rows, and the
    rows whose text could not be made (skipped by the caller: one bad value never fails the
    batch's other messages). A row with a variant (an A/B test's) gets its variant's body."""
    if bodies is None:  # the batch's plan passes the variants it already read
        bodies = variant_texts(campaign, [item for item, _ in sendable])
    shop_name = shop.name or shop.domain
    policy = POLICIES[campaign.kind]
    contexts = _run_contexts(sendable) if campaign.kind != CampaignKind.BROADCAST else {}
    hosts = links.allowed_hosts(shop)
    shared_code = _shared_discount_code(campaign)
    image = mms.attachment(campaign)  # an MMS campaign's image: MMS in the US/CA, a link elsewhere
    link_rows: list[dict[str, Any]] = []
    messages, unrenderable = [], []
    wants_link = any("unsubscribe_url" in body for body in (campaign.body, *bodies.values()))
    # The values every row shares; a row's own are set on a copy (a broadcast's rows have no run).
    shared = {"shop_name": shop_name, **dict.fromkeys(RUN_VARIABLES)}
    for item, person in sendable:
        context = contexts.get(item.automation_run_id or -1, {})
        values = shared.copy()
        values["first_name"] = person.first_name
        values["last_name"] = person.last_name
        values["discount_code"] = item.discount_code or shared_code
        if wants_link and person.contact_id is not None:
            values["unsubscribe_url"] = unsubscribe_url(shop=shop, contact_id=person.contact_id)
        if context:
            values.update({name: context.get(name) for name in RUN_VARIABLES})
        # A variant without its body (never, once launched) is unrenderable, never another text.
        body = campaign.body if item.variant is None else bodies.get(item.variant)
        media_url = None
        if image is not None and body is not None and person.test is None:
            body, media_url = image.message(body, person.country_code)
        if person.test is not None:  # a test: the tested campaign's body and the sample values
            body = person.test.body
            values.update(person.test.values)
        try:
            if body is None:
                raise LookupError("variant body missing")
            # The app's own texts (automations/notices.py, contacts/keyword_recipients.py): as written.
            verbatim = context.get("text") if context.get("verbatim") else (person.test and person.test.text)
            if verbatim is not None:
                text, rows = str(verbatim), []
            else:
                text, rows = _text(shop, campaign.id, body, item, person, values, context.get("text"), hosts)
            if policy.footer or context.get("footer"):  # an inbox conversation's first reply asks for it
                text = compliant_text(text, shop_name=shop_name)
            if not text.isascii():
                text.encode("utf-8")  # a lone surrogate (from a run's values) cannot be sent
        except Exception as exc:
            log.warning("message_render_failed", campaign_id=campaign.id, message_id=item.id, error=type(exc).__name__)
            unrenderable.append(item)
            continue
        link_rows += rows
        messages.append(OutboundSms(person.phone, text, person.sender, str(item.id), media_url))
    return messages, link_rows, unrenderable


def _text(
    shop: Shop,
    campaign_id: int,
    body: str,
    item: Claimed,
    person: Recipient,
    values: dict[str, Any],
    reply: str | None,
    hosts: set[str],
) -> tuple[str, list[dict[str, Any]]]:
    """One message's text with its links shortened (before the compliance text: a shop name
    inside a URL must not pass for the name the text needs), and its short-link rows. Only the
    template's own URLs and the run's (checkout, product, tracking) are shortened, never what
    the shopper typed as a name (`render_runs`); a merchant's reply is the merchant's text."""
    text = reply if reply is not None else render(body, values)
    if "://" not in text:  # the usual text: no URL, no second pass
        return text, []
    runs = [(text, True)] if reply is not None else render_runs(body, values)
    ids = {"campaign_id": campaign_id, "message_id": item.id, "contact_id": person.contact_id}
    return links.shorten_runs(runs, shop=shop, hosts=hosts, **ids)


def _shared_discount_code(campaign: Campaign) -> str:
    if campaign.discount_id is None:
        return ""
    discount = db.session.get(Discount, campaign.discount_id)
    return discount.code if discount is not None and discount.kind == DiscountKind.SHARED else ""
