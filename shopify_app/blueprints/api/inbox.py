"""/api/inbox: texts shoppers sent, threaded per contact (newest thread first)."""

from __future__ import annotations

from flask import Response, g, jsonify
from marshmallow import Schema, fields
from sqlalchemy import func, select

from ...models import InboundMessage
from ...schemas.campaigns import ListQuerySchema
from ...services.contacts import contact_view, get_contact
from ...services.pagination import page
from . import bp
from .common import query_args


class InboundSchema(Schema):
    id = fields.Integer()
    text = fields.String(allow_none=True)
    keyword = fields.String(allow_none=True)
    outcome = fields.String(allow_none=True)
    received_at = fields.DateTime()


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
    items = []
    for message in rows:
        contact = get_contact(shop=g.shop, contact_id=message.contact_id)
        view = contact_view(contact)
        items.append(
            {
                "contact": {k: view[k] for k in ("id", "phone", "first_name", "last_name", "consent_state")},
                "latest": InboundSchema().dump(message),
            }
        )
    return jsonify({"items": items, "next_cursor": next_cursor})


@bp.get("/inbox/<int:contact_id>")
def thread(contact_id: int) -> Response:
    contact = get_contact(shop=g.shop, contact_id=contact_id)
    args = query_args(ListQuerySchema())
    query = select(InboundMessage).where(InboundMessage.shop_id == g.shop.id, InboundMessage.contact_id == contact.id)
    rows, next_cursor = page(query, InboundMessage.id, limit=args["limit"], cursor=args["cursor"])
    return jsonify({"items": InboundSchema(many=True).dump(rows), "next_cursor": next_cursor})
