"""Segments: saved filters evaluated as one SQL query over contacts (never a Python loop)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from sqlalchemy import Select, and_, exists, func, select
from sqlalchemy.exc import IntegrityError

from ...bulk import lock_for_update
from ...errors import Conflict, NotFound
from ...extensions import db
from ...models import Campaign, CampaignState, ConsentState, Contact, ContactTag, Segment, Shop
from ...models.types import utcnow
from ...schemas.segments import filters_for_storage, filters_from_storage
from ..shops.owned import owned
from .commerce_filters import commerce_conditions


def _has_tag(shop_id: int, tags: list[str]) -> Any:
    return exists().where(ContactTag.contact_id == Contact.id, ContactTag.shop_id == shop_id, ContactTag.tag.in_(tags))


def audience_conditions(*, shop_id: int, filters: Mapping[str, Any]) -> list[Any]:
    """The WHERE conditions on `contacts` of the shop's contacts matching `filters` (loaded, not
    stored form)."""
    conditions: list[Any] = [Contact.shop_id == shop_id]
    if "consent_state" in filters:
        conditions.append(Contact.consent_state == ConsentState(filters["consent_state"]))
    if filters.get("tags_any"):
        conditions.append(_has_tag(shop_id, filters["tags_any"]))
    for tag in filters.get("tags_all") or []:
        conditions.append(_has_tag(shop_id, [tag]))
    if filters.get("tags_none"):
        conditions.append(~_has_tag(shop_id, filters["tags_none"]))
    if filters.get("country_codes"):
        conditions.append(Contact.country_code.in_(filters["country_codes"]))
    for key, column, op in (
        ("created_from", Contact.created_at, "ge"),
        ("created_to", Contact.created_at, "lt"),
        ("last_order_from", Contact.last_order_at, "ge"),
        ("last_order_to", Contact.last_order_at, "lt"),
    ):
        if key in filters:
            conditions.append(column >= filters[key] if op == "ge" else column < filters[key])
    if "has_ordered" in filters:
        conditions.append(Contact.order_count > 0 if filters["has_ordered"] else Contact.order_count == 0)
    if "has_clicked" in filters:
        clicked = Contact.last_clicked_at.is_not(None)
        conditions.append(clicked if filters["has_clicked"] else ~clicked)
    return conditions + commerce_conditions(shop_id=shop_id, filters=filters, now=utcnow())


def audience_query(*, shop_id: int, filters: Mapping[str, Any]) -> Select[tuple[int]]:
    """`SELECT contacts.id` of the shop's contacts matching `filters` (loaded, not stored form)."""
    return select(Contact.id).where(and_(*audience_conditions(shop_id=shop_id, filters=filters)))


def count_audience(*, shop: Shop, filters: Mapping[str, Any]) -> dict[str, int]:
    """Matching contacts, and how many of them may be messaged (subscribed). One pass over the
    contacts the conditions select (no join back to contacts), which the covering index on the
    filter columns (migration 0024) answers without reading the wide, sealed rows."""
    subscribed = func.count().filter(Contact.consent_state == ConsentState.SUBSCRIBED)
    row = db.session.execute(
        select(func.count(), subscribed).where(and_(*audience_conditions(shop_id=shop.id, filters=filters)))
    ).one()
    return {"count": int(row[0]), "subscribed": int(row[1])}


def get_segment(*, shop: Shop, segment_id: int) -> Segment:
    return owned(Segment, shop=shop, row_id=segment_id, what="segment")


def segment_filters(segment: Segment) -> dict[str, Any]:
    return filters_from_storage(segment.filters)


def list_segments(*, shop: Shop) -> list[Segment]:
    return list(db.session.scalars(select(Segment).where(Segment.shop_id == shop.id).order_by(Segment.name)))


def save_segment(*, shop: Shop, data: Mapping[str, Any], segment: Segment | None = None) -> Segment:
    segment = segment or Segment(shop_id=shop.id, filters={})
    if "name" in data:
        segment.name = data["name"]
    if "filters" in data:
        segment.filters = filters_for_storage(data["filters"])
    db.session.add(segment)
    try:
        db.session.commit()
    except IntegrityError:
        db.session.rollback()
        raise Conflict(
            "A segment with this name exists.", code="segment_name_taken", details={"fields": {"name": ["Taken."]}}
        ) from None
    return segment


# A campaign in these states still resolves its audience from its segment (at launch) or may
# still be resumed; later ones keep the filters frozen at launch (`campaigns.audience`).
SEGMENT_USERS = (CampaignState.DRAFT, CampaignState.SCHEDULED, CampaignState.SENDING, CampaignState.PAUSED)


def referenced_segment(*, shop: Shop, segment_id: int) -> int | None:
    """The id of the shop's segment a campaign is about to reference, locked FOR KEY SHARE until
    the campaign's transaction ends (None when there is no such segment): a concurrent
    `delete_segment` waits, then sees the campaign; a delete that locked first has gone."""
    return db.session.scalar(
        select(Segment.id)
        .where(Segment.id == segment_id, Segment.shop_id == shop.id)
        .with_for_update(read=True, key_share=True)
    )


def delete_segment(*, shop: Shop, segment_id: int) -> None:
    """Delete a segment no live campaign uses (409 `segment_in_use` naming them otherwise):
    the database would set their `segment_id` to NULL, and NULL means every subscriber."""
    segment = get_segment(shop=shop, segment_id=segment_id)
    if db.session.scalar(lock_for_update(Segment, segment.id)) is None:
        raise NotFound("No such segment.", code="segment_not_found")  # a concurrent delete won
    rows = db.session.execute(
        select(Campaign.id, Campaign.name, Campaign.state)
        .where(Campaign.shop_id == shop.id, Campaign.segment_id == segment.id, Campaign.state.in_(SEGMENT_USERS))
        .order_by(Campaign.id)
    ).all()
    users = [{"id": id_, "name": name, "state": CampaignState(state).value} for id_, name, state in rows]
    if users:
        db.session.rollback()
        raise Conflict(
            "Campaigns still use this segment: change their audience or cancel them first.",
            code="segment_in_use",
            details={"campaigns": users},
        )
    db.session.delete(segment)
    db.session.commit()
