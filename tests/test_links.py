"""Short links (per message, tracked, never an open redirect) and order attribution."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import select

from shopify_app.extensions import db, sms_backend
from shopify_app.models import Attribution, Click, Contact, Message, ShortLink
from shopify_app.models.types import utcnow
from shopify_app.services.billing import credits as ledger
from shopify_app.services.sending import links
from shopify_app.services.sending.rendering import render_runs

from .conftest import ApiClient, install_shop, settle_jobs
from .payloads import payload
from .shopify_signing import webhook_request

SALE = "https://alpha.myshopify.com/collections/sale"
SHORT = re.compile(r"https://app\.example\.test(/r/[A-Za-z0-9_-]{8})")


@pytest.fixture
def sender(make_app):
    app = make_app(SEND_RATE_PER_ACCOUNT=0, SEND_RATE_PER_SHOP=0)
    with app.app_context():
        yield app


def funded_shop(app, domain: str, phones: list[str]) -> ApiClient:
    shop = install_shop(domain)
    ledger.grant(shop_id=shop.id, amount=100, key="grant:test")
    db.session.commit()
    api = ApiClient(app.test_client(), domain)
    api.patch("/api/settings", json={"quiet_hours": None})
    for phone in phones:
        body = {"phone": phone, "consent_state": "subscribed", "consent_text": "ok"}
        assert api.post("/api/contacts", json=body).status_code == 201
    return api


def send(app, api, body: str) -> dict:
    campaign = api.post("/api/campaigns", json={"name": body[:40], "body": body}).get_json()
    assert api.post(f"/api/campaigns/{campaign['id']}/launch").status_code == 200
    settle_jobs(app)
    return campaign


def sent_texts() -> list[str]:
    return [message.text for message in sms_backend().sent]


def test_each_message_gets_its_own_short_link_to_the_original(sender):
    api = funded_shop(sender, "alpha.myshopify.com", ["+14155550101", "+14155550102"])
    send(sender, api, f"Sale today: {SALE}.")
    texts = sent_texts()
    paths = [SHORT.search(text).group(1) for text in texts]
    assert len(set(paths)) == 2  # one per message
    assert all(text.startswith("Alpha: Sale today: https://app.example.test/r/") for text in texts)
    assert all(". Reply STOP to opt out" in text for text in texts)  # trailing punctuation kept
    response = sender.test_client().get(paths[0], headers={"User-Agent": "Mozilla/5.0 (iPhone)"})
    assert response.status_code == 302
    assert response.headers["Location"].startswith(SALE + "?sb_t=")  # the browse token (test_pixel_links.py)
    assert response.headers["Cache-Control"] == "no-store"
    click = db.session.scalars(select(Click)).one()
    assert click.user_agent == "Mozilla/5.0 (iPhone)"
    assert click.ip_hash is not None
    assert "127.0.0.1" not in (click.ip_hash or "")
    link = db.session.get(ShortLink, click.short_link_id)
    assert link.url_ciphertext != SALE  # sealed at rest
    assert db.session.get(Contact, click.contact_id).last_clicked_at is not None


def test_links_elsewhere_are_left_alone_and_proxy_links_are_not_shortened(sender):
    api = funded_shop(sender, "alpha.myshopify.com", ["+14155550101"])
    send(sender, api, "See https://evil.example/x and {{unsubscribe_url}}")
    [text] = sent_texts()
    assert "https://evil.example/x" in text
    assert "/apps/sms/unsubscribe?t=" in text
    assert SHORT.search(text) is None


def test_a_shops_own_link_hosts_are_shortened(sender):
    api = funded_shop(sender, "alpha.myshopify.com", ["+14155550101"])
    assert api.patch("/api/settings", json={"link_hosts": ["shop.alpha.example"]}).status_code == 200
    assert api.patch("/api/settings", json={"link_hosts": ["not a host"]}).status_code == 422
    send(sender, api, "New in: https://shop.alpha.example/new")
    [text] = sent_texts()
    path = SHORT.search(text).group(1)
    assert sender.test_client().get(path).headers["Location"] == "https://shop.alpha.example/new"


def test_a_link_whose_host_is_no_longer_allowed_is_refused_not_redirected(sender):
    api = funded_shop(sender, "alpha.myshopify.com", ["+14155550101"])
    api.patch("/api/settings", json={"link_hosts": ["shop.alpha.example"]})
    send(sender, api, "New in: https://shop.alpha.example/new")
    path = SHORT.search(sent_texts()[0]).group(1)
    api.patch("/api/settings", json={"link_hosts": []})
    response = sender.test_client().get(path + "?next=https://evil.example")
    assert response.status_code == 400
    assert response.mimetype == "text/html"  # a shopper's phone gets a page, not JSON
    assert "link_target_not_allowed" in response.get_data(as_text=True)
    assert "Location" not in response.headers
    assert sender.test_client().get("/r/AAAAAAAA").status_code == 404
    assert db.session.scalars(select(Click)).all() == []


def test_a_click_counts_for_the_shop_whose_link_it_is(sender):
    alpha = funded_shop(sender, "alpha.myshopify.com", ["+14155550101"])
    beta = funded_shop(sender, "beta.myshopify.com", ["+14155550101"])
    beta.patch("/api/settings", json={"link_hosts": ["beta.example"]})
    send(sender, alpha, f"Alpha sale {SALE}")
    beta_campaign = send(sender, beta, "Beta sale https://beta.example/sale")
    beta_text = next(t for t in sent_texts() if "Beta sale" in t)
    sender.test_client().get(SHORT.search(beta_text).group(1))
    click = db.session.scalars(select(Click)).one()
    assert click.campaign_id == beta_campaign["id"]
    assert click.shop_id == db.session.get(ShortLink, click.short_link_id).shop_id
    assert beta.get(f"/api/reports/campaigns/{beta_campaign['id']}").get_json()["clicks"] == 1
    alpha_campaign = alpha.get("/api/campaigns").get_json()["items"][0]["id"]
    assert alpha.get(f"/api/reports/campaigns/{alpha_campaign}").get_json()["clicks"] == 0
    assert alpha.get("/api/reports/summary").get_json()["clicks"] == 0


def test_the_estimate_counts_a_short_link_longer_than_the_url(sender):
    api = funded_shop(sender, "alpha.myshopify.com", ["+14155550101"])
    base = "x" * 100
    short_url = "https://alpha.myshopify.com/a"  # 29 characters; its short link is 35
    campaign = api.post("/api/campaigns", json={"name": "c", "body": f"{base} {short_url}"}).get_json()
    estimate = api.get(f"/api/campaigns/{campaign['id']}/estimate").get_json()
    # "Alpha: " + 100 + " " + 35 + " Reply STOP to opt out" = 165 > 160: two segments.
    assert estimate["segments_per_message"] == 2
    api.post(f"/api/campaigns/{campaign['id']}/launch")
    settle_jobs(sender)
    assert db.session.scalars(select(Message.segments)).one() == 2


# --- attribution ----------------------------------------------------------------------------------


def order_for(app, phone: str, order_id: int, **changes) -> None:
    body = payload("orders/create", id=order_id, created_at=utcnow().isoformat(), **changes)
    body["customer"] = {"id": None, "phone": phone}
    response = app.test_client().post("/webhooks/shopify", **webhook_request("orders/create", body))
    assert response.status_code == 200
    settle_jobs(app)


def test_an_order_after_a_click_is_attributed_to_the_clicked_campaign(sender):
    api = funded_shop(sender, "alpha.myshopify.com", ["+14155550101", "+14155550102"])
    first = send(sender, api, f"First {SALE}")
    send(sender, api, "Second, no link")
    clicked = next(t for t in sent_texts() if t.startswith("Alpha: First"))
    sender.test_client().get(SHORT.search(clicked).group(1))
    clicker = db.session.scalars(select(Click)).one().contact_id
    phone = db.session.get(Contact, clicker).phone
    order_for(sender, phone, 1001, total_price="59.90", currency="EUR")
    attribution = db.session.scalars(select(Attribution)).one()
    assert (attribution.kind.value, attribution.campaign_id) == ("click", first["id"])
    assert (str(attribution.amount), attribution.currency) == ("59.90", "EUR")
    order_for(sender, phone, 1001, total_price="59.90")  # the same order again: one attribution
    assert len(db.session.scalars(select(Attribution)).all()) == 1


def test_without_a_click_the_last_message_within_a_day_is_a_view_through(sender):
    api = funded_shop(sender, "alpha.myshopify.com", ["+14155550101"])
    campaign = send(sender, api, "No link here")
    order_for(sender, "+14155550101", 2001)
    attribution = db.session.scalars(select(Attribution)).one()
    assert (attribution.kind.value, attribution.campaign_id) == ("view", campaign["id"])
    db.session.execute(db.update(Message).values(sent_at=utcnow() - timedelta(days=2)))
    db.session.commit()
    order_for(sender, "+14155550101", 2002)
    assert len(db.session.scalars(select(Attribution)).all()) == 1  # too long ago: not attributed


# --- malformed URLs and odd text never raise, and a shopper's name is never a link ---------------

ODD_TEXT = st.one_of(
    st.text(st.characters(blacklist_categories=()), max_size=80),
    st.sampled_from(["http://[", "https://[::1", f"{SALE}/x", "https://alpha.myshopify.com:99999/", "\ud800"]),
)
FIXTURE_PROPERTY = settings(
    max_examples=60, deadline=None, derandomize=True, suppress_health_check=[HealthCheck.function_scoped_fixture]
)


@pytest.fixture
def alpha(sender):
    return install_shop("alpha.myshopify.com")


@FIXTURE_PROPERTY
@given(name=ODD_TEXT)
def test_a_shoppers_name_is_never_shortened_and_never_breaks_shortening(alpha, name):
    body = "Hi {{first_name}}, " + SALE + " {{last_name}}"
    runs = render_runs(body, {"first_name": name, "last_name": name, "shop_name": "Alpha"})
    ids = {"campaign_id": 1, "message_id": 1, "contact_id": 1}
    text, rows = links.shorten_runs(runs, shop=alpha, hosts=links.allowed_hosts(alpha), **ids)
    assert len(rows) == 1  # the template's link, only
    link = "https://app.example.test/r/" + rows[0]["code"]
    assert text == (f"Hi {name}, {link} {name}" if name else f"Hi, {link}")


@FIXTURE_PROPERTY
@given(text=ODD_TEXT, tail=ODD_TEXT)
def test_shortening_any_text_never_raises(alpha, text, tail):
    body = f"{text} {SALE}{tail} http://[{tail}"
    shortened, rows = links.shorten(
        body, shop=alpha, hosts=links.allowed_hosts(alpha), campaign_id=1, message_id=1, contact_id=None
    )
    assert len(rows) <= body.count("https://")
    assert shortened.count("https://app.example.test/r/") >= len(rows)
    links.estimation_body(body, shop=alpha)
