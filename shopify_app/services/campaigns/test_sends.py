"""A merchant's test of a campaign: its text, as a shopper would get it, to the merchant's phone.

The point is to see the real message before the launch (drafts above all), so the test is the
real message: the campaign's body rendered with the preview's sample values (first name
"Alex", the shop's name, the discount's code, an unsubscribe link), links shortened and the shop
name and STOP wording added by the send path exactly as for a recipient. No "[Test]" prefix:
it would change the length, and so the segments and the cost, the test is there to show.

It is sent like any text: a message row of the shop's hidden `test` carrier campaign, enqueued on
the send path (sender rules, rate limits, the circuit breaker, credits held and charged through
the ledger, exactly-once), never a provider call from here. There is no contact: the number and
the text are the test's sealed context (models/test_send.py). No quiet hours and no frequency
cap (the merchant asked for it, now, to their own phone); never to a number that opted out of
the shop (a contact who unsubscribed, or a suppressed number), checked here (409) and again
when the batch sends (a STOP in between wins). At most TEST_SENDS_PER_DAY tests per shop per
shop-local day, counted in the database (a flushed Redis must not reset it), serialised by the
shop's row lock. An `Idempotency-Key` makes a retried request answer the first test again.
"""

from __future__ import annotations

import json
import math
from collections.abc import Iterable
from datetime import datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import structlog
from sqlalchemy import exists, func, or_, select
from sqlalchemy.exc import IntegrityError

from ...config import current_config
from ...errors import Conflict, PaymentRequired, TooManyRequests
from ...extensions import db
from ...models import (
    Campaign,
    CampaignKind,
    CampaignState,
    ConsentState,
    Contact,
    Discount,
    Message,
    MessageState,
    Shop,
    Suppression,
    TestSend,
)
from ...models.types import utcnow
from ..billing.credits import balance, lock_shop
from ..billing.plans import message_credits
from ..contacts.contacts import parse_phone
from ..contacts.pii import phone_hash
from ..ops.pagination import page
from ..sending.batches import enqueue_batch
from ..sending.claim import TestRecipient
from ..sending.rendering import TemplateError, render, validate_template
from ..sending.templating import compliant_text, segment_count
from ..shops.settings import sender_rule
from .audience import unsubscribe_url
from .queries import get_campaign
from .templates import sample_code

log = structlog.get_logger(__name__)

SAMPLE_FIRST_NAME = "Alex"  # the preview's default (schemas/campaigns.py PreviewInSchema)


def send_test(*, shop: Shop, campaign_id: int, phone: object, key: str) -> tuple[TestSend, Message]:
    """Record the test and enqueue its message; returns the test and its message as they are
    after the (in-process: synchronous) send. Raises 404/409/402/429/422 (see the module)."""
    campaign = get_campaign(shop=shop, campaign_id=campaign_id)  # another shop's: 404
    number = parse_phone(shop, phone)  # 422 on details.fields.phone
    digest = phone_hash(number.e164, shop_id=shop.id)
    if (earlier := _by_key(shop, key)) is not None:
        return earlier, _message(earlier)
    if opted_out(shop_id=shop.id, digest=digest):
        raise Conflict(
            "This number opted out of your shop's texts; it can be texted again only after it texts START.",
            code="phone_opted_out",
        )
    if sender_rule(shop).for_destination(number.e164) is None:
        raise Conflict(
            "Your shop has no sender for this number's country yet.",
            code="no_sender_for_country",
            details={"country_code": number.region},
        )
    values = sample_values(shop, campaign)
    text = _text(shop, campaign.body, values)
    cost = message_credits(segment_count(text), number.region)
    lock_shop(shop.id)  # held to the commit: the day's count and the balance read under it
    _check_daily_limit(shop)
    available = balance(shop_id=shop.id)
    if available < cost:
        db.session.rollback()  # lets go of the shop's row
        raise PaymentRequired("Not enough credits to send a test.", details={"required": cost, "available": available})
    carrier = _carrier(shop)
    message = Message(shop_id=shop.id, campaign_id=carrier.id, state=MessageState.QUEUED, attempts=0)
    db.session.add(message)
    db.session.flush()
    test = TestSend(
        shop_id=shop.id, campaign_id=campaign.id, message_id=message.id, idempotency_key=key, phone_hash=digest
    )
    test.context = json.dumps(
        {"phone": number.e164, "country_code": number.region, "body": campaign.body, "values": values},
        separators=(",", ":"),
    )
    db.session.add(test)
    try:
        db.session.commit()
    except IntegrityError:  # the same key, committed by a concurrent request: its test
        db.session.rollback()
        earlier = _by_key(shop, key)
        if earlier is None:
            raise
        return earlier, _message(earlier)
    log.info("campaign_test_send", shop_id=shop.id, campaign_id=campaign.id, message_id=message.id)
    enqueue_batch(carrier.id, message.id, message.id + 1, shop_id=shop.id)
    db.session.expire_all()
    return test, _message(test)


def sample_values(shop: Shop, campaign: Campaign) -> dict[str, Any]:
    """The values a test renders with: the preview's sample shopper, the campaign's discount."""
    return {
        "first_name": SAMPLE_FIRST_NAME,
        "last_name": "",
        "discount_code": _sample_code(campaign),
        # The preview's link (no contact): it opens the unsubscribe page, which unsubscribes no one.
        "unsubscribe_url": unsubscribe_url(shop=shop, contact_id=0),
    }


def _sample_code(campaign: Campaign) -> str:
    discount = db.session.get(Discount, campaign.discount_id) if campaign.discount_id else None
    if discount is None:
        return ""
    return sample_code(discount)


def _text(shop: Shop, body: str, values: dict[str, Any]) -> str:
    """The text before its links are shortened (the send path shortens them): what the credit
    check costs. A campaign without a usable text yet cannot be tested (409)."""
    try:
        validate_template(body)
    except TemplateError as exc:
        raise Conflict(
            f"This campaign's text cannot be sent yet: {exc.message}", code="campaign_text_invalid"
        ) from None
    shop_name = shop.name or shop.domain
    return compliant_text(render(body, {"shop_name": shop_name, **values}), shop_name=shop_name)


def opted_out(*, shop_id: int, digest: str) -> bool:
    """Whether the number (its keyed hash) opted out of the shop: a contact who unsubscribed,
    or a suppressed number (an opted-out contact since deleted, a STOP from a non-contact)."""
    return bool(
        db.session.scalar(
            select(
                or_(
                    exists().where(
                        Contact.shop_id == shop_id,
                        Contact.phone_hash == digest,
                        Contact.consent_state == ConsentState.UNSUBSCRIBED,
                    ),
                    exists().where(Suppression.shop_id == shop_id, Suppression.phone_hash == digest),
                )
            )
        )
    )


def _day_start(shop: Shop, now: datetime) -> tuple[datetime, datetime]:
    """The shop-local day `now` falls in, as UTC instants (start, end)."""
    try:
        zone = ZoneInfo(shop.timezone or "UTC")
    except (KeyError, ValueError):
        zone = ZoneInfo("UTC")
    local = now.astimezone(zone)
    start = datetime.combine(local.date(), time.min, tzinfo=zone)
    end = datetime.combine(local.date() + timedelta(days=1), time.min, tzinfo=zone)
    return start, end


def daily_usage(shop: Shop) -> tuple[int, int]:
    """(tests recorded in the shop's current local day, the daily limit)."""
    start, _end = _day_start(shop, utcnow())
    used = db.session.scalar(select(func.count()).where(TestSend.shop_id == shop.id, TestSend.created_at >= start))
    return int(used or 0), int(current_config()["TEST_SENDS_PER_DAY"])


def _check_daily_limit(shop: Shop) -> None:
    used, limit = daily_usage(shop)
    now = utcnow()
    _start, end = _day_start(shop, now)
    if used >= limit:
        db.session.rollback()  # lets go of the shop's row
        raise TooManyRequests(
            f"You can send {limit} test messages a day; more can be sent after midnight in your shop's time zone.",
            code="test_send_limit_reached",
            retry_after=math.ceil((end - now).total_seconds()),
            details={"limit": limit, "used": used},
        )


def _carrier(shop: Shop) -> Campaign:
    """The shop's hidden `test` carrier campaign, made on first use (under the shop's row lock)."""
    carrier = db.session.scalar(
        select(Campaign).where(Campaign.shop_id == shop.id, Campaign.kind == CampaignKind.TEST).limit(1)
    )
    if carrier is None:
        now = utcnow()
        carrier = Campaign(
            shop_id=shop.id,
            name="Test sends",
            kind=CampaignKind.TEST,
            body="",
            state=CampaignState.SENDING,  # a carrier sends as long as the shop exists
            audience={},
            launched_at=now,
        )
        db.session.add(carrier)
        db.session.flush()
    return carrier


def list_tests(
    *, shop: Shop, campaign_id: int, limit: int, cursor: str | None
) -> tuple[list[tuple[TestSend, Message]], str | None]:
    """The campaign's tests, newest first, with their messages."""
    campaign = get_campaign(shop=shop, campaign_id=campaign_id)
    query = select(TestSend).where(TestSend.shop_id == shop.id, TestSend.campaign_id == campaign.id)
    tests, next_cursor = page(query, TestSend.id, limit=limit, cursor=cursor)
    return [(test, _message(test)) for test in tests], next_cursor


def _by_key(shop: Shop, key: str) -> TestSend | None:
    return db.session.scalar(select(TestSend).where(TestSend.shop_id == shop.id, TestSend.idempotency_key == key))


def _message(test: TestSend) -> Message:
    message = db.session.get(Message, test.message_id)
    assert message is not None  # made with the test, deleted only with the shop
    return message


# --- the send path's side (services/sending.py) ------------------------------------------------


def recipients(*, shop_id: int, message_ids: Iterable[int]) -> dict[int, TestRecipient]:
    """The recipients of a batch's test messages, by message id; an opted-out number's consent
    reads `unsubscribed`, so the batch skips it like a contact who sent STOP."""
    tests = db.session.scalars(select(TestSend).where(TestSend.message_id.in_(list(message_ids)))).all()
    found = {}
    for test in tests:
        context = json.loads(test.context)
        stopped = opted_out(shop_id=shop_id, digest=test.phone_hash)
        consent = ConsentState.UNSUBSCRIBED if stopped else ConsentState.SUBSCRIBED
        found[test.message_id] = TestRecipient(
            id=None,
            consent_state=consent,
            timezone=None,
            country_code=context.get("country_code"),
            phone=context["phone"],
            body=context["body"],
            values=context["values"],
        )
    return found
