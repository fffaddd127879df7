"""A flow's branch questions, answered for one run: yes or no, and why in words the flow's page
shows (no PII: an order's Shopify number, amounts, tag names the merchant chose).

- ordered: an order of the contact created since the run began
- clicked: a click on a short link of a text this run sent (run steps -> automation runs ->
  messages -> clicks)
- has_tag: the contact has the tag (case-insensitive, as the tag trigger matches)
- spent_over: the contact's lifetime spend is above the amount
- in_segment: the segment's filters, evaluated for this one contact by the same conditions a
  campaign's audience uses; a deleted segment, or another shop's, is "no" (never everyone)
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from sqlalchemy import and_, exists, select

from ...extensions import db
from ...models import Click, Contact, FlowRun, FlowRunStep, Message, Order, Segment
from ..campaigns.segments import audience_conditions, segment_filters


@dataclass(frozen=True)
class Answer:
    yes: bool
    reason: str


def answer(test: Mapping[str, Any], run: FlowRun, contact: Contact) -> Answer:
    """The condition's answer for this run's contact (definition.py checked `test`'s shape)."""
    kind = test.get("kind")
    if kind == "ordered":
        return _ordered(run)
    if kind == "clicked":
        return _clicked(run)
    if kind == "has_tag":
        wanted = str(test.get("tag", "")).casefold()
        present = any(tag.casefold() == wanted for tag in contact.tag_names)
        return Answer(present, "tag present" if present else "tag absent")
    if kind == "spent_over":
        return _spent_over(contact, Decimal(str(test.get("amount", 0))))
    if kind == "in_segment":
        return _in_segment(run, int(test.get("segment_id") or 0))
    raise ValueError(f"unknown condition kind {kind!r}")


def order_since(run: FlowRun) -> Order | None:
    """The contact's first order created since the run began (also the engine's exit check)."""
    return db.session.scalar(
        select(Order)
        .where(Order.shop_id == run.shop_id, Order.contact_id == run.contact_id, Order.created_at >= run.started_at)
        .order_by(Order.created_at, Order.id)
        .limit(1)
    )


def _ordered(run: FlowRun) -> Answer:
    order = order_since(run)
    if order is None:
        return Answer(False, "no order since the flow began")
    return Answer(True, f"order {order.shopify_order_id} placed")


def _clicked(run: FlowRun) -> Answer:
    sent = select(FlowRunStep.automation_run_id).where(
        FlowRunStep.run_id == run.id, FlowRunStep.automation_run_id.is_not(None)
    )
    messages = select(Message.id).where(Message.shop_id == run.shop_id, Message.automation_run_id.in_(sent))
    clicked = db.session.scalar(
        select(exists().where(Click.shop_id == run.shop_id, Click.message_id.in_(messages.scalar_subquery())))
    )
    return Answer(bool(clicked), "clicked a link" if clicked else "no click yet")


def _spent_over(contact: Contact, amount: Decimal) -> Answer:
    spent = Decimal(contact.total_spent or 0).quantize(Decimal("0.01"))
    if spent > amount:
        return Answer(True, f"spent {spent} > {amount}")
    return Answer(False, f"spent {spent}, not over {amount}")


def _in_segment(run: FlowRun, segment_id: int) -> Answer:
    segment = db.session.get(Segment, segment_id) if segment_id else None
    if segment is None or segment.shop_id != run.shop_id:
        return Answer(False, "segment deleted: treated as not in segment")
    conditions = audience_conditions(shop_id=run.shop_id, filters=segment_filters(segment))
    found = db.session.scalar(select(exists().where(and_(Contact.id == run.contact_id, *conditions))))
    return Answer(bool(found), "in segment" if found else "not in segment")
