"""Our Shopify Flow triggers, against the loopback fake Admin API: Flow's lifecycle callback
turns each on or off per shop; a subscriber joining, opting out or clicking a campaign link
sends `flowTriggerReceive` only where a workflow uses it, only once the event is committed,
with the Shopify customer and no phone number; userErrors fail the job visibly."""

from __future__ import annotations

import logging

import pytest
from redis.exceptions import RedisError
from sqlalchemy import select
from structlog.testing import capture_logs

from shopify_app.extensions import db, sms_backend
from shopify_app.job_names import SHOPIFY_FLOW_TRIGGER
from shopify_app.models import ConsentSource, ConsentState, Contact, ShopifyFlowTrigger
from shopify_app.services.contacts.contacts import ConsentChange, apply_consent
from shopify_app.services.ops import failed_jobs
from shopify_app.services.shopify_flow.triggers import public_url

from .conftest import TEST_API_SECRET, open_shop, settle_jobs
from .shopify_flow_support import LIFECYCLE, SHOP, flow, lifecycle_body, link_customer, signed, trigger_handles

__all__ = ["flow"]  # the fixture

SHOPPER = "+14155550123"
CUSTOMER = 7004001
SECRET = "inbound-path-secret-0123456789abcdef01234567"


def enable(app, handle: str, enabled: bool = True, **kwargs) -> dict:
    response = app.test_client().post(LIFECYCLE, **signed(lifecycle_body(handle, enabled, **kwargs)))
    assert response.status_code == 200, response.get_json()
    return response.get_json()


def uses(shop_id: int) -> dict[str, bool]:
    db.session.expire_all()
    rows = db.session.scalars(select(ShopifyFlowTrigger).where(ShopifyFlowTrigger.shop_id == shop_id))
    return {row.handle: row.enabled for row in rows}


def unsubscribed_customer(api) -> Contact:
    return link_customer(api, SHOPPER, CUSTOMER, subscribed=False)


def set_consent(app, api, contact_id: int, state: str) -> None:
    body = {"consent_state": state, **({"consent_text": "ok"} if state == "subscribed" else {})}
    assert api.patch(f"/api/contacts/{contact_id}", json=body).status_code == 200
    settle_jobs(app, strict=False)


def flow_calls(fake) -> list[dict]:
    return [entry for entry in fake.requests_of("graphql") if "flowTriggerReceive" in entry["body"].get("query", "")]


# --- the lifecycle callback -----------------------------------------------------------------------


def test_the_lifecycle_callback_turns_a_trigger_on_and_off_and_an_older_callback_loses(flow):
    app, _api, shop = flow
    assert enable(app, "subscriber-joined", timestamp="2026-12-07T10:00:00Z") == {"status": "recorded"}
    assert uses(shop.id) == {"subscriber-joined": True}
    assert enable(app, "subscriber-joined", False, timestamp="2026-12-07T11:00:00.123Z") == {"status": "recorded"}
    assert uses(shop.id) == {"subscriber-joined": False}
    late = enable(app, "subscriber-joined", True, timestamp="2026-12-07T10:30:00Z")
    assert late == {"status": "stale"}
    assert uses(shop.id) == {"subscriber-joined": False}


def test_a_legacy_callback_naming_the_trigger_by_its_title_is_understood(flow):
    app, _api, shop = flow
    enable(app, "SMS campaign link clicked")
    assert uses(shop.id) == {"campaign-link-clicked": True}


def test_an_unknown_trigger_is_answered_200_and_records_nothing(flow):
    app, _api, shop = flow
    assert enable(app, "someone-elses-trigger") == {"status": "unknown_trigger"}
    assert uses(shop.id) == {}


@pytest.mark.parametrize("headers", [{"X-Shopify-Hmac-SHA256": "forged"}, {}])
def test_a_forged_or_unsigned_lifecycle_callback_is_401_and_records_nothing(flow, headers):
    app, _api, shop = flow
    request = signed(lifecycle_body("subscriber-joined", True))
    request["headers"] = headers
    response = app.test_client().post(LIFECYCLE, **request)
    assert response.status_code == 401
    assert response.get_json()["error"]["code"] == "invalid_hmac"
    assert set(response.get_json()["error"]) == {"code", "message", "details"}
    assert uses(shop.id) == {}


def test_a_callback_signed_with_another_secret_is_401(flow):
    app, _api, shop = flow
    response = app.test_client().post(LIFECYCLE, **signed(lifecycle_body("subscriber-joined", True), secret="x" * 32))
    assert response.status_code == 401
    assert uses(shop.id) == {}


def test_a_callback_for_a_shop_without_the_app_is_404_and_a_bad_body_422(flow):
    app, _api, _shop = flow
    client = app.test_client()
    unknown = client.post(LIFECYCLE, **signed(lifecycle_body("subscriber-joined", True, shop="nope.myshopify.com")))
    assert unknown.status_code == 404
    assert unknown.get_json()["error"]["code"] == "shop_not_found"
    bad = client.post(LIFECYCLE, **signed({"flow_trigger_definition_id": "subscriber-joined", "shopify_domain": SHOP}))
    assert bad.status_code == 422
    assert client.post(LIFECYCLE, **signed(None, body=b"not json")).status_code == 400


# --- sending the triggers -------------------------------------------------------------------------


def test_a_new_subscriber_sends_subscriber_joined_with_the_customer_and_no_phone(flow, fake_shopify, caplog):
    app, api, _shop = flow
    enable(app, "subscriber-joined")
    contact = unsubscribed_customer(api)
    caplog.set_level(logging.DEBUG)
    with capture_logs() as logs:
        set_consent(app, api, contact.id, "subscribed")
    [sent] = fake_shopify.flow_triggers
    assert (sent["shop"], sent["handle"]) == (SHOP, "subscriber-joined")
    assert sent["payload"] == {"customer_id": CUSTOMER, "Source": "admin"}
    assert "4155550123" not in str(flow_calls(fake_shopify)) + str(logs) + caplog.text
    assert any(entry["event"] == "shopify_flow_trigger_sent" for entry in logs)


def test_without_an_enabled_workflow_nothing_is_sent_at_all(flow, fake_shopify):
    app, api, _shop = flow
    enable(app, "subscriber-joined")
    enable(app, "subscriber-joined", False)
    enable(app, "subscriber-opted-out", False)
    contact = unsubscribed_customer(api)
    set_consent(app, api, contact.id, "subscribed")
    set_consent(app, api, contact.id, "unsubscribed")
    assert flow_calls(fake_shopify) == []


def test_only_the_shop_whose_workflow_uses_the_trigger_sends_it(flow, fake_shopify):
    app, api, _shop = flow
    other_api, _other = open_shop(app, "beta.myshopify.com", fake_shopify=fake_shopify)
    enable(app, "subscriber-joined", shop="beta.myshopify.com")
    contact = unsubscribed_customer(api)
    set_consent(app, api, contact.id, "subscribed")
    assert fake_shopify.flow_triggers == []
    beta_contact = link_customer(other_api, "+14155550124", 88, subscribed=False)
    set_consent(app, other_api, beta_contact.id, "subscribed")
    assert [(t["shop"], t["payload"]["customer_id"]) for t in fake_shopify.flow_triggers] == [
        ("beta.myshopify.com", 88)
    ]


def test_an_opt_out_by_the_merchant_sends_subscriber_opted_out(flow, fake_shopify):
    app, api, _shop = flow
    enable(app, "subscriber-opted-out")
    contact = unsubscribed_customer(api)
    set_consent(app, api, contact.id, "subscribed")
    assert fake_shopify.flow_triggers == []  # joined is not used by this shop's workflows
    set_consent(app, api, contact.id, "unsubscribed")
    [sent] = fake_shopify.flow_triggers
    assert (sent["handle"], sent["payload"]) == ("subscriber-opted-out", {"customer_id": CUSTOMER, "Source": "admin"})


def test_a_stop_texted_in_sends_subscriber_opted_out_with_the_keyword_source(make_app, fake_shopify):
    fake_shopify.flow_trigger_handles = trigger_handles()
    app = make_app(SHOPIFY_ADMIN_BASE_URL=fake_shopify.admin_base_url, MITTO_WEBHOOK_SECRET=SECRET)
    with app.app_context():
        api, shop = open_shop(app, SHOP, credits=10, fake_shopify=fake_shopify)
        enable(app, "subscriber-opted-out")
        link_customer(api, SHOPPER, CUSTOMER)
        to = f"+1212555{shop.id % 10000:04d}"
        inbound = {"from": SHOPPER, "to": to, "text": "STOP"}
        assert app.test_client().post(f"/mitto/inbound/{SECRET}", json=inbound).status_code == 202
        settle_jobs(app, strict=False)
        [sent] = fake_shopify.flow_triggers
        assert sent["payload"] == {"customer_id": CUSTOMER, "Source": "keyword"}


def test_a_click_on_a_campaign_link_sends_the_campaign_and_the_link_without_its_query(flow, fake_shopify):
    app, api, _shop = flow
    enable(app, "campaign-link-clicked")
    link_customer(api, SHOPPER, CUSTOMER)
    body = "Sale: https://alpha.myshopify.com/collections/sale?utm_source=sms&ref=4155550123#top"
    campaign = api.post("/api/campaigns", json={"name": "Winter sale", "body": body}).get_json()
    assert api.post(f"/api/campaigns/{campaign['id']}/launch").status_code == 200
    settle_jobs(app)
    [text] = [message.text for message in sms_backend().sent]
    path = "/r/" + text.split("/r/")[1].split()[0]
    assert app.test_client().get(path).status_code == 302
    settle_jobs(app)
    [sent] = fake_shopify.flow_triggers
    assert sent["payload"] == {
        "customer_id": CUSTOMER,
        "Campaign name": "Winter sale",
        "Link URL": "https://alpha.myshopify.com/collections/sale",
    }


def test_an_automations_link_keeps_only_its_origin():
    recovery = "https://alpha.myshopify.com/12/checkouts/cn/tok3n/recover?key=secret"
    assert public_url(recovery, keep_path=False) == "https://alpha.myshopify.com/"
    assert public_url("https://user:pw@alpha.example:8443/a?b=c", keep_path=True) == "https://alpha.example:8443/a"
    assert public_url("http://[", keep_path=True) == ""


def test_a_rolled_back_subscription_sends_nothing_and_a_committed_one_sends_once(flow, fake_shopify):
    app, api, _shop = flow
    enable(app, "subscriber-joined")
    contact = unsubscribed_customer(api)
    change = ConsentChange(state=ConsentState.SUBSCRIBED, source=ConsentSource.ADMIN, consent_text="ok")
    assert apply_consent(db.session.get(Contact, contact.id), change)
    db.session.flush()
    db.session.rollback()
    settle_jobs(app, strict=False)
    assert flow_calls(fake_shopify) == []
    assert apply_consent(db.session.get(Contact, contact.id), change)
    db.session.commit()
    settle_jobs(app, strict=False)
    assert len(fake_shopify.flow_triggers) == 1


def test_a_contact_with_no_shopify_customer_sends_nothing(flow, fake_shopify):
    app, api, _shop = flow
    enable(app, "subscriber-joined")
    body = {"phone": SHOPPER, "consent_state": "subscribed", "consent_text": "ok"}
    assert api.post("/api/contacts", json=body).status_code == 201
    settle_jobs(app, strict=False)
    assert flow_calls(fake_shopify) == []


def test_a_throttled_trigger_is_retried_and_sent_once(flow, fake_shopify):
    app, api, _shop = flow
    enable(app, "subscriber-joined")
    contact = unsubscribed_customer(api)
    fake_shopify.throttle_next(1)
    set_consent(app, api, contact.id, "subscribed")
    assert len(flow_calls(fake_shopify)) == 2  # THROTTLED, then accepted
    assert len(fake_shopify.flow_triggers) == 1


def test_user_errors_fail_the_job_visibly_and_log_fields_not_values(make_app, fake_shopify, caplog):
    fake_shopify.flow_trigger_handles = trigger_handles()
    app = make_app(SHOPIFY_ADMIN_BASE_URL=fake_shopify.admin_base_url, QUEUE_ASYNC=True, JOB_MAX_ATTEMPTS=1)
    with app.app_context():
        api, _shop = open_shop(app, SHOP, fake_shopify=fake_shopify)
        enable(app, "subscriber-joined")
        contact = unsubscribed_customer(api)
        error = {"field": ["payload", "customer_id"], "message": "Customer +14155550123 not found"}
        fake_shopify.user_errors_next("flowTriggerReceive", [error])
        caplog.set_level(logging.DEBUG)
        with capture_logs() as logs:
            set_consent(app, api, contact.id, "subscribed")
        [parked] = failed_jobs.list_failed()
        assert parked.func == "jobs.shopify_flow.send_trigger"
        assert "FlowTriggerRejected" in parked.error
        assert "payload.customer_id" in parked.error
        rejected = [entry for entry in logs if entry["event"] == "shopify_flow_trigger_rejected"]
        assert rejected
        assert rejected[0]["fields"] == ["payload.customer_id"]
        assert "4155550123" not in str(logs) + caplog.text + parked.error
        assert fake_shopify.flow_triggers == []


def test_a_forged_secret_cannot_turn_on_a_trigger_for_a_shop(flow, fake_shopify):
    app, api, shop = flow
    request = signed(lifecycle_body("subscriber-joined", True), secret=TEST_API_SECRET[::-1])
    assert app.test_client().post(LIFECYCLE, **request).status_code == 401
    contact = unsubscribed_customer(api)
    set_consent(app, api, contact.id, "subscribed")
    assert fake_shopify.flow_triggers == []
    assert uses(shop.id) == {}


def test_a_trigger_that_cannot_be_queued_does_not_undo_or_fail_the_subscription(flow, fake_shopify, monkeypatch):
    app, api, _shop = flow
    enable(app, "subscriber-joined")
    contact = unsubscribed_customer(api)

    def broken(*_args, **_kwargs):
        raise RedisError("connection refused")

    monkeypatch.setattr(SHOPIFY_FLOW_TRIGGER, "delay", broken)
    with capture_logs() as logs:
        set_consent(app, api, contact.id, "subscribed")
    db.session.expire_all()
    assert db.session.get(Contact, contact.id).consent_state == ConsentState.SUBSCRIBED
    assert any(entry["event"] == "shopify_flow_trigger_enqueue_failed" for entry in logs)
    assert fake_shopify.flow_triggers == []
