"""A/B tests of campaigns end to end on the memory SMS backend: the split at launch, the held
rest, the decision (once, automatic or the merchant's), what the rest receive, cancel, the
report, validation and tenancy. The statistics alone: tests/test_ab_stats.py."""

from __future__ import annotations

import re
import threading
from collections import Counter
from datetime import timedelta

import pytest
from sqlalchemy import func, select, update

from shopify_app.bulk import bulk_insert
from shopify_app.extensions import db, sms_backend
from shopify_app.models import AbTest, Campaign, CampaignVariant, ConsentState, Contact, Message
from shopify_app.models.types import utcnow
from shopify_app.services.billing import credits
from shopify_app.services.campaigns import ab_split, ab_tests
from shopify_app.services.contacts.phones import Phone
from shopify_app.services.contacts.transfers import NewContactRows
from shopify_app.services.sending import sweeper

from .conftest import ApiClient, open_shop, settle_jobs
from .payloads import payload
from .shopify_signing import webhook_request

BODIES = ["Alpha sale A", "Alpha sale B https://alpha.myshopify.com/b", "Alpha sale C"]
SETTINGS = {"test_share": 30, "metric": "clicks", "wait_hours": 4, "decision": "auto"}
RECIPIENTS = 40  # 30 %: 12 in the test, 4 per variant; 28 held


def ready_shop(app, recipients):
    """An installed shop with 1,000 credits, quiet hours off, and `recipients` subscribers
    (+1415555 0000, 0001, ...), inserted in bulk as an import makes them."""
    api, shop = open_shop(app, credits=1000)
    rows = NewContactRows(shop.id)
    bulk_insert(
        Contact.__table__,
        [
            rows.row(Phone(e164, "US", "America/Los_Angeles"), rows.phone_hash(e164), {}, ConsentState.SUBSCRIBED)
            for e164 in (f"+1415555{n:04d}" for n in range(recipients))
        ],
    )
    db.session.commit()
    return api, shop


@pytest.fixture
def ab(app):
    """A shop with 40 subscribers and a draft campaign A/B-testing three bodies on clicks."""
    api, shop = ready_shop(app, RECIPIENTS)
    campaign = api.post("/api/campaigns", json={"name": "Split", "body": "placeholder"}).get_json()
    response = api.put(f"/api/campaigns/{campaign['id']}/ab-test", json=ab_test_body())
    assert response.status_code == 200, response.get_json()
    return api, shop, campaign["id"]


def ab_test_body(**changes):
    return {"variants": [{"body": body} for body in BODIES], **SETTINGS, **changes}


def launch(app, api, campaign_id):
    response = api.post(f"/api/campaigns/{campaign_id}/launch")
    assert response.status_code == 200, response.get_json()
    settle_jobs(app)


def variants_by_contact(campaign_id):
    query = select(Message.contact_id, Message.variant).where(Message.campaign_id == campaign_id)
    return dict(db.session.execute(query).tuples().all())


def texts_by_body():
    """How many texts went out with each variant's body (the shop-name prefix and footer aside)."""
    counts = Counter()
    for message in sms_backend().sent:
        counts[next(label for label in "ABC" if f"Alpha sale {label}" in message.text)] += 1
    return counts


def end_wait(campaign_id):
    db.session.execute(
        update(AbTest).where(AbTest.campaign_id == campaign_id).values(decide_at=utcnow() - timedelta(minutes=1))
    )
    db.session.commit()


def click(app, destination):
    text = next(m.text for m in sms_backend().sent if m.destination == destination)
    path = re.search(r"/r/[A-Za-z0-9_-]{8}", text).group(0)
    assert app.test_client().get(path).status_code == 302


def test_the_launch_tests_the_share_evenly_and_holds_the_rest_until_the_decision(app, ab):
    api, _, campaign_id = ab
    launch(app, api, campaign_id)
    assert texts_by_body() == {"A": 4, "B": 4, "C": 4}
    rows = db.session.execute(
        select(Message.state, Message.variant, Message.defer_until, func.count())
        .where(Message.campaign_id == campaign_id)
        .group_by(Message.state, Message.variant, Message.defer_until)
    ).all()
    assert sorted(rows, key=str) == sorted(
        [("sent", label, None, 4) for label in "ABC"] + [("deferred", None, None, 28)], key=str
    )
    # The sweeper (deferrals, re-enqueues, completion) and a pause and resume leave them held.
    sweeper.sweep(now=utcnow() + timedelta(days=3))
    api.post(f"/api/campaigns/{campaign_id}/pause")
    api.post(f"/api/campaigns/{campaign_id}/resume")
    settle_jobs(app)
    assert len(sms_backend().sent) == 12
    view = api.get(f"/api/campaigns/{campaign_id}").get_json()
    assert view["state"] == "sending"
    # The launch held credits for all 40 at the longest body's length (B: its short link).
    assert view["credits"]["reserved"] == 40
    report = api.get(f"/api/campaigns/{campaign_id}/ab-test").get_json()
    assert (report["status"], report["test_recipients"], report["held_recipients"]) == ("testing", 12, 28)
    assert [(v["label"], v["recipients"], v["sent"]) for v in report["variants"]] == [
        ("A", 4, 4),
        ("B", 4, 4),
        ("C", 4, 4),
    ]


def test_a_contact_gets_the_same_variant_when_the_split_runs_again(app, ab):
    api, _, campaign_id = ab
    launch(app, api, campaign_id)
    first = variants_by_contact(campaign_id)
    assert Counter(first.values()) == {"A": 4, "B": 4, "C": 4, None: 28}
    # The snapshot as the launch wrote it (every row held, no variant), split once more.
    db.session.execute(update(Message).where(Message.campaign_id == campaign_id).values(state="deferred", variant=None))
    ab_split.split_audience(campaign=db.session.get(Campaign, campaign_id), now=utcnow())
    db.session.commit()
    assert variants_by_contact(campaign_id) == first


def test_the_rest_receive_the_winners_body_once_the_wait_ends(app, ab):
    api, shop, campaign_id = ab
    launch(app, api, campaign_id)
    b_phones = [m.destination for m in sms_backend().sent if "Alpha sale B" in m.text]
    for destination in b_phones[:2]:
        click(app, destination)
    assert ab_tests.decide_due() == 0  # the wait has not ended
    end_wait(campaign_id)
    assert ab_tests.decide_due() == 1
    settle_jobs(app)
    assert texts_by_body() == {"A": 4, "B": 4 + 28, "C": 4}
    report = api.get(f"/api/campaigns/{campaign_id}/ab-test").get_json()
    assert (report["status"], report["winner"], report["decided_by"]) == ("decided", "B", "auto")
    b = next(v for v in report["variants"] if v["label"] == "B")
    assert (b["clicks"], b["clickers"], b["click_rate"], b["p_value"]) == (2, 2, 0.5, None)  # the leader
    assert report["p_value"] is not None  # 0/4, 2/4, 0/4: chance
    assert report["significant"] is False
    view = api.get(f"/api/campaigns/{campaign_id}").get_json()
    assert view["state"] == "completed"
    assert view["credits"]["held"] == 0
    assert credits.balance(shop_id=shop.id) == 1000 - view["credits"]["spent"]
    assert ab_tests.decide_due() == 0  # decided once: a second run finds nothing


def test_two_deciders_at_once_decide_once_and_release_the_rest_once(make_app):
    app = make_app()
    with app.app_context():
        api, _ = ready_shop(app, 20)
        campaign_id = api.post("/api/campaigns", json={"name": "Race", "body": "x"}).get_json()["id"]
        api.put(f"/api/campaigns/{campaign_id}/ab-test", json=ab_test_body(test_share=30))  # 6 tested, 2 each; 14 held
        launch(app, api, campaign_id)
        end_wait(campaign_id)
    outcomes: list[str | None] = []
    barrier = threading.Barrier(2)

    def decide(winner: str) -> None:
        with app.app_context():
            barrier.wait()
            outcomes.append(ab_tests.decide(campaign_id=campaign_id, winner=winner, decided_by="race"))

    threads = [threading.Thread(target=decide, args=(label,)) for label in "AC"]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    with app.app_context():
        [winner] = [outcome for outcome in outcomes if outcome is not None]
        assert outcomes.count(None) == 1
        settle_jobs(app)
        test = db.session.scalar(select(AbTest).where(AbTest.campaign_id == campaign_id))
        assert test.winner == winner
        held = Message.campaign_id == campaign_id, Message.variant == winner
        assert db.session.scalar(select(func.count()).where(*held)) == 14 + 2  # the rest, and its own tested rows
        assert len(sms_backend().sent) == 20  # every recipient once


def test_a_manual_test_waits_for_the_merchants_pick_and_is_decided_once(app, ab):
    api, _, campaign_id = ab
    api.put(f"/api/campaigns/{campaign_id}/ab-test", json=ab_test_body(decision="manual"))
    launch(app, api, campaign_id)
    end_wait(campaign_id)
    assert ab_tests.decide_due() == 0
    assert api.get(f"/api/campaigns/{campaign_id}/ab-test").get_json()["status"] == "awaiting_pick"
    response = api.post(f"/api/campaigns/{campaign_id}/ab-test/winner", json={"variant": "C"})
    assert response.status_code == 200, response.get_json()
    assert response.get_json()["winner"] == "C"
    assert response.get_json()["decided_by"].startswith("user:")  # the session token's user
    settle_jobs(app)
    assert texts_by_body() == {"A": 4, "B": 4, "C": 4 + 28}
    again = api.post(f"/api/campaigns/{campaign_id}/ab-test/winner", json={"variant": "A"})
    assert again.status_code == 409
    assert again.get_json()["error"]["code"] == "ab_test_decided"
    assert again.get_json()["error"]["details"]["winner"] == "C"


def test_cancelling_during_the_wait_cancels_the_held_rest_and_releases_its_credits(app, ab):
    api, shop, campaign_id = ab
    launch(app, api, campaign_id)
    assert api.post(f"/api/campaigns/{campaign_id}/cancel").status_code == 200
    states = dict(
        db.session.execute(
            select(Message.state, func.count()).where(Message.campaign_id == campaign_id).group_by(Message.state)
        ).all()
    )
    assert states == {"sent": 12, "cancelled": 28}
    view = api.get(f"/api/campaigns/{campaign_id}").get_json()
    assert view["credits"]["held"] == 0
    assert credits.balance(shop_id=shop.id) == 1000 - 12
    end_wait(campaign_id)
    assert ab_tests.decide_due() == 0
    assert api.get(f"/api/campaigns/{campaign_id}/ab-test").get_json()["status"] == "abandoned"
    picked = api.post(f"/api/campaigns/{campaign_id}/ab-test/winner", json={"variant": "A"})
    assert picked.status_code == 409


def test_the_report_counts_each_variants_orders_and_revenue(app, ab):
    api, _, campaign_id = ab
    api.put(f"/api/campaigns/{campaign_id}/ab-test", json=ab_test_body(metric="revenue"))
    launch(app, api, campaign_id)
    b_phones = [m.destination for m in sms_backend().sent if "Alpha sale B" in m.text]
    for order_id, (destination, price) in enumerate(zip(b_phones, ("40.00", "20.00"), strict=False), start=1):
        click(app, destination)
        moment = utcnow().isoformat()
        order = payload("orders/create", id=order_id, total_price=price, currency="USD", created_at=moment)
        order["customer"] = {"id": None, "phone": destination}
        assert app.test_client().post("/webhooks/shopify", **webhook_request("orders/create", order)).status_code == 200
    settle_jobs(app)
    report = api.get(f"/api/campaigns/{campaign_id}/ab-test").get_json()
    b = next(v for v in report["variants"] if v["label"] == "B")
    assert (b["orders"], b["buyers"], b["revenue"], b["revenue_per_recipient"]) == (2, 2, 60.0, 15.0)
    assert (b["order_rate"], b["click_rate"]) == (0.5, 0.5)
    assert (report["leader"], report["currency"], report["metric"]) == ("B", "USD", "revenue")
    a = next(v for v in report["variants"] if v["label"] == "A")
    # Welch: A is all zeros (no variance), B has some: a test is possible, and not significant at n=4.
    assert a["p_value"] is not None
    assert a["significant"] is False


def test_the_estimate_holds_for_the_longest_variant(app, ab):
    api, _, campaign_id = ab
    long_body = "Alpha sale B " + "y" * 200  # two segments
    api.put(f"/api/campaigns/{campaign_id}/ab-test", json=ab_test_body(variants=[{"body": "Hi"}, {"body": long_body}]))
    estimate = api.get(f"/api/campaigns/{campaign_id}/estimate").get_json()
    assert estimate["segments_per_message"] == 2
    assert estimate["credits"] == 2 * RECIPIENTS


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"variants": [{"body": "only one"}]}, "variants"),
        ({"variants": [{"body": f"v{n}"} for n in range(5)]}, "variants"),
        ({"test_share": 4}, "test_share"),
        ({"test_share": 51}, "test_share"),
        ({"wait_hours": 0}, "wait_hours"),
        ({"wait_hours": 49}, "wait_hours"),
        ({"metric": "opens"}, "metric"),
        ({"decision": "later"}, "decision"),
        ({"variants": [{"body": "ok"}, {"body": "Hi {{nope}}"}]}, "variants.1.body"),
        ({"variants": [{"body": "ok"}, {"body": ""}]}, "variants"),
    ],
)
def test_invalid_settings_are_422_naming_the_field(app, ab, changes, field):
    api, _, campaign_id = ab
    response = api.put(f"/api/campaigns/{campaign_id}/ab-test", json=ab_test_body(**changes))
    assert response.status_code == 422, response.get_json()
    error = response.get_json()["error"]
    assert list(error["details"]["fields"]) == [field]


def test_a_launched_test_cannot_change_and_a_pick_needs_a_launch_and_a_real_variant(app, ab):
    api, _, campaign_id = ab
    early = api.post(f"/api/campaigns/{campaign_id}/ab-test/winner", json={"variant": "A"})
    assert (early.status_code, early.get_json()["error"]["code"]) == (409, "invalid_state")
    assert api.post(f"/api/campaigns/{campaign_id}/ab-test/winner", json={"variant": "D"}).status_code == 422
    assert api.post(f"/api/campaigns/{campaign_id}/ab-test/winner", json={"variant": "Z"}).status_code == 422
    launch(app, api, campaign_id)
    assert api.put(f"/api/campaigns/{campaign_id}/ab-test", json=ab_test_body()).status_code == 409
    assert api.delete(f"/api/campaigns/{campaign_id}/ab-test").status_code == 409


def test_removing_the_test_makes_a_plain_campaign_again(app, ab):
    api, _, campaign_id = ab
    assert api.delete(f"/api/campaigns/{campaign_id}/ab-test").status_code == 204
    assert api.get(f"/api/campaigns/{campaign_id}/ab-test").status_code == 404
    assert api.get(f"/api/campaigns/{campaign_id}").get_json()["body"] == BODIES[0]  # variant A stays
    launch(app, api, campaign_id)
    assert texts_by_body() == {"A": RECIPIENTS}
    assert db.session.scalar(select(func.count()).where(Message.variant.is_not(None))) == 0


def test_another_shops_campaign_is_404_on_every_ab_route(app, ab):
    from .conftest import install_shop

    api, _, campaign_id = ab
    other = ApiClient(app.test_client(), install_shop("beta.myshopify.com").domain)
    path = f"/api/campaigns/{campaign_id}/ab-test"
    assert other.get(path).status_code == 404
    assert other.put(path, json=ab_test_body()).status_code == 404
    assert other.delete(path).status_code == 404
    assert other.post(path + "/winner", json={"variant": "A"}).status_code == 404
    assert api.get(path).get_json()["variants"][0]["body"] == BODIES[0]  # untouched


def test_deleting_a_draft_deletes_its_test_and_variants(app, ab):
    api, _, campaign_id = ab
    assert api.delete(f"/api/campaigns/{campaign_id}").status_code == 204
    db.session.expire_all()
    assert db.session.scalar(select(func.count()).select_from(AbTest)) == 0
    assert db.session.scalar(select(func.count()).select_from(CampaignVariant)) == 0
