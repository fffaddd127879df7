"""Inbound SMS: the carrier keywords (STOP, START, HELP), double opt-in replies, a shop's join
keyword, and everything else kept sealed for the merchant's inbox.

What a text asks for is decided by services/reply_intent.py (an opt-out keyword opening the
message or a revocation phrase anywhere; HELP at the start; START only as the whole message);
`Y` and the join keyword are whole-message words. Every consent change is a consent event with
source `keyword`; confirmations go out once, through the send path like every text
(contacts/outbox.py: services/automations/notices.py). A replayed inbound message id is
processed once; every text is kept for the inbox, keywords too.
"""

from __future__ import annotations

from typing import Any

import structlog
from sqlalchemy import update

from ...bulk import insert_or_nothing
from ...errors import ValidationFailed
from ...extensions import db
from ...models import AutomationKind, ConsentSource, ConsentState, Contact, InboundMessage, Shop
from ...models.types import utcnow
from ..sending.senders import number_texted, owner_of, past_holders
from ..shops.settings import load_settings
from .contacts import ConsentChange, apply_consent, create_or_merge, find_by_phone, parse_phone, suppress
from .keyword_recipients import RATES, help_text
from .outbox import enqueue, record_stranger_answer, send_notice
from .pii import phone_hash
from .reply_intent import Intent, classify, normalise

log = structlog.get_logger(__name__)


def keyword_of(text: str) -> str:
    """`" opt-out! "` -> `OPTOUT`: the whole normalised message, spaces removed, upper case
    (for whole-message words: `Y` and the shop's join keyword)."""
    return normalise(text).replace(" ", "").upper()


def record(*, sender: str, to: str, text: str, message_id: str | None) -> int | None:
    """Store the text against the shop the operator assigned `to` to; None when it is a replay.
    Texts to a number no shop holds now are counted, not kept (there is no one to keep them
    for), except that a STOP still opts the sender out of every shop that ever held it."""
    number = number_texted(to)
    shop = owner_of(number)
    values: dict[str, Any] = {
        "shop_id": None,
        "contact_id": None,
        "provider_message_id": message_id,
        "phone_hash": None,
        "text_ciphertext": None,
        "sender_ciphertext": None,
        "keyword": None,
        "outcome": "unknown_number",
        "received_at": utcnow(),
        "processed_at": None,
    }
    if shop is not None:
        try:
            e164 = parse_phone(shop, sender).e164
        except ValidationFailed:
            e164 = None
        sealed = InboundMessage(shop_id=shop.id)
        sealed.text, sealed.sender = text, e164
        values.update(
            shop_id=shop.id,
            text_ciphertext=sealed.text_ciphertext,
            sender_ciphertext=sealed.sender_ciphertext,
            phone_hash=phone_hash(e164, shop_id=shop.id) if e164 else None,
            outcome=None if e164 else "invalid_sender",
        )
    if message_id:
        inserted = insert_or_nothing(
            InboundMessage.__table__, values, conflict=("provider_message_id",), returning="id"
        )
    else:
        row = InboundMessage(**values)
        db.session.add(row)
        db.session.flush()
        inserted = row.id
    if inserted is not None and shop is None:  # in the insert's transaction: a replay does nothing
        _stop_for_past_holders(int(inserted), number=number, sender=sender, text=text)
    db.session.commit()
    return int(inserted) if inserted is not None else None


def _stop_for_past_holders(inbound_id: int, *, number: str, sender: str, text: str) -> None:
    """A STOP to a number no shop holds now (released, reassigned away): the shopper cannot
    know whose it was, so it opts them out of every shop that ever texted from it, as each
    shop's own STOP does (`_on_stop`: a consent event each). No confirmation goes out: no shop
    may text from this number now."""
    outcomes = []
    for shop in past_holders(number):
        kind, word = _keyword_name(shop, None, text)  # the shop's own check, the one `process` makes
        if kind != "stop":
            continue
        try:
            phone = parse_phone(shop, sender)
        except ValidationFailed:
            continue
        outcome, _confirmation = _on_stop(shop, find_by_phone(shop=shop, e164=phone.e164), phone, word)
        outcomes.append(outcome)
    if outcomes:
        acted = any(outcome != "already_unsubscribed" for outcome in outcomes)
        db.session.execute(
            update(InboundMessage)
            .where(InboundMessage.id == inbound_id)
            .values(keyword="stop", outcome="stop_past_holders" if acted else "already_unsubscribed"),
            execution_options={"synchronize_session": False},
        )
        log.info("inbound_stop_unowned_number", shops=len(outcomes))


def process(*, inbound_id: int) -> str:
    """Act on one recorded text (run in a job that carries only the id)."""
    inbound = db.session.get(InboundMessage, inbound_id)
    if inbound is None or inbound.processed_at is not None or inbound.shop_id is None or inbound.outcome:
        return "skipped"
    shop = db.session.get(Shop, inbound.shop_id)
    assert shop is not None
    phone = parse_phone(shop, inbound.sender)
    contact = find_by_phone(shop=shop, e164=phone.e164)
    keyword, word = _keyword_name(shop, contact, inbound.text or "")
    outcome, reply = _act(shop, contact, phone, word, keyword)
    contact = contact or find_by_phone(shop=shop, e164=phone.e164)
    inbound.contact_id = contact.id if contact else None
    inbound.keyword, inbound.outcome, inbound.processed_at = keyword, outcome, utcnow()
    if reply and contact is None:  # a stranger's HELP: recorded with the outcome, sent once
        inbound.reply_message_id = record_stranger_answer(shop=shop)
    db.session.commit()
    if reply:
        _send(shop, contact, reply, inbound)
    log.info("inbound_processed", shop_id=shop.id, outcome=outcome)
    return outcome


def _keyword_name(shop: Shop, contact: Contact | None, text: str) -> tuple[str | None, str]:
    """(stop | start | help | join | None, the keyword or phrase that decided it). Opt-out first:
    a text that also asks something, or is also a START or join word, opts out."""
    found = classify(text)
    if found.intent == Intent.STOP:
        return "stop", found.keyword or ""
    word = keyword_of(text)
    if found.intent == Intent.START or (word == "Y" and contact is not None):
        return "start", found.keyword or word
    if found.intent == Intent.HELP:
        return "help", found.keyword or ""
    join = (load_settings(shop).get("join_keyword") or "").upper()
    return ("join", word) if join and word == join else (None, word)


Outcome = tuple[str, str | None]  # (what happened, the reply to text back, if any)


def _keyword_change(contact: Contact, state: ConsentState, word: str) -> None:
    apply_consent(contact, ConsentChange(state=state, source=ConsentSource.KEYWORD, consent_text=f"Texted {word}"))


def _on_stop(shop: Shop, contact: Contact | None, phone: Any, word: str) -> Outcome:
    if contact is None:  # not a contact yet: kept as a suppression, so an import never texts them
        suppress(shop_id=shop.id, phone_digest=phone_hash(phone.e164, shop_id=shop.id), reason="opted_out")
        return "suppressed", None
    if contact.consent_state == ConsentState.UNSUBSCRIBED:
        return "already_unsubscribed", None
    _keyword_change(contact, ConsentState.UNSUBSCRIBED, word)
    return "unsubscribed", f"{_name(shop)}: You are unsubscribed and will get no more messages. Reply START to rejoin."


def _on_start(shop: Shop, contact: Contact | None, phone: Any, word: str) -> Outcome:
    if contact is None:
        return "no_contact", None
    if word == "Y" and contact.consent_state != ConsentState.PENDING:
        return "ignored", None
    if contact.consent_state == ConsentState.SUBSCRIBED:
        return "already_subscribed", None
    _keyword_change(contact, ConsentState.SUBSCRIBED, word)
    return "subscribed", f"{_name(shop)}: You are subscribed to marketing texts. {RATES} Reply STOP to opt out."


def _on_help(shop: Shop, contact: Contact | None, phone: Any, word: str) -> Outcome:
    return "help", help_text(shop)


def _on_join(shop: Shop, contact: Contact | None, phone: Any, word: str) -> Outcome:
    if contact is not None and contact.consent_state == ConsentState.SUBSCRIBED:
        return "already_subscribed", None
    contact = contact or create_or_merge(shop=shop, phone=phone, data={}, consent=None)[0]
    _keyword_change(contact, ConsentState.PENDING, word)
    return "join_pending", f"{_name(shop)}: Reply Y to confirm you want marketing texts. {RATES} Reply STOP to opt out."


def _name(shop: Shop) -> str:
    return shop.name or shop.domain


HANDLERS = {"stop": _on_stop, "start": _on_start, "help": _on_help, "join": _on_join}


def _act(shop: Shop, contact: Contact | None, phone: Any, word: str, kind: str | None) -> Outcome:
    handler = HANDLERS.get(kind or "")
    return handler(shop, contact, phone, word) if handler else ("stored", None)


def _send(shop: Shop, contact: Contact | None, text: str, inbound: InboundMessage) -> None:
    """The answer, through the send path like every text (contacts/outbox.py): a message row
    recorded first, then a batch. A text that fails is the batch's to record and
    log; the consent change is committed already and never undone by it."""
    if contact is None:  # a stranger's HELP: its row was committed with the outcome
        assert inbound.reply_message_id is not None
        enqueue(shop=shop, message_id=inbound.reply_message_id)
        return
    send_notice(shop=shop, contact=contact, kind=AutomationKind.KEYWORD_REPLY, key=f"inbound:{inbound.id}", text=text)
