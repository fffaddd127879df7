"""A campaign reaches exactly the audience the merchant chose, and a cancel that answered 200
holds: segments in use cannot be deleted, a vanished segment never means "everyone", and
launches, cancels, pauses and resumes change a campaign's state under its row lock.

The races run for real on PostgreSQL (one connection holds the lock, a request in another
thread waits on it); SQLite runs the sequential interleavings.
"""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import func, select, text, update

from shopify_app.extensions import db
from shopify_app.models import Campaign, CampaignState, CreditLedger, LedgerKind, Message, Segment
from shopify_app.services.billing import credits
from shopify_app.tenancy import admin_engine

from .conftest import ApiClient
from .test_jobs import drain_if_async

SUBSCRIBE = {"consent_state": "subscribed", "consent_text": "Yes, texts please."}
on_postgresql_only = pytest.mark.skipif(
    not os.environ.get("DATABASE_URL", "").startswith("postgres"), reason="row locks: PostgreSQL"
)


@pytest.fixture
def funded(api, shop):
    """1,000 credits, quiet hours off, two VIP subscribers and two other subscribers."""
    credits.grant(shop_id=shop.id, amount=1000, key="grant:test")
    db.session.commit()
    api.patch("/api/settings", json={"quiet_hours": None})
    for n in range(4):
        tags = ["vip"] if n < 2 else []
        api.post("/api/contacts", json={"phone": f"+1415555{n:04d}", "tags": tags, **SUBSCRIBE})
    return api


def make_segment(api: ApiClient, name: str = "VIPs") -> int:
    response = api.post("/api/segments", json={"name": name, "filters": {"tags_any": ["vip"]}})
    assert response.status_code == 201, response.get_json()
    return int(response.get_json()["id"])


def make_campaign(api: ApiClient, name: str = "Winter sale", **fields: Any) -> int:
    response = api.post("/api/campaigns", json={"name": name, "body": "Hi, 20% off!", **fields})
    assert response.status_code == 201, response.get_json()
    return int(response.get_json()["id"])


def set_state(campaign_id: int, state: CampaignState, **values: Any) -> None:
    db.session.execute(update(Campaign).where(Campaign.id == campaign_id).values(state=state, **values))
    db.session.commit()


def campaign_row(campaign_id: int) -> Campaign:
    db.session.expire_all()
    return db.session.get(Campaign, campaign_id)


def message_count(campaign_id: int) -> int:
    return int(db.session.scalar(select(func.count()).select_from(Message).where(Message.campaign_id == campaign_id)))


def reserves(campaign_id: int) -> int:
    return int(
        db.session.scalar(
            select(func.count())
            .select_from(CreditLedger)
            .where(CreditLedger.campaign_id == campaign_id, CreditLedger.kind == LedgerKind.RESERVE)
        )
    )


def vanish(segment_id: int) -> None:
    """Delete a segment behind the app's back, foreign keys not enforced: what a SQLite database
    from before they were (or any other path) could leave, a campaign pointing at nothing."""
    with admin_engine().connect() as connection:
        if connection.dialect.name == "postgresql":
            connection.execute(text("SET session_replication_role = replica"))  # skips the FK triggers
        else:
            connection.exec_driver_sql("PRAGMA foreign_keys=OFF")
        connection.execute(text("DELETE FROM segments WHERE id = :id"), {"id": segment_id})
        connection.commit()
        if connection.dialect.name == "postgresql":
            connection.execute(text("SET session_replication_role = DEFAULT"))
        else:
            connection.exec_driver_sql("PRAGMA foreign_keys=ON")
        connection.commit()


# --- deleting a segment ----------------------------------------------------------------------------


def test_deleting_a_segment_in_use_is_409_naming_the_campaigns(app, funded):
    segment_id = make_segment(funded)
    ids = {state: make_campaign(funded, name=f"C {state.value}", segment_id=segment_id) for state in CampaignState}
    for state, campaign_id in ids.items():
        if state != CampaignState.DRAFT:
            set_state(campaign_id, state, audience={"tags_any": ["vip"]})

    response = funded.delete(f"/api/segments/{segment_id}")

    assert response.status_code == 409
    error = response.get_json()["error"]
    assert error["code"] == "segment_in_use"
    assert error["message"]
    live = (CampaignState.DRAFT, CampaignState.SCHEDULED, CampaignState.SENDING, CampaignState.PAUSED)
    assert error["details"] == {
        "campaigns": [{"id": ids[state], "name": f"C {state.value}", "state": state.value} for state in live]
    }
    assert db.session.get(Segment, segment_id) is not None
    assert {campaign_row(campaign_id).segment_id for campaign_id in ids.values()} == {segment_id}


def test_a_segment_only_finished_campaigns_used_is_deleted_and_their_frozen_audience_stays(app, funded):
    segment_id = make_segment(funded)
    sent = make_campaign(funded, segment_id=segment_id)
    assert funded.post(f"/api/campaigns/{sent}/launch").status_code == 200
    drain_if_async(app)
    assert campaign_row(sent).state == CampaignState.COMPLETED
    draft = make_campaign(funded, name="Later", segment_id=segment_id)
    assert funded.post(f"/api/campaigns/{draft}/cancel").status_code == 200

    assert funded.delete(f"/api/segments/{segment_id}").status_code == 204

    finished = campaign_row(sent)
    assert finished.segment_id is None  # the foreign key let go (SQLite enforces it too)...
    assert finished.audience == {"tags_any": ["vip"]}  # ...and what it was sent to is kept
    assert message_count(sent) == 2
    # A later segment can never take over the old id for a campaign still pointing at it.
    assert campaign_row(draft).segment_id is None


def test_another_shops_segment_delete_is_404_even_while_in_use(app, funded, other_api):
    segment_id = make_segment(funded)
    make_campaign(funded, segment_id=segment_id)
    response = other_api.delete(f"/api/segments/{segment_id}")
    assert response.status_code == 404
    assert response.get_json()["error"]["code"] == "segment_not_found"


# --- a segment that is gone never means everyone ----------------------------------------------------


def test_a_campaign_whose_segment_vanished_is_409_on_estimate_and_launch_and_sends_nothing(app, funded, shop):
    segment_id = make_segment(funded)
    campaign_id = make_campaign(funded, segment_id=segment_id)
    vanish(segment_id)

    for response in (
        funded.get(f"/api/campaigns/{campaign_id}/estimate"),
        funded.post(f"/api/campaigns/{campaign_id}/launch"),
    ):
        assert response.status_code == 409
        assert response.get_json()["error"]["code"] == "segment_missing"
        assert response.get_json()["error"]["details"] == {"segment_id": segment_id}
    assert campaign_row(campaign_id).state == CampaignState.DRAFT
    assert message_count(campaign_id) == 0
    assert credits.balance(shop_id=shop.id) == 1000


def test_a_scheduled_campaign_whose_segment_vanished_fails_instead_of_sending(app, funded):
    from shopify_app.services.campaigns.campaigns import launch_due_scheduled

    segment_id = make_segment(funded)
    campaign_id = make_campaign(funded, segment_id=segment_id)
    later = (datetime.now(UTC) + timedelta(hours=1)).strftime("%Y-%m-%dT%H:%M:%SZ")
    assert funded.post(f"/api/campaigns/{campaign_id}/launch", json={"send_at": later}).status_code == 200
    vanish(segment_id)

    assert launch_due_scheduled(now=datetime.now(UTC) + timedelta(hours=2)) == 0

    campaign = campaign_row(campaign_id)
    assert (campaign.state, campaign.failure_reason) == (CampaignState.FAILED, "segment_missing")
    assert message_count(campaign_id) == 0
    assert reserves(campaign_id) == 0


# --- a cancel that answered 200 holds (sequential interleavings, both backends) --------------------


def test_a_cancel_between_the_schedulers_read_and_the_launch_wins(app, funded, monkeypatch):
    from shopify_app.services.campaigns import campaigns

    campaign_id = make_campaign(funded)
    later = (datetime.now(UTC) + timedelta(hours=1)).strftime("%Y-%m-%dT%H:%M:%SZ")
    assert funded.post(f"/api/campaigns/{campaign_id}/launch", json={"send_at": later}).status_code == 200
    real_start = campaigns.start_sending

    def merchant_cancels_first(*, shop, campaign):
        with app.app_context():  # another session: the merchant's request, committed
            assert funded.post(f"/api/campaigns/{campaign_id}/cancel").status_code == 200
        return real_start(shop=shop, campaign=campaign)

    monkeypatch.setattr(campaigns, "start_sending", merchant_cancels_first)
    assert campaigns.launch_due_scheduled(now=datetime.now(UTC) + timedelta(hours=2)) == 0

    campaign = campaign_row(campaign_id)
    assert (campaign.state, campaign.failure_reason) == (CampaignState.CANCELLED, None)
    assert message_count(campaign_id) == 0
    assert reserves(campaign_id) == 0


def test_a_cancel_while_a_launch_buys_overage_wins(app, funded, shop, monkeypatch):
    """The launch calls Shopify with no lock held; the cancel commits meanwhile; the launch
    reads the state again under the lock and answers 409."""
    from shopify_app.services.billing import billing

    campaign_id = make_campaign(funded)
    db.session.execute(update(CreditLedger).values(amount=0))  # no credits: the launch must buy
    db.session.commit()
    bought: list[int] = []

    def buy_while_the_merchant_cancels(*, shop, needed, available, key):
        with app.app_context():
            assert funded.post(f"/api/campaigns/{campaign_id}/cancel").status_code == 200
        credits.grant(shop_id=shop.id, amount=needed, key=key)
        db.session.commit()
        bought.append(needed)
        return True

    monkeypatch.setattr(billing, "buy_overage", buy_while_the_merchant_cancels)
    response = funded.post(f"/api/campaigns/{campaign_id}/launch")

    assert bought == [4]
    assert response.status_code == 409
    assert response.get_json()["error"]["code"] == "invalid_state"
    assert response.get_json()["error"]["details"] == {"state": "cancelled"}
    assert campaign_row(campaign_id).state == CampaignState.CANCELLED
    assert message_count(campaign_id) == 0
    assert reserves(campaign_id) == 0


# --- real concurrency (PostgreSQL) ------------------------------------------------------------------


def wait_for_lock_waiters(count: int, *, timeout: float = 30.0) -> None:
    """Until `count` sessions of this database wait on a lock (no timing is asserted: this only
    orders the steps)."""
    query = text(
        "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() AND wait_event_type = 'Lock'"
    )
    deadline = time.monotonic() + timeout
    with admin_engine().connect() as connection:
        while connection.execute(query).scalar() < count:
            connection.rollback()
            if time.monotonic() > deadline:
                raise AssertionError(f"fewer than {count} sessions ever waited on a lock")
            time.sleep(0.02)


class InThreads:
    """Run each call in a thread of its own (own app context, session and connection)."""

    def __init__(self, app, shop_domain: str, *calls: Callable[[ApiClient], Any]):
        self.results: list[Any] = []

        def run(call: Callable[[ApiClient], Any]) -> None:
            with app.app_context():
                self.results.append(call(ApiClient(app.test_client(), shop_domain)))

        self.threads = [threading.Thread(target=run, args=(call,)) for call in calls]
        for thread in self.threads:
            thread.start()

    def joined(self) -> list[Any]:
        for thread in self.threads:
            thread.join(timeout=60)
            assert not thread.is_alive()
        return self.results


def status_and_code(response: Any) -> tuple[int, str | None]:
    body = response.get_json(silent=True) or {}
    return response.status_code, (body.get("error") or {}).get("code")


@on_postgresql_only
def test_a_launch_waiting_on_a_cancel_sees_cancelled_and_is_409(app, funded, shop):
    campaign_id = make_campaign(funded)
    with admin_engine().connect() as merchant:  # the cancel's transaction, not yet committed
        merchant.execute(text("SELECT id FROM campaigns WHERE id = :id FOR UPDATE"), {"id": campaign_id})
        merchant.execute(text("UPDATE campaigns SET state = 'cancelled' WHERE id = :id"), {"id": campaign_id})
        threads = InThreads(app, shop.domain, lambda api: api.post(f"/api/campaigns/{campaign_id}/launch"))
        wait_for_lock_waiters(1)
        merchant.commit()
    [response] = threads.joined()

    assert status_and_code(response) == (409, "invalid_state")
    assert campaign_row(campaign_id).state == CampaignState.CANCELLED
    assert message_count(campaign_id) == 0
    assert reserves(campaign_id) == 0


@on_postgresql_only
def test_a_scheduled_launch_waiting_on_a_cancel_leaves_it_cancelled(app, funded, shop):
    campaign_id = make_campaign(funded)
    later = (datetime.now(UTC) + timedelta(hours=1)).strftime("%Y-%m-%dT%H:%M:%SZ")
    assert funded.post(f"/api/campaigns/{campaign_id}/launch", json={"send_at": later}).status_code == 200
    started: list[int] = []

    def scheduler() -> None:
        from shopify_app.services.campaigns.campaigns import launch_due_scheduled

        with app.app_context():
            started.append(launch_due_scheduled(now=datetime.now(UTC) + timedelta(hours=2)))

    with admin_engine().connect() as merchant:
        merchant.execute(text("SELECT id FROM campaigns WHERE id = :id FOR UPDATE"), {"id": campaign_id})
        merchant.execute(text("UPDATE campaigns SET state = 'cancelled' WHERE id = :id"), {"id": campaign_id})
        thread = threading.Thread(target=scheduler)
        thread.start()
        wait_for_lock_waiters(1)
        merchant.commit()
    thread.join(timeout=60)

    assert started == [0]
    campaign = campaign_row(campaign_id)
    assert (campaign.state, campaign.failure_reason) == (CampaignState.CANCELLED, None)
    assert message_count(campaign_id) == 0
    assert reserves(campaign_id) == 0


@on_postgresql_only
def test_two_launches_at_once_one_is_200_the_other_409_with_one_snapshot_and_one_hold(app, funded, shop):
    campaign_id = make_campaign(funded)

    def launch(api: ApiClient) -> Any:
        return api.post(f"/api/campaigns/{campaign_id}/launch")

    with admin_engine().connect() as holder:  # both launches start while the row is held
        holder.execute(text("SELECT id FROM campaigns WHERE id = :id FOR UPDATE"), {"id": campaign_id})
        threads = InThreads(app, shop.domain, launch, launch)
        wait_for_lock_waiters(2)
        holder.rollback()
    responses = threads.joined()

    assert sorted(status_and_code(response) for response in responses) == [(200, None), (409, "invalid_state")]
    assert message_count(campaign_id) == 4
    assert reserves(campaign_id) == 1


@on_postgresql_only
def test_a_resume_waiting_on_a_cancel_is_409_and_the_campaign_stays_cancelled(app, funded, shop):
    campaign_id = make_campaign(funded)
    assert funded.post(f"/api/campaigns/{campaign_id}/launch").status_code == 200
    set_state(campaign_id, CampaignState.PAUSED)
    with admin_engine().connect() as merchant:
        merchant.execute(text("SELECT id FROM campaigns WHERE id = :id FOR UPDATE"), {"id": campaign_id})
        merchant.execute(text("UPDATE campaigns SET state = 'cancelled' WHERE id = :id"), {"id": campaign_id})
        threads = InThreads(app, shop.domain, lambda api: api.post(f"/api/campaigns/{campaign_id}/resume"))
        wait_for_lock_waiters(1)
        merchant.commit()
    [response] = threads.joined()

    assert status_and_code(response) == (409, "invalid_state")
    assert campaign_row(campaign_id).state == CampaignState.CANCELLED


@on_postgresql_only
def test_a_campaign_saved_while_its_segment_is_being_deleted_is_422(app, funded, shop):
    segment_id = make_segment(funded)
    with admin_engine().connect() as deleter:  # the delete's transaction, locked and deleting
        deleter.execute(text("SELECT id FROM segments WHERE id = :id FOR UPDATE"), {"id": segment_id})
        threads = InThreads(
            app,
            shop.domain,
            lambda api: api.post("/api/campaigns", json={"name": "C", "body": "Hi", "segment_id": segment_id}),
        )
        wait_for_lock_waiters(1)
        deleter.execute(text("DELETE FROM segments WHERE id = :id"), {"id": segment_id})
        deleter.commit()
    [response] = threads.joined()

    assert status_and_code(response) == (422, "validation_failed")
    assert response.get_json()["error"]["details"] == {"fields": {"segment_id": ["No such segment."]}}
    assert db.session.scalar(select(func.count()).select_from(Campaign)) == 0


@on_postgresql_only
def test_a_segment_delete_waiting_on_a_campaign_save_sees_the_campaign_and_is_409(app, funded, shop):
    from sqlalchemy.orm import Session

    segment_id = make_segment(funded)
    with Session(admin_engine()) as saver:  # a campaign save, as create_campaign locks, not yet committed
        saver.execute(select(Segment.id).where(Segment.id == segment_id).with_for_update(read=True, key_share=True))
        campaign = Campaign(shop_id=shop.id, name="Spring", body="Hi", state=CampaignState.DRAFT, audience={})
        campaign.segment_id = segment_id
        saver.add(campaign)
        saver.flush()
        campaign_id = campaign.id
        threads = InThreads(app, shop.domain, lambda api: api.delete(f"/api/segments/{segment_id}"))
        wait_for_lock_waiters(1)
        saver.commit()
    [response] = threads.joined()

    assert status_and_code(response) == (409, "segment_in_use")
    assert response.get_json()["error"]["details"] == {
        "campaigns": [{"id": campaign_id, "name": "Spring", "state": "draft"}]
    }
    assert campaign_row(campaign_id).segment_id == segment_id
