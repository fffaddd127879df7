"""/api/inbox: texts shoppers sent, threaded per contact (newest thread first)."""

from __future__ import annotations

import uuid

from flask import Response, g, jsonify, request
from sqlalchemy import func, select

from ...models import InboundMessage
from ...schemas.automations import ReplyInSchema
from ...schemas.campaigns import ListQuerySchema
from ...schemas.inbox import (
    InboundSchema,
    MarkReadInSchema,
    MarkReadSchema,
    ReplyResultSchema,
    ThreadPageSchema,
)
from ...services.automations.automations import reply
from ...services.contacts import inbox_reads
from ...services.contacts.contacts import contact_view, get_contact
from ...services.ops.pagination import page
from .blueprint import bp
from .common import json_body, query_args


@bp.get("/inbox")
def list_threads() -> Response:
    """One entry per contact who texted, with their latest text; cursor-paginated."""
    args = query_args(ListQuerySchema())
    latest = (
        select(func.max(InboundMessage.id))
        .where(InboundMessage.shop_id == g.shop.id, InboundMessage.contact_id.is_not(None))
        .group_by(InboundMessage.contact_id)
    )
    query = select(InboundMessage).where(InboundMessage.id.in_(latest.scalar_subquery()))
    rows, next_cursor = page(query, InboundMessage.id, limit=args["limit"], cursor=args["cursor"])
    unread = inbox_reads.unread_counts(shop=g.shop, contact_ids=[message.contact_id for message in rows])
    items = []
    for message in rows:
        contact = get_contact(shop=g.shop, contact_id=message.contact_id)
        view = contact_view(contact)
        items.append({"contact": view, "latest": message, "unread": unread.get(contact.id, 0)})
    return jsonify(
        ThreadPageSchema().dump(
            {"items": items, "next_cursor": next_cursor, "unread_threads": inbox_reads.unread_threads(shop=g.shop)}
        )
    )


@bp.get("/inbox/<int:contact_id>")
def thread(contact_id: int) -> Response:
    contact = get_contact(shop=g.shop, contact_id=contact_id)
    args = query_args(ListQuerySchema())
    query = select(InboundMessage).where(InboundMessage.shop_id == g.shop.id, InboundMessage.contact_id == contact.id)
    rows, next_cursor = page(query, InboundMessage.id, limit=args["limit"], cursor=args["cursor"])
    return jsonify({"items": InboundSchema(many=True).dump(rows), "next_cursor": next_cursor})


@bp.post("/inbox/<int:contact_id>/read")
def mark_thread_read(contact_id: int) -> Response:
    """Mark the contact's texts read, up to `through` when given (services/inbox_reads.py)."""
    contact = get_contact(shop=g.shop, contact_id=contact_id)
    through = json_body(MarkReadInSchema())["through"] if request.get_data(cache=True).strip() else None
    read_through, unread = inbox_reads.mark_read(shop=g.shop, contact=contact, through=through)
    return jsonify(MarkReadSchema().dump({"contact_id": contact.id, "read_through": read_through, "unread": unread}))


@bp.post("/inbox/<int:contact_id>/reply")
def reply_to_contact(contact_id: int) -> tuple[Response, int]:
    """Answer a shopper: sent through the campaign send path (consent, quiet hours, credits).
    Only to a subscribed contact, or a pending one who texted in the last 24 hours (else 409);
    a conversation's first reply gets the shop's name and STOP wording. An `Idempotency-Key`
    header makes a retried request send once."""
    contact = get_contact(shop=g.shop, contact_id=contact_id)
    text = json_body(ReplyInSchema())["text"]
    key = (request.headers.get("Idempotency-Key") or "").strip()[:100] or uuid.uuid4().hex
    run, message = reply(shop=g.shop, contact=contact, text=text, key=key)
    body = {
        "id": run.id,
        "contact_id": contact.id,
        "state": message.state.value if message else run.state.value,
        "skip_reason": message.skip_reason if message else run.cancel_reason,
        "defer_until": message.defer_until if message else None,
        "sent_at": message.sent_at if message else None,
    }
    return jsonify(ReplyResultSchema().dump(body)), 202
