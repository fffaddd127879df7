"""Numeric senders: which shop a number belongs to (the operator's assignment) and who held it.

Only an operator assigns a number (`flask senders`, `/ops/senders`), after provisioning it at
Mitto for that shop; a merchant chooses among the shop's own numbers (services/settings.py).
A number belongs to one shop at a time: assigning a number another shop holds is a 409 until
it is released. Every assignment is kept (`sender_assignments`), so a STOP to a released number
can still reach each shop that ever texted from it (services/inbound.py).

The functions that look across shops (assign, release, listing, routing) run privileged (the
operator's CLI and routes, Mitto's callbacks); `owned_numbers` also runs in a shop's scope.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError

from ...errors import Conflict, NotFound, ValidationFailed
from ...extensions import db
from ...models import SenderAssignment, SenderNumber, Shop
from ...models.types import utcnow
from ..contacts.phones import normalise_phone


@dataclass(frozen=True)
class NumberView:
    number: str
    shop_domain: str | None
    assigned_at: datetime | None
    released_at: datetime | None
    note: str | None


def normalise_number(raw: object, *, field: str = "number") -> str:
    """An operator's number as E.164: written with its country code (`+1 415 555 0142`); no
    country is guessed for a number that belongs to a shop."""
    if not isinstance(raw, str) or not raw.strip().startswith("+"):
        raise ValidationFailed(details={"fields": {field: ["Give the number in E.164, e.g. +14155550142."]}})
    return normalise_phone(raw, default_region=None, field=field).e164


def number_texted(to: str) -> str:
    """The number an inbound text was sent to, as stored: gateways drop the `+` of E.164."""
    digits = "".join(char for char in to if char.isdigit())
    try:
        return normalise_phone("+" + digits, default_region=None).e164
    except ValidationFailed:
        return "+" + digits  # matches no assigned number: counted as an unknown number


def shop_by_domain(domain: str) -> Shop:
    shop = db.session.scalar(select(Shop).where(Shop.domain == domain.strip().lower()))
    if shop is None:
        raise NotFound(f"No shop {domain.strip().lower()!r}.", code="shop_not_found")
    return shop


def assign(*, number: str, shop_domain: str, note: str | None = None) -> NumberView:
    """Give `number` to the shop (idempotent for its current owner); 409 while another holds it."""
    e164 = normalise_number(number)
    shop = shop_by_domain(shop_domain)
    row = db.session.scalar(select(SenderNumber).where(SenderNumber.number == e164).with_for_update())
    if row is not None and row.shop_id is not None and row.shop_id != shop.id:
        db.session.rollback()
        raise Conflict(
            "This number belongs to another shop; release it first.", code="number_taken", details={"number": e164}
        )
    if row is None or row.shop_id is None:
        now = utcnow()
        if row is None:
            row = SenderNumber(number=e164)
            db.session.add(row)
        row.shop_id, row.assigned_at, row.released_at = shop.id, now, None
        db.session.add(SenderAssignment(number=e164, shop_id=shop.id, assigned_at=now))
    if note is not None:
        row.note = note
    try:
        db.session.commit()
    except IntegrityError:  # a concurrent assign of the same new number won
        db.session.rollback()
        raise Conflict("This number was just assigned; list the numbers and retry.", code="number_taken") from None
    return _view(row, shop.domain)


def release(*, number: str) -> NumberView:
    """The number belongs to nobody from now on (idempotent); its history stays."""
    e164 = normalise_number(number)
    row = db.session.scalar(select(SenderNumber).where(SenderNumber.number == e164).with_for_update())
    if row is None:
        raise NotFound("No such number.", code="number_not_found", details={"number": e164})
    if row.shop_id is not None:
        now = utcnow()
        db.session.execute(
            update(SenderAssignment)
            .where(SenderAssignment.number == e164, SenderAssignment.released_at.is_(None))
            .values(released_at=now),
            execution_options={"synchronize_session": False},
        )
        row.shop_id, row.released_at = None, now
    db.session.commit()
    return _view(row, None)


def list_numbers() -> list[NumberView]:
    rows = db.session.execute(
        select(SenderNumber, Shop.domain).outerjoin(Shop, Shop.id == SenderNumber.shop_id).order_by(SenderNumber.number)
    ).all()
    return [_view(row, domain) for row, domain in rows]


def _view(row: SenderNumber, domain: str | None) -> NumberView:
    return NumberView(row.number, domain, row.assigned_at, row.released_at, row.note)


def owned_numbers(*, shop_id: int) -> list[str]:
    """The shop's numbers, oldest assignment first."""
    statement = (
        select(SenderNumber.number)
        .where(SenderNumber.shop_id == shop_id)
        .order_by(SenderNumber.assigned_at, SenderNumber.id)
    )
    return list(db.session.scalars(statement))


def owner_of(number: str) -> Shop | None:
    """The one shop that holds `number` now (the unique number makes it one or none)."""
    return db.session.scalar(
        select(Shop).join(SenderNumber, SenderNumber.shop_id == Shop.id).where(SenderNumber.number == number)
    )


def past_holders(number: str) -> list[Shop]:
    """Every shop that ever held `number`, so ever texted from it (oldest first)."""
    held = select(SenderAssignment.shop_id).where(SenderAssignment.number == number).distinct()
    return list(db.session.scalars(select(Shop).where(Shop.id.in_(held)).order_by(Shop.id)))


def by_sender(rows: Any, senders: list[str | None]) -> list[tuple[str | None, Any]]:
    """`rows` (a list, or a tuple of parallel columns) split by sender, for a send batch's
    statements to bind the sender once (services/sending/state.py): one group, `rows` itself, for a
    batch with one sender (nearly all); two when an alphanumeric shop also texts US/CA numbers."""
    distinct = set(senders)
    if len(distinct) <= 1:
        return [(senders[0], rows)] if senders else []
    groups = []
    for sender in sorted(distinct, key=str):
        keep = [index for index, value in enumerate(senders) if value == sender]
        if isinstance(rows, list):
            groups.append((sender, [rows[index] for index in keep]))
        else:
            groups.append((sender, type(rows)(*([column[index] for index in keep] for column in rows))))
    return groups
