"""A shopper's product views (the web pixel's) are theirs: exported with a data request and
gone with a customer redaction, like every other row about them."""

from __future__ import annotations

import json

from sqlalchemy import select

from shopify_app.extensions import db
from shopify_app.models import Contact, PrivacyRequest, ProductView
from shopify_app.models.types import utcnow

from .payloads import payload
from .test_gdpr import customer_everywhere, deliver  # noqa: F401 (customer_everywhere is a fixture)


def viewed(shop, contact_id: int) -> None:
    db.session.add(
        ProductView(
            shop_id=shop.id,
            contact_id=contact_id,
            product_id=111,
            product_title="Blue mug",
            url_path="/products/blue-mug",
            event_id="v1",
            viewed_at=utcnow(),
        )
    )
    db.session.commit()


def test_a_data_request_exports_the_customers_product_views(app, customer_everywhere, shop):  # noqa: F811
    bob = db.session.scalars(select(Contact.id).order_by(Contact.id)).first()
    viewed(shop, bob)
    deliver(app, "customers/data_request", payload("customers/data_request"))
    export = json.loads(db.session.scalars(select(PrivacyRequest)).one().export)
    [view] = export["product_views"]
    assert (view["product_id"], view["title"], view["path"]) == (111, "Blue mug", "/products/blue-mug")


def test_a_customer_redaction_deletes_their_product_views(app, customer_everywhere, shop):  # noqa: F811
    bob = db.session.scalars(select(Contact.id).order_by(Contact.id)).first()
    viewed(shop, bob)
    deliver(app, "customers/redact", payload("customers/redact"))
    assert db.session.scalars(select(ProductView)).all() == []
