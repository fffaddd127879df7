"""The merchant's replies to a shopper from the inbox: each one a run of the shop's always-on
inbox-reply automation, dispatched at once through the send path.
"""

from __future__ import annotations

import structlog
from sqlalchemy import select

from ...extensions import db
from ...models import Automation, AutomationKind, AutomationRun, Contact, Message, Shop
from ...models.types import utcnow
from ..contacts.inbox_replies import check_may_reply, opens_conversation
from .definitions import carrier_for, create_automation
from .dispatch import dispatch_due
from .triggers import trigger

log = structlog.get_logger(__name__)


def inbox_automation(shop: Shop) -> Automation:
    """The shop's inbox-reply automation (always on) and its carrier campaign, made on first use."""
    create_automation(shop, AutomationKind.INBOX_REPLY, enabled=True)
    automation = db.session.scalar(
        select(Automation).where(Automation.shop_id == shop.id, Automation.kind == AutomationKind.INBOX_REPLY)
    )
    assert automation is not None
    carrier_for(automation)
    return automation


def reply(*, shop: Shop, contact: Contact, text: str, key: str) -> tuple[AutomationRun, Message | None]:
    """The merchant's answer to a shopper, sent now through the send path (consent, quiet hours,
    credits). `key` makes a retried request send once. Returns the run and its message. Who may
    be answered and what a conversation's first reply adds: services/inbox_replies.py."""
    now = utcnow()
    check_may_reply(shop=shop, contact=contact, now=now)
    automation = inbox_automation(shop)
    assert automation.campaign_id is not None
    first = opens_conversation(contact=contact, campaign_id=automation.campaign_id, now=now)
    run_id = trigger(
        shop_id=shop.id,
        kind=AutomationKind.INBOX_REPLY,
        contact_id=contact.id,
        key=f"reply:{key}",
        context={"text": text, "footer": first},
        automation=automation,
        soon=False,
    )
    db.session.commit()
    if run_id is not None:
        log.info("inbox_reply", shop_id=shop.id, contact_id=contact.id, run_id=run_id)
        dispatch_due(run_ids=[run_id])
    run = db.session.scalar(
        select(AutomationRun).where(
            AutomationRun.automation_id == automation.id,
            AutomationRun.contact_id == contact.id,
            AutomationRun.trigger_key == f"reply:{key}"[:128],
        )
    )
    assert run is not None
    db.session.expire_all()
    message = db.session.scalar(select(Message).where(Message.automation_run_id == run.id))
    return run, message
