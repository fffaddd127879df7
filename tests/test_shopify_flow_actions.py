"""Our Shopify Flow actions: signed like webhooks (forged: 401 before parsing), checked (a bad
body is a 4xx Flow does not retry), recorded once per action run and answered 200 at once; the
job texts a subscribed customer exactly once through the send path, or tags the subscriber,
and writes the outcome on the request row."""

from __future__ import annotations

import logging

import pytest
from redis.exceptions import RedisError
from sqlalchemy import func, select
from structlog.testing import capture_logs

from shopify_app.extensions import db, sms_backend
from shopify_app.models import AutomationRun, Contact, Message, ShopifyFlowAction, ShopifyFlowActionState
from shopify_app.models.types import utcnow
from shopify_app.services.shopify_flow import actions

from .conftest import settle_jobs
from .payloads import payload
from .shopify_flow_support import ADD_TAG, SEND_SMS, action_body, flow, link_customer, signed
from .shopify_signing import webhook_request

__all__ = ["flow"]  # the fixture

SHOPPER = "+14155550123"
CUSTOMER = 7004001
MESSAGE = "Hi {{first_name}}, your VIP code is ROSE20."


def post(app, path: str, payload: dict | None, **kwargs):
    return app.test_client().post(path, **signed(payload, **kwargs))


def texts_to(phone: str) -> list[str]:
    return [sms.text for sms in sms_backend().sent if sms.destination == phone]


def the_request() -> ShopifyFlowAction:
    db.session.expire_all()
    return db.session.scalars(select(ShopifyFlowAction)).one()


def send_sms(app, *, customer=CUSTOMER, message=MESSAGE, run_id="run-1"):
    body = action_body({"customer_id": customer, "message": message}, run_id=run_id)
    return post(app, SEND_SMS, body)


def test_send_sms_answers_200_at_once_and_texts_the_subscriber_once(flow):
    app, api, _shop = flow
    link_customer(api, SHOPPER, CUSTOMER)
    response = send_sms(app, customer=f"gid://shopify/Customer/{CUSTOMER}")
    assert response.status_code == 200
    assert response.get_json() == {"status": "accepted"}
    settle_jobs(app)
    [text] = texts_to(SHOPPER)
    assert text.startswith("Alpha: Hi Ana, your VIP code is ROSE20.")
    assert "Reply STOP to opt out" in text  # marketing: the footer is added
    row = the_request()
    assert (row.state, row.outcome, row.handle) == (ShopifyFlowActionState.DONE, "queued", "send-sms")
    assert (row.action_run_id, row.shopify_customer_id) == ("run-1", CUSTOMER)
    assert "ROSE20" not in row.properties_ciphertext  # sealed
    assert str(CUSTOMER) not in row.properties_ciphertext
    assert row.properties == f'{{"customer_id":{CUSTOMER},"message":"{MESSAGE}"}}'


def test_a_repeated_action_run_answers_200_and_does_nothing_new(flow):
    app, api, _shop = flow
    link_customer(api, SHOPPER, CUSTOMER)
    assert send_sms(app).get_json() == {"status": "accepted"}
    settle_jobs(app)
    again = send_sms(app)
    assert again.status_code == 200
    assert again.get_json() == {"status": "duplicate"}
    settle_jobs(app)
    assert len(texts_to(SHOPPER)) == 1
    assert db.session.scalar(select(func.count()).select_from(ShopifyFlowAction)) == 1


def test_the_job_run_twice_even_after_a_crash_before_its_outcome_sends_once(flow):
    app, api, _shop = flow
    link_customer(api, SHOPPER, CUSTOMER)
    send_sms(app)
    settle_jobs(app)
    row = the_request()
    assert actions.run_action(action_id=row.id) == "queued"  # done: the recorded outcome
    # A worker that died after sending but before writing the outcome: the job runs again.
    row.state, row.outcome, row.completed_at = ShopifyFlowActionState.RECEIVED, None, None
    db.session.commit()
    assert actions.run_action(action_id=row.id) == "queued"
    settle_jobs(app)
    assert len(texts_to(SHOPPER)) == 1
    assert db.session.scalar(select(func.count()).select_from(Message).where(Message.contact_id.is_not(None))) == 1
    assert db.session.scalar(select(AutomationRun.trigger_key)) == "flow:run-1"
    assert the_request().attempts == 2


def test_a_customer_who_is_not_subscribed_gets_nothing(flow):
    app, api, _shop = flow
    link_customer(api, SHOPPER, CUSTOMER, subscribed=False)
    assert send_sms(app).status_code == 200
    settle_jobs(app)
    assert texts_to(SHOPPER) == []
    assert the_request().outcome == "not_subscribed"
    assert db.session.scalar(select(func.count()).select_from(AutomationRun)) == 0


def test_a_customer_who_is_no_contact_gets_nothing(flow):
    app, api, _shop = flow
    link_customer(api, SHOPPER, CUSTOMER)
    assert send_sms(app, customer=999).status_code == 200
    settle_jobs(app)
    assert sms_backend().sent == []
    assert the_request().outcome == "no_contact"


def test_add_subscriber_tag_adds_the_tag_once(flow):
    app, api, _shop = flow
    contact = link_customer(api, SHOPPER, CUSTOMER)
    body = action_body({"customer_id": str(CUSTOMER), "tag": "flow-vip"}, run_id="tag-1", handle="add-subscriber-tag")
    assert post(app, ADD_TAG, body).get_json() == {"status": "accepted"}
    settle_jobs(app)
    db.session.expire_all()
    assert db.session.get(Contact, contact.id).tag_names == ["flow-vip"]
    assert the_request().outcome == "tagged"
    second = action_body({"customer_id": CUSTOMER, "tag": "flow-vip"}, run_id="tag-2", handle="add-subscriber-tag")
    post(app, ADD_TAG, second)
    settle_jobs(app)
    db.session.expire_all()
    assert db.session.get(Contact, contact.id).tag_names == ["flow-vip"]
    assert db.session.scalars(select(ShopifyFlowAction.outcome).order_by(ShopifyFlowAction.id)).all() == [
        "tagged",
        "already_tagged",
    ]


@pytest.mark.parametrize("path", [SEND_SMS, ADD_TAG])
def test_a_forged_action_is_401_before_anything_is_read_or_recorded(flow, path):
    app, api, _shop = flow
    link_customer(api, SHOPPER, CUSTOMER)
    body = action_body({"customer_id": CUSTOMER, "message": "Hi", "tag": "x"})
    forged = post(app, path, body, secret="not-the-app-secret-000000000000")
    assert forged.status_code == 401
    assert forged.get_json()["error"]["code"] == "invalid_hmac"
    unsigned = app.test_client().post(path, data=b"{not json", content_type="application/json")
    assert unsigned.status_code == 401  # not 400: the signature is checked before parsing
    settle_jobs(app)
    assert db.session.scalar(select(func.count()).select_from(ShopifyFlowAction)) == 0
    assert sms_backend().sent == []


def test_an_action_for_a_shop_without_the_app_is_a_4xx_flow_does_not_retry(flow):
    app, _api, shop = flow
    unknown = post(app, SEND_SMS, action_body({"customer_id": 1, "message": "Hi"}, shop="nope.myshopify.com"))
    assert (unknown.status_code, unknown.get_json()["error"]["code"]) == (404, "shop_not_found")
    shop.uninstalled_at = utcnow()
    db.session.commit()
    gone = post(app, SEND_SMS, action_body({"customer_id": 1, "message": "Hi"}))
    assert (gone.status_code, gone.get_json()["error"]["code"]) == (410, "shop_uninstalled")
    assert db.session.scalar(select(func.count()).select_from(ShopifyFlowAction)) == 0


@pytest.mark.parametrize(
    ("path", "properties", "field"),
    [
        (SEND_SMS, {"customer_id": CUSTOMER}, "message"),
        (SEND_SMS, {"customer_id": CUSTOMER, "message": "Hi {{order_number}}"}, "message"),
        (SEND_SMS, {"customer_id": CUSTOMER, "message": "x" * 1601}, "message"),
        (SEND_SMS, {"customer_id": CUSTOMER, "message": "   "}, "message"),
        (SEND_SMS, {"customer_id": "gid://shopify/Order/1", "message": "Hi"}, "customer_id"),
        (SEND_SMS, {"customer_id": True, "message": "Hi"}, "customer_id"),
        (ADD_TAG, {"customer_id": CUSTOMER, "tag": "a,b"}, "tag"),
        (ADD_TAG, {"customer_id": CUSTOMER, "tag": "t" * 65}, "tag"),
    ],
)
def test_a_bad_body_is_422_naming_the_field_and_records_nothing(flow, path, properties, field):
    app, _api, _shop = flow
    response = post(app, path, action_body(properties))
    assert response.status_code == 422
    error = response.get_json()["error"]
    assert error["code"] == "validation_failed"
    assert field in str(error["details"])
    assert db.session.scalar(select(func.count()).select_from(ShopifyFlowAction)) == 0


def test_a_body_without_a_run_id_or_not_json_is_4xx(flow):
    app, _api, _shop = flow
    body = action_body({"customer_id": CUSTOMER, "message": "Hi"})
    del body["action_run_id"]
    assert post(app, SEND_SMS, body).status_code == 422
    assert post(app, SEND_SMS, None, body=b"[1, 2]").status_code == 400
    assert post(app, SEND_SMS, None, body=b"\xff\xfe").status_code == 400


def test_when_the_job_cannot_be_queued_the_answer_is_503_and_flows_retry_queues_it(flow, monkeypatch):
    app, api, _shop = flow
    link_customer(api, SHOPPER, CUSTOMER)
    real = actions.enqueue

    def broken(**_kwargs):
        raise RedisError("connection refused")

    monkeypatch.setattr(actions, "enqueue", broken)
    assert send_sms(app).status_code == 503
    monkeypatch.setattr(actions, "enqueue", real)
    retry = send_sms(app)
    assert retry.status_code == 200
    assert retry.get_json() == {"status": "duplicate"}
    settle_jobs(app)
    assert len(texts_to(SHOPPER)) == 1
    assert the_request().outcome == "queued"


def test_no_phone_number_or_message_text_reaches_the_logs(flow, caplog):
    app, api, _shop = flow
    link_customer(api, SHOPPER, CUSTOMER)
    caplog.set_level(logging.DEBUG)
    with capture_logs() as logs:
        send_sms(app)
        settle_jobs(app)
    assert len(texts_to(SHOPPER)) == 1
    logged = str(logs) + caplog.text
    assert "4155550123" not in logged
    assert "ROSE20" not in logged
    assert any(entry["event"] == "shopify_flow_action_done" for entry in logs)


def test_customers_redact_deletes_the_customers_action_runs_and_no_others(flow):
    app, api, _shop = flow
    link_customer(api, SHOPPER, CUSTOMER)
    send_sms(app, run_id="theirs")
    send_sms(app, customer=555, run_id="someone-else")
    settle_jobs(app)
    body = payload("customers/redact", customer={"id": CUSTOMER, "phone": SHOPPER, "email": None})
    response = app.test_client().post("/webhooks/shopify", **webhook_request("customers/redact", body))
    assert response.status_code == 200
    settle_jobs(app)
    db.session.expire_all()
    assert db.session.scalars(select(ShopifyFlowAction.action_run_id)).all() == ["someone-else"]
