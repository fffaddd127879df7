"""The app's own texts to a shopper: the answers to STOP, START, HELP and the join keyword
(services/contacts/inbound.py) and a storefront sign-up's double opt-in confirmation
(services/contacts/signup.py).

Each is a run of one of the shop's internal, always-on automations (`keyword_reply`,
`opt_in_confirmation`) carrying its whole text, dispatched at once: a message row of the
automation's hidden carrier campaign, recorded before anything is sent, then sent by a batch
like every other text (rate limits, the circuit breaker, credits, the attempt record, our own
message id as the provider reference, exactly-once). The text goes exactly as written: no
footer (it names the shop and says how to opt out itself), no link shortened (the
confirmation link is the shop's own). The run's key (`inbound:<id>`,
`optin:<consent event id>`) makes a retried job record nothing new, so nothing is sent twice.
Contacts, which cannot import this package, call these through `contacts/outbox.py`, where
they are registered on import. What each kind must respect is its carrier's policy
(services/sending/policy.py). A HELP from a number that is no contact has no run (a run needs
a contact): its message row has no contact and the batch reads the number from the text it
answers (services/contacts/keyword_recipients.py).
"""

from __future__ import annotations

from sqlalchemy import select

from ...extensions import db
from ...models import Automation, AutomationKind, AutomationRun, Contact, Message, MessageState, Shop
from ..contacts.outbox import provides
from ..sending.batches import enqueue_batch
from .definitions import carrier_for, create_automation
from .dispatch import dispatch_due
from .triggers import trigger

NOTICE_KINDS = (AutomationKind.KEYWORD_REPLY, AutomationKind.OPT_IN)


def _automation(shop: Shop, kind: AutomationKind) -> Automation:
    """The shop's `kind` automation (always on) and its carrier campaign, made on first use."""
    create_automation(shop, kind, enabled=True)
    automation = db.session.scalar(select(Automation).where(Automation.shop_id == shop.id, Automation.kind == kind))
    assert automation is not None
    if not automation.enabled:  # an uninstall turned it off (settings.stop_all_automations)
        automation.enabled = True  # always on while the shop is installed, as the texts it sends
    carrier_for(automation)
    return automation


@provides
def send_notice(
    *, shop: Shop, contact: Contact, kind: AutomationKind, key: str, text: str
) -> tuple[Message | None, bool]:
    """Record the text for `contact` once per `key` and send it through the send path now (an
    in-process queue: before this returns; a worker's: by its batch job). Returns its message
    as it stands (None while its run waits for the dispatcher) and whether this call recorded
    it (False: a retry of the same key, which sends nothing)."""
    assert kind in NOTICE_KINDS
    automation = _automation(shop, kind)
    run_id = trigger(
        shop_id=shop.id,
        kind=kind,
        contact_id=contact.id,
        key=key,
        context={"text": text, "footer": False, "verbatim": True},
        automation=automation,
        soon=False,
    )
    db.session.commit()
    if run_id is not None:  # a retry of the same key finds its first run and sends nothing new
        dispatch_due(run_ids=[run_id])
    db.session.expire_all()
    found = db.session.scalar(
        select(AutomationRun.id).where(
            AutomationRun.automation_id == automation.id,
            AutomationRun.contact_id == contact.id,
            AutomationRun.trigger_key == key[:128],
        )
    )
    message = db.session.scalar(select(Message).where(Message.automation_run_id == found)) if found else None
    return message, run_id is not None


@provides
def record_stranger_answer(*, shop: Shop) -> int:
    """The message row of an answer to a number that is no contact (a HELP from a stranger):
    queued in the keyword-reply carrier with no contact, not committed. The caller links it
    from the text it answers (`inbound_messages.reply_message_id`, where the batch finds the
    number) in the same transaction, then calls `enqueue`."""
    carrier = carrier_for(_automation(shop, AutomationKind.KEYWORD_REPLY))
    message = Message(shop_id=shop.id, campaign_id=carrier.id, contact_id=None, state=MessageState.QUEUED, attempts=0)
    db.session.add(message)
    db.session.flush()
    return message.id


@provides
def enqueue(*, shop: Shop, message_id: int) -> None:
    """Send a committed message row of a carrier campaign now (its own batch)."""
    campaign_id = db.session.scalar(select(Message.campaign_id).where(Message.id == message_id))
    assert campaign_id is not None
    enqueue_batch(campaign_id, message_id, message_id + 1, shop_id=shop.id)
