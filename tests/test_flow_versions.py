"""Flows' core: the step check, versions (send steps get automations), the pre-flow automations
as one-step flows, and starting runs (once per trigger key, re-entry rules)."""

from __future__ import annotations

import json

import pytest
from sqlalchemy import select

from shopify_app.errors import ValidationFailed
from shopify_app.extensions import db
from shopify_app.models import Automation, AutomationKind, Contact, Flow, FlowEngine, FlowRun, FlowVersion
from shopify_app.services.flows import legacy, runs, versions
from shopify_app.services.flows.definition import check_steps

from .conftest import install_shop
from .test_automations import shop_app, subscriber  # noqa: F401 (shop_app is a fixture)
from .test_flows_api import SERIES

HELLO = [{"id": "first", "type": "send", "body": "Hello from {{shop_name}}"}]


def messages(exc: pytest.ExceptionInfo[ValidationFailed]) -> list[dict[str, str]]:
    return exc.value.details["step_errors"]


def test_the_check_names_each_bad_step():
    steps = [
        {"id": "a", "type": "send", "body": "Hi {{checkout_url}}"},
        {"id": "a", "type": "wait", "minutes": 0},
        {"id": "c", "type": "exit"},
        {"id": "d", "type": "send", "body": "never"},
    ]
    with pytest.raises(ValidationFailed) as exc:
        check_steps(steps, "welcome")
    found = {(item["step"], item["message"].split(" ")[0]) for item in messages(exc)}
    assert ("a", "Two") in found  # duplicate id
    assert any(
        step == "a" and "minutes" in message
        for step, message in found | {(i["step"], i["message"]) for i in messages(exc)}
    )
    assert ("d", "Unreachable:") in found
    assert any("checkout_url" in item["message"] for item in messages(exc))  # not a welcome variable


def test_a_branch_may_not_end_on_a_wait_and_a_flow_must_send():
    with pytest.raises(ValidationFailed) as exc:
        check_steps([{"id": "w", "type": "wait", "until": "09:00"}], "welcome")
    assert {item["step"] for item in messages(exc)} == {"w", "-"}
    assert check_steps(SERIES, "abandoned_checkout")[2]["no"][0]["id"] == "discount"


def test_editing_versions_a_flow_and_keeps_unchanged_steps_automations(app):
    shop = install_shop("alpha.myshopify.com")
    flow = versions.create_flow(
        shop=shop, data={"name": "Cart series", "trigger": "abandoned_checkout", "steps": SERIES}
    )
    first = db.session.get(FlowVersion, flow.current_version_id)
    ids = {step["id"]: step.get("automation_id") for step in [*first.steps, *first.steps[2]["no"]]}
    assert ids["first"]
    assert ids["discount"]
    assert ids["first"] != ids["discount"]
    edited = [dict(SERIES[0]), dict(SERIES[1]), {**SERIES[2], "no": [{**SERIES[2]["no"][0], "body": "15% off"}]}]
    versions.update_flow(shop=shop, flow_id=flow.id, data={"steps": edited})
    second = db.session.get(FlowVersion, flow.current_version_id)
    assert second.number == 2
    assert second.steps[0]["automation_id"] == ids["first"]  # same text, same automation
    assert second.steps[2]["no"][0]["automation_id"] != ids["discount"]
    versions.update_flow(shop=shop, flow_id=flow.id, data={"steps": edited})  # no change, no version
    assert db.session.scalar(select(FlowVersion.number).where(FlowVersion.id == flow.current_version_id)) == 2
    kinds = set(db.session.scalars(select(Automation.kind).where(Automation.flow_id == flow.id)))
    assert kinds == {AutomationKind.FLOW_STEP}


def test_automations_are_one_step_flows_until_given_more_steps(shop_app):  # noqa: F811
    _app, api, shop = shop_app
    legacy.ensure_flows(shop)
    flows = {f.trigger: f for f in db.session.scalars(select(Flow).where(Flow.shop_id == shop.id))}
    assert set(flows) == set(legacy.NAMES)
    cart = flows["abandoned_checkout"]
    assert cart.engine == FlowEngine.AUTOMATION
    assert cart.exit_on_order
    steps = versions.current_steps(cart)
    assert [step["type"] for step in steps] == ["wait", "send"]
    assert steps[0]["minutes"] == 120
    # The one-step shape is written to the automation, which keeps running it.
    versions.update_flow(shop=shop, flow_id=cart.id, data={"steps": [{**steps[0], "minutes": 60}, steps[1]]})
    automation = db.session.get(Automation, cart.automation_id)
    assert automation.delay_minutes == 60
    assert cart.engine == FlowEngine.AUTOMATION
    versions.update_flow(shop=shop, flow_id=cart.id, data={"steps": SERIES, "enabled": True})
    assert cart.engine == FlowEngine.STEPS
    assert automation.retired_at is not None
    contact = subscriber(api)
    assert runs.start_flows(shop_id=shop.id, trigger="abandoned_checkout", contact_id=contact, key="checkout:t1")


def test_a_run_starts_once_per_key_and_follows_the_reentry_rule(app):
    shop = install_shop("alpha.myshopify.com")
    other = install_shop("beta.myshopify.com")
    flow = versions.create_flow(
        shop=shop,
        data={"name": "Tagged", "trigger": "tag_added", "trigger_config": {"tag": "VIP"}, "steps": HELLO},
    )
    with pytest.raises(ValidationFailed):
        versions.create_flow(shop=shop, data={"name": "x", "trigger": "tag_added", "steps": HELLO})
    contact = Contact(shop_id=shop.id, phone_hash="h1")
    contact.phone = "+14155550101"
    db.session.add(contact)
    db.session.commit()
    start = {"shop_id": shop.id, "trigger": "tag_added", "contact_id": contact.id, "context": {"tag": "vip"}}
    assert runs.start_flows(**start, key="a") == []  # off
    versions.update_flow(shop=shop, flow_id=flow.id, data={"enabled": True})
    assert len(runs.start_flows(**start, key="a")) == 1
    assert runs.start_flows(**start, key="a") == []
    assert len(runs.start_flows(**start, key="b")) == 1
    assert runs.start_flows(**{**start, "context": {"tag": "other"}}, key="c") == []
    assert runs.start_flows(**{**start, "shop_id": other.id}, key="d") == []
    versions.update_flow(shop=shop, flow_id=flow.id, data={"reentry": {"mode": "cooldown", "days": 30}})
    assert runs.start_flows(**start, key="e") == []
    versions.update_flow(shop=shop, flow_id=flow.id, data={"reentry": {"mode": "once"}})
    assert len(runs.start_flows(**start, key="f")) == 1
    assert runs.start_flows(**start, key="g") == []
    run = db.session.scalars(select(FlowRun).order_by(FlowRun.id)).first()
    assert run.step_id == "first"
    assert json.loads(run.context) == {"tag": "vip"}
