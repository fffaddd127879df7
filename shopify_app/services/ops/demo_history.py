"""The demo shop's past (services/demo.py): a finished campaign and an inbox conversation.

Nothing here calls an SMS gateway, whatever `SMS_BACKEND` says, and nothing depends on the clock
of the day (quiet hours) or on a worker: the rows are written as the send path would have left
them, then the app's own code takes over where the outside world would have spoken: delivery
reports (`delivery.record_reports` + `apply_pending`), clicks (`links.follow`), an order
(`commerce.record_order`, which attributes it), inbound texts (`inbound.record` + `process`).
The credits the history spent are granted with it ("Demo: ..." ledger rows), so the balance
left is the trial's. Each step is keyed, so a second run adds nothing.
"""

from __future__ import annotations

import json
import uuid
from datetime import datetime, timedelta

import structlog
from sqlalchemy import exists, select

from ...extensions import db
from ...models import (
    AutomationRun,
    Campaign,
    CampaignKind,
    CampaignState,
    Click,
    Contact,
    DeliveryEvent,
    Message,
    MessageState,
    RunState,
    Segment,
    Shop,
    ShortLink,
    Template,
)
from ...models.types import utcnow
from ..automations import automations
from ..automations.commerce import record_order
from ..billing import credits
from ..billing.plans import message_credits
from ..campaigns.campaigns import audience, estimate
from ..campaigns.segments import segment_filters
from ..contacts import inbound
from ..contacts.contacts import find_by_phone
from ..sending import delivery, links
from ..sending.templating import compliant_text, segment_count
from ..shops.settings import sender_for, sender_rule

log = structlog.get_logger(__name__)

CAMPAIGN_NAME = "Spring sale"
CAMPAIGN_AGE = timedelta(days=2)  # launched this long before the seed: the summary's 30 days hold it
DEMO_ORDER_ID = 820_000_000_001  # the Shopify order id of the attributed order
CLICKER_AGENT = "Mozilla/5.0 (iPhone; CPU iPhone OS 18_0 like Mac OS X) demo"


def _provider_id() -> str:
    return f"demo-{uuid.uuid4()}"


# --- the finished campaign -----------------------------------------------------------------------


def finished_campaign(shop: Shop, *, template: Template, segment: Segment | None) -> None:
    """ "Spring sale" to the segment, sent two days ago: delivered, failed and still-`sent`
    messages, short links clicked, an order it made. A campaign of that name that the seed did
    not write (a merchant's) is left alone."""
    campaign = db.session.scalar(
        select(Campaign)
        .where(Campaign.shop_id == shop.id, Campaign.kind == CampaignKind.BROADCAST, Campaign.name == CAMPAIGN_NAME)
        .order_by(Campaign.id)
        .limit(1)
    )
    if campaign is None:
        if segment is None:
            return
        campaign = _sent_campaign(shop, template=template, segment=segment)
    demo_ids = select(Message.provider_message_id).where(
        Message.campaign_id == campaign.id, Message.provider_message_id.like("demo-%")
    )
    if not db.session.scalar(select(demo_ids.exists())):
        return
    _delivery_reports(campaign)
    _clicks(campaign)
    _attributed_order(shop, campaign)


def _sent_campaign(shop: Shop, *, template: Template, segment: Segment) -> Campaign:
    """The campaign, its audience snapshot sent, and the credits of a launch, in one transaction
    (a crash leaves nothing half-made). What `campaigns.start_sending` and the send path store,
    row by row: a demo's few dozen messages, not an audience snapshot's millions."""
    launched = utcnow() - CAMPAIGN_AGE
    sent_at = launched + timedelta(minutes=1)
    campaign = Campaign(
        shop_id=shop.id,
        name=CAMPAIGN_NAME,
        kind=CampaignKind.BROADCAST,
        body=template.body,
        template_id=template.id,
        segment_id=segment.id,
        state=CampaignState.DRAFT,
        audience={},
        created_at=launched - timedelta(hours=1),
    )
    db.session.add(campaign)
    db.session.flush()
    figures = estimate(shop=shop, campaign=campaign)
    messages = _demo_messages(shop, campaign=campaign, segments=figures["segments_per_message"], launched=launched)
    db.session.add_all(messages)
    db.session.flush()
    held = sum(message.held_credits or 0 for message in messages)
    if held:
        credits.grant(shop_id=shop.id, amount=held, key=f"grant:demo:c{campaign.id}", note="Demo: the sample campaign")
    credits.reserve_for_launch(shop=shop, campaign=campaign, amount=held)
    sent = [message for message in messages if message.state == MessageState.SENT]
    credits.debit_messages(
        shop_id=shop.id, campaign_id=campaign.id, charges=[(message.id, message.credits or 0) for message in sent]
    )
    campaign.audience = segment_filters(segment)
    campaign.state, campaign.launched_at, campaign.completed_at = CampaignState.COMPLETED, launched, sent_at
    campaign.recipients, campaign.credits_reserved = len(messages), held
    campaign.estimated_segments = figures["credits_per_message"]
    db.session.flush()
    credits.finalize_campaign(campaign=campaign)  # what the skipped held goes back
    _shorten_links(shop, campaign=campaign, sent=sent)
    db.session.commit()
    log.info("demo_campaign_written", shop_id=shop.id, campaign_id=campaign.id, recipients=len(messages))
    return campaign


def _demo_messages(shop: Shop, *, campaign: Campaign, segments: int, launched: datetime) -> list[Message]:
    """One message per recipient of the audience: sent a minute after the launch, or skipped
    when no sender may text the recipient's country."""
    sent_at = launched + timedelta(minutes=1)
    recipients = db.session.scalars(
        select(Contact)
        .where(Contact.id.in_(audience(shop=shop, campaign=campaign).scalar_subquery()))
        .order_by(Contact.id)
    ).all()
    rule = sender_rule(shop)
    messages = []
    for contact in recipients:
        share = message_credits(segments, contact.country_code)
        message = Message(
            shop_id=shop.id,
            campaign_id=campaign.id,
            contact_id=contact.id,
            state=MessageState.SKIPPED,
            skip_reason="no_sender_for_country",
            attempts=0,
            held_credits=share,
            created_at=launched,
        )
        sender = rule.for_destination(str(contact.phone))
        if sender is not None:
            message.state, message.skip_reason, message.attempts = MessageState.SENT, None, 1
            message.sender, message.segments, message.credits = sender, segments, share
            message.provider_message_id, message.bulk_id = _provider_id(), f"demo-bulk-{campaign.id}"
            message.attempted_at = message.sent_at = sent_at
        messages.append(message)
    return messages


def _shorten_links(shop: Shop, *, campaign: Campaign, sent: list[Message]) -> None:
    """The short links of each sent text, as the send path stores them."""
    hosts = links.allowed_hosts(shop)
    for message in sent:
        _text, rows = links.shorten(
            campaign.body,
            shop=shop,
            hosts=hosts,
            campaign_id=campaign.id,
            message_id=message.id,
            contact_id=message.contact_id,
        )
        links.store(rows)


def _delivery_reports(campaign: Campaign) -> None:
    """Mitto's reports for the sent messages, through the app's own path: most delivered, one in
    twelve failed, one in fifteen with no final report yet (still `sent`)."""
    sent = db.session.execute(
        select(Message.provider_message_id, Message.sent_at)
        .where(Message.campaign_id == campaign.id, Message.provider_message_id.is_not(None))
        .order_by(Message.id)
    ).all()
    ids = [provider_id for provider_id, _ in sent]
    if not ids or db.session.scalar(select(exists().where(DeliveryEvent.provider_message_id.in_(ids)))):
        return
    reports = [
        {
            "message_id": provider_id,
            "status": "Undelivered" if k % 12 == 11 else "Delivered",
            "error_code": None,
            "reported_at": sent_at + timedelta(minutes=2),
        }
        for k, (provider_id, sent_at) in enumerate(sent)
        if k % 15 != 7
    ]
    delivery.record_reports(reports)
    delivery.apply_pending()


def _clicks(campaign: Campaign) -> None:
    """One delivered recipient in four opens the link, one in eight twice (`links.follow`, the
    redirect's own bookkeeping: the click, the contact's last click, the report cache)."""
    if db.session.scalar(select(exists().where(Click.campaign_id == campaign.id))):
        return
    codes = db.session.scalars(
        select(ShortLink.code)
        .join(Message, Message.id == ShortLink.message_id)
        .where(ShortLink.campaign_id == campaign.id, Message.state == MessageState.DELIVERED)
        .order_by(ShortLink.id)
    ).all()
    for k, code in enumerate(codes):
        for _ in range((k % 4 == 0) + (k % 8 == 0)):
            links.follow(code=code, user_agent=CLICKER_AGENT, ip=None)


def _attributed_order(shop: Shop, campaign: Campaign) -> None:
    """The first clicker buys (orders/create, by their phone): attributed to the campaign."""
    contact_id = db.session.scalar(
        select(Click.contact_id).where(Click.campaign_id == campaign.id).order_by(Click.id).limit(1)
    )
    contact = db.session.get(Contact, contact_id) if contact_id else None
    if contact is None:
        return
    payload = {
        "id": DEMO_ORDER_ID,
        "total_price": "64.00",
        "currency": shop.currency or "USD",
        "created_at": utcnow().isoformat(),
        "phone": contact.phone,
    }
    record_order(shop=shop, payload=payload)  # once per Shopify order id
    db.session.commit()


# --- the inbox -----------------------------------------------------------------------------------

QUESTION = "Hi! Do you ship to Canada?"
ANSWER = "Yes, we do! Shipping to Canada is free on orders over $50."
THANKS = "Perfect, thank you!"
UNANSWERED = "Is the spring sale on in your stores too?"


def inbox_conversation(shop: Shop, *, number: str, asker: str, other: str) -> None:
    """`asker` asks, the merchant answers, `asker` thanks them; `other` asks and waits. Texts
    to the shop's `number`, keyed by their (demo) provider ids: a replay is recorded once."""
    thread = ((asker, QUESTION), (asker, None), (asker, THANKS), (other, UNANSWERED))
    for n, (phone, text) in enumerate(thread, 1):
        key = f"demo-{shop.id}-inbox-{n}"
        if text is None:
            _reply(shop, phone=phone, text=ANSWER, key=key)
            continue
        inbound_id = inbound.record(sender=phone, to=number, text=text, message_id=key)
        if inbound_id is not None:
            inbound.process(inbound_id=inbound_id)


def _reply(shop: Shop, *, phone: str, text: str, key: str) -> None:
    """The merchant's answer as `automations.reply` and the send path leave it: a run of the
    inbox automation and its message, sent (a conversation's first reply, so with the shop's
    name and STOP line), charged, then delivered."""
    contact = find_by_phone(shop=shop, e164=phone)
    if contact is None:
        return
    automation = automations.inbox_automation(shop)
    assert automation.campaign_id is not None
    trigger_key = f"reply:{key}"
    if db.session.scalar(
        select(
            exists().where(
                AutomationRun.automation_id == automation.id,
                AutomationRun.contact_id == contact.id,
                AutomationRun.trigger_key == trigger_key,
            )
        )
    ):
        return
    now = utcnow()
    run = AutomationRun(
        shop_id=shop.id,
        automation_id=automation.id,
        contact_id=contact.id,
        trigger_key=trigger_key,
        state=RunState.QUEUED,
        due_at=now,
        created_at=now,
    )
    run.context = json.dumps({"text": text, "footer": True}, separators=(",", ":"))
    db.session.add(run)
    db.session.flush()
    segments = segment_count(compliant_text(text, shop_name=shop.name or shop.domain))
    cost = message_credits(segments, contact.country_code)
    message = Message(
        shop_id=shop.id,
        campaign_id=automation.campaign_id,
        contact_id=contact.id,
        automation_run_id=run.id,
        state=MessageState.SENT,
        attempts=1,
        attempted_at=now,
        sent_at=now,
        provider_message_id=_provider_id(),
        sender=sender_for(shop, destination=phone),
        segments=segments,
        credits=cost,
        created_at=now,
    )
    db.session.add(message)
    db.session.flush()
    run.message_id = message.id
    credits.grant(shop_id=shop.id, amount=cost, key=f"grant:demo:m{message.id}", note="Demo: the sample inbox reply")
    credits.hold_messages(shop_id=shop.id, campaign_id=automation.campaign_id, holds=[(message.id, 1, cost)])
    credits.debit_messages(shop_id=shop.id, campaign_id=automation.campaign_id, charges=[(message.id, cost)])
    db.session.commit()
    delivery.record_reports([{"message_id": message.provider_message_id, "status": "Delivered", "reported_at": now}])
    delivery.apply_pending()
