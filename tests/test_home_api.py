"""The home screen's data: GET /api/home (setup steps and figures in one answer, this shop's
only), and GET /api/setup (the checklist), the period summary's subscribers gained and
GET /api/billing/ledger (the credit ledger, a page at a time)."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

from shopify_app.extensions import db
from shopify_app.models import Campaign, ConsentEvent, ConsentSource, ConsentState, CreditPurchase, PurchaseStatus
from shopify_app.models.types import utcnow
from shopify_app.services.billing import credits
from shopify_app.services.contacts.contacts import ConsentChange, apply_consent, create_or_merge, parse_phone

from .conftest import ApiClient, install_shop
from .shopify_signing import proxy_query

FORM = {"phone": "(415) 555-0142", "consent": "on", "consent_text": "Text me offers. Reply STOP to opt out."}


def test_a_new_shop_has_its_number_and_nothing_else_done(api):
    answer = api.get("/api/home")
    assert answer.status_code == 200
    body = answer.get_json()
    assert body["setup"] == {
        "sender": True,
        "storefront_signup": False,
        "first_campaign": False,
        "billing": False,
        "complete": False,
    }
    assert body["balance"] == 0
    assert body["last_30_days"]["subscribers_gained"] == 0
    assert body["last_30_days"]["revenue"] == {}
    assert body["recent_campaigns"] == []
    assert body["shop"]["domain"] == "alpha.myshopify.com"


def test_a_shop_without_a_number_has_the_sender_step_to_do(app):
    from .conftest import ApiClient

    install_shop("numberless.myshopify.com", number=None)
    body = ApiClient(app.test_client(), "numberless.myshopify.com").get("/api/home").get_json()
    assert body["setup"]["sender"] is False


def test_a_storefront_sign_up_and_a_subscriber_count_once(app, api):
    client = app.test_client()
    response = client.post("/proxy/subscribe?" + proxy_query(shop="alpha.myshopify.com"), data=FORM)
    assert response.status_code == 201
    added = api.post(
        "/api/contacts",
        json={"phone": "+14155550143", "consent_state": "subscribed", "consent_text": "Said yes at the till"},
    )
    assert added.status_code in (200, 201), added.get_json()
    body = api.get("/api/home").get_json()
    assert body["setup"]["storefront_signup"] is True
    # The form's sign-up is pending (double opt-in), the one added in the admin is subscribed.
    assert body["last_30_days"]["subscribers_gained"] == 1


def test_drafts_are_recent_campaigns_but_not_the_first_campaign_step(api):
    created = api.post("/api/campaigns", json={"name": "Draft one", "body": "Hello {{first_name}}"})
    assert created.status_code == 201, created.get_json()
    body = api.get("/api/home").get_json()
    assert [c["name"] for c in body["recent_campaigns"]] == ["Draft one"]
    assert body["setup"]["first_campaign"] is False


def test_another_shops_campaigns_and_sign_ups_are_not_counted(app, api, other_api):
    other_api.post("/api/campaigns", json={"name": "Theirs", "body": "Hi"})
    app.test_client().post("/proxy/subscribe?" + proxy_query(shop="beta.myshopify.com"), data=FORM)
    body = api.get("/api/home").get_json()
    assert body["recent_campaigns"] == []
    assert body["setup"]["storefront_signup"] is False


def test_the_home_needs_a_session_token(app, shop):
    assert app.test_client().get("/api/home").status_code == 401


# --- GET /api/setup, the summary's subscribers gained, GET /api/billing/ledger ---


def subscribe(shop, phone: str, source: ConsentSource):
    contact = create_or_merge(shop=shop, phone=parse_phone(shop, phone), data={}, consent=None)[0]
    apply_consent(contact, ConsentChange(state=ConsentState.SUBSCRIBED, source=source, consent_text="Yes."))
    db.session.commit()
    return contact


def test_a_new_shop_has_only_its_sender_set_up(app):
    shop = install_shop("alpha.myshopify.com")
    api = ApiClient(app.test_client(), shop.domain)
    assert api.get("/api/setup").get_json() == {
        "sender": True,
        "storefront_signup": False,
        "first_campaign": False,
        "billing": False,
        "complete": False,
    }
    bare = install_shop("bare.myshopify.com", number=None)
    assert ApiClient(app.test_client(), bare.domain).get("/api/setup").get_json()["sender"] is False


def test_each_step_is_done_by_what_it_names(app):
    shop = install_shop("alpha.myshopify.com")
    api = ApiClient(app.test_client(), shop.domain)
    subscribe(shop, "+14155550101", ConsentSource.ADMIN)  # added by the merchant: not the storefront
    assert api.get("/api/setup").get_json()["storefront_signup"] is False
    contact = subscribe(shop, "+14155550102", ConsentSource.PROXY_FORM)
    apply_consent(contact, ConsentChange(state=ConsentState.UNSUBSCRIBED, source=ConsentSource.KEYWORD))
    db.session.commit()
    assert api.get("/api/setup").get_json()["storefront_signup"] is True  # the form worked once
    draft = api.post("/api/campaigns", json={"name": "Sale", "body": "Hi"}).get_json()
    assert api.get("/api/setup").get_json()["first_campaign"] is False
    db.session.get(Campaign, draft["id"]).launched_at = utcnow()
    db.session.add(
        CreditPurchase(
            shop_id=shop.id, charge_id="gid://1", pack="p", credits=1, price=Decimal(1), status=PurchaseStatus.ACTIVE
        )
    )
    db.session.commit()
    assert api.get("/api/setup").get_json() == {
        "sender": True,
        "storefront_signup": True,
        "first_campaign": True,
        "billing": True,
        "complete": True,
    }


def test_an_active_plan_counts_as_billing_set_up_and_another_shops_steps_do_not_count(app):
    shop = install_shop("alpha.myshopify.com")
    other = install_shop("beta.myshopify.com")
    subscribe(other, "+14155550103", ConsentSource.PROXY_FORM)
    shop.subscription_status = "ACTIVE"
    db.session.commit()
    body = ApiClient(app.test_client(), shop.domain).get("/api/setup").get_json()
    assert (body["billing"], body["storefront_signup"]) == (True, False)


def test_the_summary_counts_subscribers_gained_in_the_period_each_once(app):
    shop = install_shop("alpha.myshopify.com")
    api = ApiClient(app.test_client(), shop.domain)
    returning = subscribe(shop, "+14155550104", ConsentSource.PROXY_FORM)
    apply_consent(returning, ConsentChange(state=ConsentState.UNSUBSCRIBED, source=ConsentSource.KEYWORD))
    apply_consent(returning, ConsentChange(state=ConsentState.SUBSCRIBED, source=ConsentSource.KEYWORD))
    old = subscribe(shop, "+14155550105", ConsentSource.IMPORT)
    for event in db.session.query(ConsentEvent).filter(ConsentEvent.contact_id == old.id):
        event.occurred_at = utcnow() - timedelta(days=40)
    db.session.commit()
    subscribe(shop, "+14155550106", ConsentSource.ADMIN)
    assert api.get("/api/reports/summary").get_json()["subscribers_gained"] == 2
    csv_lines = api.get("/api/reports/summary?format=csv").get_data(as_text=True).splitlines()
    assert csv_lines[0].endswith(",subscribers_gained")
    assert csv_lines[1].endswith(",2")


def test_the_ledger_pages_newest_first_and_shows_only_the_shops_rows(app):
    shop = install_shop("alpha.myshopify.com")
    other = install_shop("beta.myshopify.com")
    for n in range(3):
        credits.grant(shop_id=shop.id, amount=10 + n, key=f"grant:{n}", note="test")
    credits.grant(shop_id=other.id, amount=99, key="grant:other")
    db.session.commit()
    api = ApiClient(app.test_client(), shop.domain)
    first = api.get("/api/billing/ledger?limit=2").get_json()
    assert [row["amount"] for row in first["items"]] == [12, 11]
    assert first["items"][0]["kind"] == "grant"
    rest = api.get(f"/api/billing/ledger?limit=2&cursor={first['next_cursor']}").get_json()
    assert [row["amount"] for row in rest["items"]] == [10]
    assert rest["next_cursor"] is None
    assert api.get("/api/billing/ledger?cursor=nonsense").status_code == 400
