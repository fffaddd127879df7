"""Campaigns end to end on the memory SMS backend: launch, send, credits, states, tenancy."""

from __future__ import annotations

import threading

import pytest
from sqlalchemy import func, select

from shopify_app.extensions import db, sms_backend
from shopify_app.models import CreditLedger, Message
from shopify_app.services.billing import credits
from shopify_app.services.sending.senders import owned_numbers

from .test_jobs import drain_if_async

SUBSCRIBE = {"consent_state": "subscribed", "consent_text": "Yes, texts please."}


@pytest.fixture
def funded(api, shop):
    """A shop with 1,000 credits, quiet hours off, and three subscribers plus one who is not."""
    credits.grant(shop_id=shop.id, amount=1000, key="grant:test")
    db.session.commit()
    api.patch("/api/settings", json={"quiet_hours": None})
    for n, name in enumerate(["Ada", "Bob", "Cy"]):
        api.post("/api/contacts", json={"phone": f"+1415555{n:04d}", "first_name": name, **SUBSCRIBE})
    api.post("/api/contacts", json={"phone": "+14155559999", "first_name": "Nope"})
    return api


def create(api, **fields):
    response = api.post("/api/campaigns", json={"name": "Winter sale", "body": "Hi {{first_name}}, 20% off!", **fields})
    assert response.status_code == 201, response.get_json()
    return response.get_json()


def launch(app, api, campaign_id, **body):
    response = api.post(f"/api/campaigns/{campaign_id}/launch", json=body or None)
    drain_if_async(app)
    return response


def test_launch_sends_to_every_subscriber_once_and_completes(app, funded, shop):
    campaign = create(funded)
    assert campaign["state"] == "draft"
    response = launch(app, funded, campaign["id"])
    assert response.status_code == 200, response.get_json()
    body = funded.get(f"/api/campaigns/{campaign['id']}").get_json()
    assert body["state"] == "completed"
    assert body["counters"]["sent"] == 3
    assert body["recipients"] == 3
    sent = sms_backend().sent
    assert sorted(m.destination for m in sent) == ["+14155550000", "+14155550001", "+14155550002"]
    ada = next(m for m in sent if m.destination.endswith("0000"))
    assert ada.text.startswith("Alpha: Hi Ada, 20% off!")
    assert "Reply STOP to opt out" in ada.text
    [own_number] = owned_numbers(shop_id=shop.id)
    assert ada.sender == own_number  # a US number: the shop's own, never an alphanumeric name
    assert set(db.session.scalars(select(Message.sender))) == {own_number}  # recorded on every message
    # Credits: spent = real segments; the rest of the hold is released; balance = sum of ledger.
    assert body["credits"]["spent"] == 3
    assert body["credits"]["held"] == 0
    assert credits.balance(shop_id=shop.id) == 1000 - 3


def test_estimate_is_an_upper_bound_of_what_is_spent(app, funded):
    campaign = create(funded, body="Hi {{first_name}} {{last_name}}! " + "x" * 100)
    estimate = funded.get(f"/api/campaigns/{campaign['id']}/estimate").get_json()
    assert estimate["recipients"] == 3
    launch(app, funded, campaign["id"])
    spent = funded.get(f"/api/campaigns/{campaign['id']}").get_json()["credits"]["spent"]
    assert spent <= estimate["credits"]


def test_insufficient_credits_is_402_and_nothing_is_queued(app, api, shop):
    api.patch("/api/settings", json={"quiet_hours": None})
    api.post("/api/contacts", json={"phone": "+14155550000", **SUBSCRIBE})
    campaign = create(api)
    response = launch(app, api, campaign["id"])
    assert response.status_code == 402
    assert response.get_json()["error"]["details"] == {"required": 1, "available": 0, "plan": "free"}
    assert db.session.scalar(select(func.count()).select_from(Message)) == 0
    assert api.get(f"/api/campaigns/{campaign['id']}").get_json()["state"] == "draft"


def test_two_concurrent_launches_with_credits_for_one(make_app):
    from .conftest import ApiClient, install_shop

    app = make_app()
    with app.app_context():
        shop_id = install_shop("alpha.myshopify.com").id
        credits.grant(shop_id=shop_id, amount=3, key="grant:test")
        db.session.commit()
        api = ApiClient(app.test_client(), "alpha.myshopify.com")
        api.patch("/api/settings", json={"quiet_hours": None})
        for n in range(3):
            api.post("/api/contacts", json={"phone": f"+1415555{n:04d}", **SUBSCRIBE})
        ids = [create(api)["id"], create(api, name="Second")["id"]]
    statuses: list[int] = []
    barrier = threading.Barrier(2)

    def go(campaign_id: int) -> None:
        with app.app_context():
            client = ApiClient(app.test_client(), "alpha.myshopify.com")
            barrier.wait()
            statuses.append(client.post(f"/api/campaigns/{campaign_id}/launch").status_code)

    threads = [threading.Thread(target=go, args=(campaign_id,)) for campaign_id in ids]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(statuses) == [200, 402]
    with app.app_context():
        assert credits.balance(shop_id=shop_id) == 0  # 3 granted, 3 spent, nothing overspent


def test_wrong_state_transitions_are_409(app, funded):
    campaign = create(funded)
    assert funded.post(f"/api/campaigns/{campaign['id']}/pause").status_code == 409
    assert funded.post(f"/api/campaigns/{campaign['id']}/resume").status_code == 409
    launch(app, funded, campaign["id"])
    assert funded.post(f"/api/campaigns/{campaign['id']}/launch").status_code == 409
    assert funded.patch(f"/api/campaigns/{campaign['id']}", json={"name": "x"}).status_code == 409


def test_invalid_campaigns_are_422(funded):
    assert funded.post("/api/campaigns", json={"name": "x", "body": "Hi {{coupon}}"}).status_code == 422
    assert funded.post("/api/campaigns", json={"name": "x"}).status_code == 422
    assert funded.post("/api/campaigns", json={"name": "x", "body": "hi", "segment_id": 999}).status_code == 422


def test_scheduled_launch_waits_for_the_scheduler(app, funded):
    from datetime import UTC, datetime, timedelta

    from shopify_app.services.sending.sweeper import sweep

    campaign = create(funded)
    later = (datetime.now(UTC) + timedelta(hours=1)).strftime("%Y-%m-%dT%H:%M:%SZ")
    body = funded.post(f"/api/campaigns/{campaign['id']}/launch", json={"send_at": later}).get_json()
    assert body["state"] == "scheduled"
    sweep(now=datetime.now(UTC))
    assert funded.get(f"/api/campaigns/{campaign['id']}").get_json()["state"] == "scheduled"
    sweep(now=datetime.now(UTC) + timedelta(hours=2))
    drain_if_async(app)
    assert funded.get(f"/api/campaigns/{campaign['id']}").get_json()["state"] == "completed"
    assert len(sms_backend().sent) == 3


def test_cancel_a_draft_and_ledger_sums_to_the_balance(app, funded, shop):
    campaign = create(funded)
    assert funded.post(f"/api/campaigns/{campaign['id']}/cancel").get_json()["state"] == "cancelled"
    total = db.session.scalar(select(func.sum(CreditLedger.amount)).where(CreditLedger.shop_id == shop.id))
    assert total == credits.balance(shop_id=shop.id) == 1000


def test_another_shops_campaign_is_404_everywhere(app, funded, other_api):
    campaign = create(funded)
    cid = campaign["id"]
    for response in (
        other_api.get(f"/api/campaigns/{cid}"),
        other_api.patch(f"/api/campaigns/{cid}", json={"name": "x"}),
        other_api.delete(f"/api/campaigns/{cid}"),
        other_api.get(f"/api/campaigns/{cid}/estimate"),
        other_api.post(f"/api/campaigns/{cid}/launch"),
        other_api.post(f"/api/campaigns/{cid}/pause"),
        other_api.post(f"/api/campaigns/{cid}/resume"),
        other_api.post(f"/api/campaigns/{cid}/cancel"),
        other_api.get(f"/api/campaigns/{cid}/messages"),
    ):
        assert response.status_code == 404
    assert other_api.get("/api/campaigns").get_json()["items"] == []


def test_templates_crud_preview_and_tenancy(funded, other_api):
    template = funded.post("/api/templates", json={"name": "Sale", "body": "Hi {{first_name}}!"}).get_json()
    assert funded.post("/api/templates", json={"name": "Sale", "body": "x"}).status_code == 409
    assert funded.post("/api/templates", json={"name": "Bad", "body": "{{nope}}"}).status_code == 422
    preview = funded.post("/api/templates/preview", json={"body": "Hi {{first_name}}! €"}).get_json()
    assert preview["text"].startswith("Alpha: Hi Alex! €")
    assert (preview["encoding"], preview["segments"]) == ("GSM-7", 1)
    ucs2 = funded.post(
        "/api/templates/preview", json={"body": "Hello \u0393\u03b5\u03b9\u03ac \U0001f600 {{first_name}}"}
    ).get_json()
    assert ucs2["encoding"] == "UCS-2"
    campaign = funded.post("/api/campaigns", json={"name": "From template", "template_id": template["id"]})
    assert campaign.get_json()["body"] == "Hi {{first_name}}!"
    assert other_api.get(f"/api/templates/{template['id']}").status_code == 404
    assert other_api.post("/api/campaigns", json={"name": "x", "template_id": template["id"]}).status_code == 422


def test_messages_are_listed_by_state_without_phone_or_text(app, funded):
    campaign = create(funded)
    launch(app, funded, campaign["id"])
    page = funded.get(f"/api/campaigns/{campaign['id']}/messages?state=sent&limit=2").get_json()
    assert len(page["items"]) == 2
    assert page["next_cursor"]
    assert set(page["items"][0]) >= {"id", "state", "segments", "sent_at"}
    assert "phone" not in page["items"][0]
    rest = funded.get(f"/api/campaigns/{campaign['id']}/messages?state=sent&cursor={page['next_cursor']}").get_json()
    assert len(rest["items"]) == 1
    assert funded.get(f"/api/campaigns/{campaign['id']}/messages?state=unknown").get_json()["items"] == []
    assert funded.get(f"/api/campaigns/{campaign['id']}/messages?state=bogus").status_code == 422


def test_messages_follow_deletes_without_foreign_keys(app, funded, shop):
    """messages has no foreign keys (migration 0011): deleting a contact keeps its messages
    pointing at nobody, deleting a campaign deletes its messages, and nothing else moves."""
    first, second = create(funded), create(funded, name="Spring sale")
    for campaign in (first, second):
        assert launch(app, funded, campaign["id"]).status_code == 200
    ada = next(c for c in funded.get("/api/contacts").get_json()["items"] if c["first_name"] == "Ada")

    assert funded.delete(f"/api/contacts/{ada['id']}").status_code == 204
    db.session.expire_all()
    assert db.session.scalar(select(func.count()).select_from(Message).where(Message.contact_id == ada["id"])) == 0
    assert db.session.scalar(select(func.count()).select_from(Message).where(Message.contact_id.is_(None))) == 2

    assert funded.delete(f"/api/campaigns/{first['id']}").status_code == 204
    db.session.expire_all()
    remaining = db.session.execute(select(Message.campaign_id, func.count()).group_by(Message.campaign_id)).all()
    assert remaining == [(second["id"], 3)]
    assert funded.get(f"/api/campaigns/{second['id']}").get_json()["counters"]["sent"] == 3


def test_batches_are_enqueued_in_one_pipeline_and_always_scoped_to_their_shop(make_app):
    from shopify_app.extensions import redis_ext
    from shopify_app.services.sending.batches import LATEST_JOB_KEY

    from .conftest import open_shop, settle_jobs

    app = make_app(QUEUE_ASYNC=True, SMS_BATCH_SIZE=2, JOB_MAX_ATTEMPTS=3)
    with app.app_context():
        api, shop = open_shop(app, credits=100)
        for n in range(5):
            assert api.post("/api/contacts", json={"phone": f"+1415555{n:04d}", **SUBSCRIBE}).status_code == 201
        campaign = create(api)
        assert api.post(f"/api/campaigns/{campaign['id']}/launch").status_code == 200
        jobs = sorted(redis_ext.queue("campaigns").jobs, key=lambda job: job.args[1])
        first = jobs[0].args[1]
        assert [job.args for job in jobs] == [(campaign["id"], low, low + 2) for low in range(first, first + 6, 2)]
        assert {job.meta["db_scope"] for job in jobs} == {shop.id}  # RLS: the shop's scope travels
        assert {job.retries_left for job in jobs} == {2}
        for job in jobs:
            latest = redis_ext.client().get(LATEST_JOB_KEY.format(campaign_id=campaign["id"], low=job.args[1]))
            assert latest.decode() == job.id
        # Redis loses them; the (privileged) sweeper re-enqueues them, still walled to the shop.
        redis_ext.client().flushdb()
        from shopify_app.services.sending.sweeper import sweep

        assert sweep()["batches"] == 3
        assert {job.meta["db_scope"] for job in redis_ext.queue("campaigns").jobs} == {shop.id}
        # A launch by privileged code (the scheduler launching a scheduled campaign) too.
        redis_ext.client().flushdb()
        from shopify_app.models import Campaign
        from shopify_app.services.campaigns.campaigns import enqueue_batches
        from shopify_app.tenancy import privileged

        with privileged():
            assert enqueue_batches(campaign=db.session.get(Campaign, campaign["id"])) == 3
        assert {job.meta["db_scope"] for job in redis_ext.queue("campaigns").jobs} == {shop.id}
        settle_jobs(app)
        body = api.get(f"/api/campaigns/{campaign['id']}").get_json()
        assert (body["state"], body["counters"]["sent"]) == ("completed", 5)


def test_a_body_and_a_template_together_are_422_never_one_silently_winning(funded):
    template = funded.post("/api/templates", json={"name": "Greeting", "body": "Hi {{first_name}}!"}).get_json()
    both = {"body": "Something else", "template_id": template["id"]}
    response = funded.post("/api/campaigns", json={"name": "Both", **both})
    assert response.status_code == 422
    assert set(response.get_json()["error"]["details"]["fields"]) == {"body", "template_id"}
    assert funded.get("/api/campaigns").get_json()["items"] == []
    campaign = create(funded)
    response = funded.patch(f"/api/campaigns/{campaign['id']}", json=both)
    assert response.status_code == 422
    assert funded.get(f"/api/campaigns/{campaign['id']}").get_json()["body"] == campaign["body"]
    # Either alone is fine; a null template_id is "no template", not a second source.
    url = f"/api/campaigns/{campaign['id']}"
    assert funded.patch(url, json={"template_id": template["id"]}).status_code == 200
    assert funded.patch(url, json={"body": "New", "template_id": None}).status_code == 200
