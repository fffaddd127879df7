"""Flows' switches and the automations they came from: one switch for an automation and its
one-step flow, an uninstall turns flows off and a reinstall can turn them on again, a retired
birthday automation leaves the daily pass to its flow, a step queued as its flow was turned off
is not sent, and an opt-out during a wait ends the run even if they subscribe again."""

from __future__ import annotations

from datetime import timedelta
from zoneinfo import ZoneInfo

from redis.exceptions import ConnectionError as RedisConnectionError
from sqlalchemy import select

from shopify_app.extensions import db
from shopify_app.models import Automation, AutomationRun, Contact, Flow
from shopify_app.models.types import utcnow
from shopify_app.services.automations import automations
from shopify_app.services.flows import engine, legacy, runs, versions

from .conftest import settle_jobs
from .payloads import payload
from .test_automations import deliver, shop_app, subscriber  # noqa: F401 (shop_app is a fixture)
from .test_flow_engine import WELCOME_SERIES, advance, flow_runs, make_flow, texts

CAKE = [
    {"id": "cake", "type": "send", "body": "Happy birthday from {{shop_name}}!"},
    {"id": "week", "type": "wait", "minutes": 60 * 24 * 7},
    {"id": "again", "type": "send", "body": "Your birthday treat at {{shop_name}} ends soon."},
]


def legacy_flow(shop, trigger: str) -> Flow:
    legacy.ensure_flows(shop)
    return db.session.scalars(select(Flow).where(Flow.shop_id == shop.id, Flow.trigger == trigger)).one()


def test_an_automation_and_its_one_step_flow_share_one_switch(shop_app):  # noqa: F811
    _app, api, shop = shop_app
    flow = legacy_flow(shop, "welcome")
    assert flow.enabled is False
    automation_id = flow.automation_id
    assert api.patch(f"/api/automations/{automation_id}", json={"enabled": True}).status_code == 200
    db.session.expire_all()
    assert db.session.get(Flow, flow.id).enabled is True
    # Given more steps, the flow keeps the switch as the merchant last set it, and win-back its lapse.
    versions.update_flow(shop=shop, flow_id=flow.id, data={"steps": WELCOME_SERIES})
    assert (flow.engine.value, flow.enabled) == ("steps", True)
    win_back = legacy_flow(shop, "win_back")
    api.patch(f"/api/automations/{win_back.automation_id}", json={"conditions": {"days": 45}})
    steps = [{"id": "miss", "type": "send", "body": "We miss you at {{shop_name}}."}, *WELCOME_SERIES[1:]]
    versions.update_flow(shop=shop, flow_id=win_back.id, data={"steps": steps})
    assert (win_back.enabled, win_back.trigger_config["days"]) == (False, 45)


def test_an_uninstall_turns_flows_off_and_turning_one_on_again_sends(shop_app, fake_mitto):  # noqa: F811
    app, api, shop = shop_app
    flow = make_flow(shop, "welcome", WELCOME_SERIES)
    deliver(app, "app/uninstalled", payload("app/uninstalled"))
    db.session.expire_all()
    assert db.session.get(Flow, flow.id).enabled is False
    steps = db.session.scalars(select(Automation).where(Automation.flow_id == flow.id)).all()
    assert not any(automation.enabled for automation in steps)
    shop = db.session.get(type(shop), shop.id)
    shop.uninstalled_at = None  # reinstalled
    db.session.commit()
    versions.update_flow(shop=shop, flow_id=flow.id, data={"enabled": True})
    subscriber(api)
    settle_jobs(app)
    advance(app)
    assert texts(fake_mitto) == ["Welcome to Alpha!"]


def test_a_retired_birthday_automation_leaves_the_day_to_its_flow(shop_app, fake_mitto):  # noqa: F811
    app, api, shop = shop_app
    flow = legacy_flow(shop, "birthday")
    api.patch(f"/api/automations/{flow.automation_id}", json={"enabled": True})
    versions.update_flow(shop=shop, flow_id=flow.id, data={"steps": CAKE})
    db.session.expire_all()
    assert db.session.get(Flow, flow.id).enabled is True
    tick = utcnow().replace(hour=18, minute=0)
    local = tick.astimezone(ZoneInfo("America/New_York")).date()
    contact = db.session.get(Contact, subscriber(api))
    contact.birth_month, contact.birth_day = local.month, local.day
    db.session.commit()
    settle_jobs(app)
    automations.daily_tick(now=tick)
    advance(app)
    assert texts(fake_mitto) == ["Happy birthday from Alpha!"]  # once: the flow's, not also the automation's
    automation_runs = db.session.scalars(
        select(AutomationRun).where(AutomationRun.automation_id == flow.automation_id)
    ).all()
    assert automation_runs == []


def test_a_step_queued_as_its_flow_is_turned_off_is_not_sent(shop_app, fake_mitto):  # noqa: F811
    app, api, shop = shop_app
    flow = make_flow(shop, "welcome", WELCOME_SERIES)
    contact_id = subscriber(api)
    engine.advance_due()  # the first step's automation run is recorded, not yet dispatched
    db.session.execute(Flow.__table__.update().where(Flow.id == flow.id).values(enabled=False))  # no cancel
    db.session.commit()
    automations.dispatch_due()
    settle_jobs(app)
    assert texts(fake_mitto) == []
    [automation_run] = db.session.scalars(select(AutomationRun).where(AutomationRun.contact_id == contact_id)).all()
    assert (automation_run.state.value, automation_run.cancel_reason) == ("cancelled", "flow_disabled")


def test_an_opt_out_during_a_wait_ends_the_run_even_after_subscribing_again(shop_app, fake_mitto):  # noqa: F811
    app, api, shop = shop_app
    make_flow(shop, "welcome", WELCOME_SERIES)
    contact_id = subscriber(api)
    settle_jobs(app)
    advance(app)
    api.patch(f"/api/contacts/{contact_id}", json={"consent_state": "unsubscribed"})
    api.patch(f"/api/contacts/{contact_id}", json={"consent_state": "subscribed", "consent_text": "Yes, texts please."})
    advance(app, at=utcnow() + timedelta(minutes=61))
    assert texts(fake_mitto) == ["Welcome to Alpha!"]
    [run] = flow_runs()
    assert (run.state.value, run.exit_reason) == ("exited", "opted_out")


def test_a_run_started_while_redis_is_down_still_commits(shop_app, monkeypatch):  # noqa: F811
    _app, _api, shop = shop_app
    make_flow(shop, "tag_added", WELCOME_SERIES, trigger_config={"tag": "vip"})

    def down(*_args, **_kwargs):
        raise RedisConnectionError("Redis is down")

    monkeypatch.setattr(runs.FLOWS_ADVANCE, "delay", down)
    contact = Contact(shop_id=shop.id, phone_hash="h-redis", consent_state="subscribed")
    contact.phone = "+14155550177"
    db.session.add(contact)
    db.session.flush()
    runs.start_flows(shop_id=shop.id, trigger="tag_added", contact_id=contact.id, key="tag:vip", context={"tag": "vip"})
    db.session.commit()  # the after-commit enqueue fails quietly; the periodic tick will advance it
    assert len(flow_runs()) == 1
