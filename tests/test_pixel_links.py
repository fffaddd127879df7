"""The browse token a short link adds (services/pixel/browse_links.py): only when the link was
texted to a contact and leads to the shop's own storefront; the token names the contact and
shop by id (signed, purpose "browse"), never the phone, and every other query parameter stays."""

from __future__ import annotations

import re
from urllib.parse import parse_qsl, urlsplit

import pytest

from shopify_app.extensions import db, sms_backend
from shopify_app.models import Contact
from shopify_app.security.link_tokens import read_link_token
from shopify_app.services.pixel.browse_links import with_browse_token

from .conftest import install_shop
from .test_links import funded_shop, send

SHORT = re.compile(r"https://app\.example\.test(/r/[A-Za-z0-9_-]{8})")
PHONE = "+14155550101"


@pytest.fixture
def sender(make_app):
    app = make_app(SEND_RATE_PER_ACCOUNT=0, SEND_RATE_PER_SHOP=0)
    with app.app_context():
        yield app


def follow_each(app) -> list[str]:
    client = app.test_client()
    locations = []
    for message in sms_backend().sent:
        for path in SHORT.findall(message.text):
            response = client.get(path)
            assert response.status_code == 302
            locations.append(response.headers["Location"])
    return locations


def test_a_storefront_link_carries_the_contacts_browse_token_and_keeps_its_query(sender):
    api = funded_shop(sender, "alpha.myshopify.com", [PHONE])
    send(sender, api, "New in: https://alpha.myshopify.com/products/mug?variant=5&utm_source=sms")
    [location] = follow_each(sender)
    parts = urlsplit(location)
    assert (parts.scheme, parts.netloc, parts.path) == ("https", "alpha.myshopify.com", "/products/mug")
    query = parse_qsl(parts.query)
    assert [key for key, _ in query] == ["variant", "utm_source", "sb_t"]
    assert dict(query)["variant"] == "5"
    claims = read_link_token("browse", dict(query)["sb_t"])
    contact = db.session.query(Contact).one()
    assert (claims.contact_id, claims.shop_id) == (contact.id, contact.shop_id)
    assert PHONE.lstrip("+") not in location


def test_links_to_other_hosts_are_left_as_they_were(sender):
    api = funded_shop(sender, "alpha.myshopify.com", [PHONE])
    api.patch("/api/settings", json={"link_hosts": ["shop.alpha.example"]})
    ups = "https://www.ups.com/track?num=1Z"
    send(sender, api, f"Tracking {ups} and https://shop.alpha.example/sale?x=1")
    assert sorted(follow_each(sender)) == sorted([ups, "https://shop.alpha.example/sale?x=1"])


def test_only_a_contacts_link_gets_a_token_and_only_its_own_shops(app):
    shop = install_shop("alpha.myshopify.com")
    url = "https://alpha.myshopify.com/products/mug"
    assert with_browse_token(url, shop=shop, contact_id=None) == url  # a test send names no contact
    assert with_browse_token("http://alpha.myshopify.com/x", shop=shop, contact_id=1) == "http://alpha.myshopify.com/x"
    assert with_browse_token("https://beta.myshopify.com/x", shop=shop, contact_id=1) == "https://beta.myshopify.com/x"
    stale = with_browse_token(url + "?sb_t=forged", shop=shop, contact_id=3)
    assert stale.count("sb_t=") == 1
    assert "forged" not in stale
    assert read_link_token("browse", dict(parse_qsl(urlsplit(stale).query))["sb_t"]).contact_id == 3
