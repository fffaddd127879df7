"""Per-recipient discount codes, made by the launch's snapshot INSERT itself."""

from __future__ import annotations

from typing import Any

from sqlalchemy import func, literal

from ...bulk import on_postgresql
from ...extensions import db
from ...models import Campaign, Contact, Discount, DiscountKind


def unique_code_sql(campaign: Campaign) -> Any:
    """SQL for each recipient's own code when the campaign's discount is per recipient, NULL
    otherwise; made in the snapshot INSERT itself. `PREFIX-<contact id in hex><6 random hex>`:
    unique by construction (no birthday collisions at a million codes), not guessable from
    another shopper's code."""
    discount = db.session.get(Discount, campaign.discount_id) if campaign.discount_id else None
    if discount is None or discount.kind != DiscountKind.UNIQUE:
        return literal(None, type_=db.String)
    text = db.String
    if on_postgresql():
        contact_hex = func.to_hex(Contact.id, type_=text)
        noise = func.substr(func.md5(func.random().cast(db.Text).concat(Contact.id.cast(db.Text))), 1, 6, type_=text)
    else:
        contact_hex = func.printf("%X", Contact.id, type_=text)
        noise = func.hex(func.randomblob(3), type_=text)
    return literal(discount.code.upper() + "-", type_=text).concat(func.upper(contact_hex.concat(noise), type_=text))
