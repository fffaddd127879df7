"""GET /api/flows/<id>/report with real texts: sent through the fake Mitto, clicked through their
short links, bought through signed order webhooks (attributed to the step's carrier campaign);
per step the runs that took it and how (yes / no, exits by reason); per flow runs by state."""

from __future__ import annotations

import logging
from datetime import timedelta

from sqlalchemy import select

from shopify_app.extensions import db
from shopify_app.models import Automation, AutomationKind, FlowRun, FlowRunStep
from shopify_app.models.types import utcnow
from shopify_app.services.automations.triggers import trigger
from shopify_app.services.flows import runs

from .payloads import payload
from .test_automations import SHOPPER, deliver, dispatch, followed, shop_app, subscriber, texts  # noqa: F401
from .test_flows_api import SERIES

OTHER = "+14155550123"


def order(app, phone: str, order_id: int, total: str) -> None:
    body = payload("orders/create", id=order_id, total_price=total, currency="USD", created_at=utcnow().isoformat())
    body["customer"] = {"id": None, "phone": phone}
    body.pop("checkout_token", None)
    deliver(app, "orders/create", body)


def test_a_legacy_flows_send_step_reports_its_automations_texts_clicks_and_orders(shop_app, fake_mitto):  # noqa: F811
    app, api, _shop = shop_app
    flows = {item["trigger"]: item for item in api.get("/api/flows", query_string={"limit": 200}).get_json()["items"]}
    cart = flows["abandoned_checkout"]["id"]
    wait, send = api.get(f"/api/flows/{cart}").get_json()["steps"]
    send["body"] = "{{shop_name}}: your cart is waiting, and so is the sale: https://alpha.myshopify.com/sale"
    edited = api.patch(f"/api/flows/{cart}", json={"enabled": True, "steps": [wait, send]})
    assert edited.get_json()["engine"] == "automation"
    subscriber(api)
    deliver(app, "checkouts/update", payload("checkouts/update"))
    dispatch(app, at=utcnow() + timedelta(hours=3))
    [text] = texts(fake_mitto)
    followed(app, text)
    order(app, SHOPPER, 9001, "42.50")
    report = api.get(f"/api/flows/{cart}/report").get_json()
    totals = report["flow"]
    assert (totals["sent"], totals["clicks"], totals["orders"]) == (1, 1, 1)
    assert (totals["revenue"], totals["currency"], totals["revenue_by_currency"]) == (42.5, "USD", {"USD": "42.50"})
    send = next(step for step in report["steps"] if step["type"] == "send")
    assert (send["step_id"], send["sent"], send["clicks"], send["orders"], send["revenue"]) == ("send", 1, 1, 1, 42.5)
    assert (send["entered"], send["outcomes"]) == (1, {"sent": 1})
    assert totals["runs"] == {"active": 0, "completed": 1, "exited": 0}  # the automation's runs
    wait = next(step for step in report["steps"] if step["type"] == "wait")
    assert (wait["sent"], wait["revenue"]) == (0, 0.0)
    # A second checkout, then its order: the automation cancels that reminder (an exit, by reason).
    deliver(app, "checkouts/update", payload("checkouts/update", token="second-checkout", id=2))
    deliver(app, "orders/create", payload("orders/create", id=9003, checkout_token="second-checkout"))
    again = api.get(f"/api/flows/{cart}/report").get_json()
    assert again["flow"]["runs"] == {"active": 0, "completed": 1, "exited": 1}
    assert again["flow"]["exits"] == {"order_placed": 1}
    send = next(step for step in again["steps"] if step["type"] == "send")
    assert (send["entered"], send["outcomes"], send["reasons"]) == (2, {"sent": 1, "skipped": 1}, {"order_placed": 1})
    assert SHOPPER.removeprefix("+") not in str(report)


def send_step(app, shop, run_id: int, step_id: str, contact_id: int) -> None:
    """What the engine does at a send step: the step's automation sends once per (run, step)."""
    automation = db.session.scalar(
        select(Automation).where(Automation.flow_step == step_id, Automation.kind == AutomationKind.FLOW_STEP)
    )
    automation_run = trigger(
        shop_id=shop.id,
        kind=AutomationKind.FLOW_STEP,
        contact_id=contact_id,
        key=f"flow:{run_id}:{step_id}",
        context={"checkout_url": "https://alpha.myshopify.com/cart"},  # a link of the shop: shortened
        automation=automation,
    )
    took(shop, run_id, step_id, "send", "sent", automation_run_id=automation_run)
    db.session.commit()
    dispatch(app)


def took(shop, run_id: int, step_id: str, step_type: str, outcome: str, **fields) -> None:
    row = FlowRunStep(shop_id=shop.id, run_id=run_id, step_id=step_id, step_type=step_type, outcome=outcome, **fields)
    db.session.add(row)
    db.session.commit()


def test_a_step_flows_report_per_step_and_per_flow(shop_app, fake_mitto, caplog):  # noqa: F811
    app, api, shop = shop_app
    caplog.set_level(logging.DEBUG)
    flow = api.post("/api/flows", json={"name": "Cart series", "trigger": "abandoned_checkout", "steps": SERIES})
    flow_id = flow.get_json()["id"]
    api.patch(f"/api/flows/{flow_id}", json={"enabled": True})
    buyer, other = subscriber(api), subscriber(api, OTHER)
    [run_a] = runs.start_flows(shop_id=shop.id, trigger="abandoned_checkout", contact_id=buyer, key="checkout:a")
    [run_b] = runs.start_flows(shop_id=shop.id, trigger="abandoned_checkout", contact_id=other, key="checkout:b")
    db.session.commit()
    for run_id, contact_id in ((run_a, buyer), (run_b, other)):
        send_step(app, shop, run_id, "first", contact_id)
        took(shop, run_id, "day", "wait", "waited")
    # The buyer clicks the first text and orders: the condition says yes, the run completes.
    followed(app, texts(fake_mitto)[0])
    order(app, SHOPPER, 9002, "30.00")
    took(shop, run_a, "bought", "condition", "yes", detail={"reason": "order_placed"})
    # The other does not: the discount goes out, then an opt-out ends the run.
    took(shop, run_b, "bought", "condition", "no")
    send_step(app, shop, run_b, "discount", other)
    for run_id, state, reason in ((run_a, "completed", None), (run_b, "exited", "opted_out")):
        run = db.session.get(FlowRun, run_id)
        run.state, run.exit_reason, run.step_id, run.ended_at = state, reason, None, utcnow()
    db.session.commit()
    report = api.get(f"/api/flows/{flow_id}/report").get_json()
    totals = report["flow"]
    assert totals["runs"] == {"active": 0, "completed": 1, "exited": 1}
    assert totals["exits"] == {"opted_out": 1}
    assert (totals["sent"], totals["clicks"], totals["orders"], totals["revenue"]) == (3, 1, 1, 30.0)
    steps = {step["step_id"]: step for step in report["steps"]}
    assert list(steps) == ["first", "day", "bought", "discount"]
    assert (steps["first"]["entered"], steps["first"]["sent"], steps["first"]["clicks"]) == (2, 2, 1)
    assert (steps["first"]["orders"], steps["first"]["revenue"]) == (1, 30.0)
    assert steps["day"]["outcomes"] == {"waited": 2}
    assert steps["bought"]["outcomes"] == {"yes": 1, "no": 1}
    assert steps["bought"]["reasons"] == {"order_placed": 1}
    assert (steps["discount"]["entered"], steps["discount"]["sent"], steps["discount"]["orders"]) == (1, 1, 0)
    detail = api.get(f"/api/flows/{flow_id}/runs/{run_a}").get_json()
    taken = [(s["step_id"], s["outcome"]) for s in detail["steps"]]
    assert taken == [("first", "sent"), ("day", "waited"), ("bought", "yes")]
    assert detail["steps"][2]["detail"] == {"reason": "order_placed"}
    assert (detail["state"], detail["version"], detail["contact_id"]) == ("completed", 1, buyer)
    assert "phone" not in str(detail)
    assert api.get(f"/api/flows/{flow_id}/runs").get_json()["items"][0]["contact_id"] == other
    assert "4155550" not in caplog.text  # neither phone reached the log
    assert SHOPPER.removeprefix("+") not in str(detail)
