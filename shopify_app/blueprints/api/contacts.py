"""/api/contacts: subscribers of the session's shop."""

from __future__ import annotations

from flask import Response, g, jsonify

from ...models import ConsentSource, ConsentState
from ...schemas.campaigns import ListQuerySchema
from ...schemas.contacts import (
    ConsentEventSchema,
    ContactCreateSchema,
    ContactListQuerySchema,
    ContactMessageSchema,
    ContactSchema,
    ContactUpdateSchema,
    TagsSchema,
)
from ...services.contacts import contacts
from .blueprint import bp
from .common import audit_target, json_body, query_args

contact_schema = ContactSchema()


def _admin_consent(data: dict[str, object]) -> contacts.ConsentChange | None:
    state = data.pop("consent_state", None)
    text = data.pop("consent_text", None)
    if state is None:
        return None
    return contacts.ConsentChange(state=ConsentState(str(state)), source=ConsentSource.ADMIN, consent_text=text)  # type: ignore[arg-type]


def _dump(contact: object) -> dict[str, object]:
    return dict(contact_schema.dump(contacts.contact_view(contact)))  # type: ignore[arg-type]


@bp.get("/contacts")
def list_contacts() -> Response:
    args = query_args(ContactListQuerySchema())
    rows, next_cursor = contacts.list_contacts(shop=g.shop, **args)
    return jsonify({"items": [_dump(row) for row in rows], "next_cursor": next_cursor})


@bp.post("/contacts")
def create_contact() -> tuple[Response, int]:
    data = json_body(ContactCreateSchema())
    consent = _admin_consent(data)
    phone = contacts.parse_phone(g.shop, data.pop("phone"))
    contact, created = contacts.create_or_merge(shop=g.shop, phone=phone, data=data, consent=consent)
    audit_target("contact", contact.id)
    return jsonify(_dump(contact)), 201 if created else 200


@bp.get("/contacts/<int:contact_id>")
def get_contact(contact_id: int) -> Response:
    return jsonify(_dump(contacts.get_contact(shop=g.shop, contact_id=contact_id)))


@bp.patch("/contacts/<int:contact_id>")
def update_contact(contact_id: int) -> Response:
    data = json_body(ContactUpdateSchema())
    consent = _admin_consent(data)
    contact = contacts.update_contact(shop=g.shop, contact_id=contact_id, data=data, consent=consent)
    return jsonify(_dump(contact))


@bp.delete("/contacts/<int:contact_id>")
def delete_contact(contact_id: int) -> tuple[str, int]:
    contacts.delete_contact(shop=g.shop, contact_id=contact_id)
    return "", 204


@bp.post("/contacts/<int:contact_id>/tags")
def add_tags(contact_id: int) -> Response:
    contacts.get_contact(shop=g.shop, contact_id=contact_id)  # another shop's id: 404 before 422
    data = json_body(TagsSchema())
    return jsonify(_dump(contacts.add_tags(shop=g.shop, contact_id=contact_id, tags=data["tags"])))


@bp.delete("/contacts/<int:contact_id>/tags/<tag>")
def remove_tag(contact_id: int, tag: str) -> Response:
    return jsonify(_dump(contacts.remove_tag(shop=g.shop, contact_id=contact_id, tag=tag)))


@bp.get("/contacts/<int:contact_id>/consent-events")
def consent_events(contact_id: int) -> Response:
    events = contacts.consent_history(shop=g.shop, contact_id=contact_id)
    return jsonify({"items": ConsentEventSchema(many=True).dump(events)})


@bp.get("/contacts/<int:contact_id>/messages")
def contact_messages(contact_id: int) -> Response:
    """Texts sent to this contact, newest first, cursor-paginated."""
    args = query_args(ListQuerySchema())
    rows, next_cursor = contacts.sent_messages(
        shop=g.shop, contact_id=contact_id, limit=args["limit"], cursor=args["cursor"]
    )
    return jsonify({"items": ContactMessageSchema(many=True).dump(rows), "next_cursor": next_cursor})
