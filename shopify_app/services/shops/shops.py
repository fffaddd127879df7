"""Shops: installation records and profile."""

from __future__ import annotations

from sqlalchemy import select

from ...extensions import db
from ...models import Shop
from ...models.types import utcnow


def upsert_demo_shop(*, domain: str) -> Shop:
    shop = db.session.scalar(select(Shop).where(Shop.domain == domain))
    if shop is None:
        shop = Shop(domain=domain, settings={})
        db.session.add(shop)
    shop.name = "Demo Shop"
    shop.country_code = "US"
    shop.currency = "USD"
    shop.timezone = "America/New_York"
    shop.installed_at = shop.installed_at or utcnow()
    shop.uninstalled_at = None
    db.session.commit()
    return shop
