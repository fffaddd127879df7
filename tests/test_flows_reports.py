"""GET /api/flows/<id>/report with real texts: sent through the fake Mitto, clicked through their
short links, bought through signed order webhooks (attributed to the step's carrier campaign);
per step the runs that took it and how (yes / no, exits by reason); per flow runs by state."""

from __future__ import annotations

import logging
from datetime import timedelta

from shopify_app.extensions import db
from shopify_app.models.types import utcnow
from shopify_app.services.flows import engine, runs

from .conftest import settle_jobs
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


def advance(app, *, at=None) -> None:
    """The engine's tick (the periodic job's work), then the texts it queued are sent."""
    engine.advance_due(now=at)
    settle_jobs(app)
    dispatch(app)


def test_a_step_flows_report_per_step_and_per_flow(shop_app, fake_mitto, caplog):  # noqa: F811
    app, api, shop = shop_app
    caplog.set_level(logging.DEBUG)
    flow = api.post("/api/flows", json={"name": "Cart series", "trigger": "abandoned_checkout", "steps": SERIES})
    flow_id = flow.get_json()["id"]
    api.patch(f"/api/flows/{flow_id}", json={"enabled": True})
    buyer, other = subscriber(api), subscriber(api, OTHER)
    context = {"checkout_url": "https://alpha.myshopify.com/cart"}  # a link of the shop: shortened
    [run_a] = runs.start_flows(
        shop_id=shop.id, trigger="abandoned_checkout", contact_id=buyer, key="checkout:a", context=context
    )
    [_other_run] = runs.start_flows(
        shop_id=shop.id, trigger="abandoned_checkout", contact_id=other, key="checkout:b", context=context
    )
    db.session.commit()
    advance(app)  # both: the first text, then the day's wait
    # The buyer clicks the first text and orders: the condition says yes, the run completes.
    followed(app, texts(fake_mitto)[0])
    order(app, SHOPPER, 9002, "30.00")
    # The other does not: the discount goes out and the run completes.
    advance(app, at=utcnow() + timedelta(days=1, minutes=1))
    report = api.get(f"/api/flows/{flow_id}/report").get_json()
    totals = report["flow"]
    assert totals["runs"] == {"active": 0, "completed": 2, "exited": 0}
    assert totals["exits"] == {}
    assert (totals["sent"], totals["clicks"], totals["orders"], totals["revenue"]) == (3, 1, 1, 30.0)
    steps = {step["step_id"]: step for step in report["steps"]}
    assert list(steps) == ["first", "day", "bought", "discount"]
    assert (steps["first"]["entered"], steps["first"]["sent"], steps["first"]["clicks"]) == (2, 2, 1)
    assert (steps["first"]["orders"], steps["first"]["revenue"]) == (1, 30.0)
    assert steps["day"]["outcomes"] == {"waited": 2}
    assert steps["bought"]["outcomes"] == {"yes": 1, "no": 1}
    assert sum(steps["bought"]["reasons"].values()) == 2
    assert (steps["discount"]["entered"], steps["discount"]["sent"], steps["discount"]["orders"]) == (1, 1, 0)
    detail = api.get(f"/api/flows/{flow_id}/runs/{run_a}").get_json()
    taken = [(s["step_id"], s["outcome"]) for s in detail["steps"]]
    assert taken == [("first", "sent"), ("day", "waited"), ("bought", "yes")]
    assert "order" in detail["steps"][2]["detail"]["reason"]
    assert (detail["state"], detail["version"], detail["contact_id"]) == ("completed", 1, buyer)
    assert "phone" not in str(detail)
    assert api.get(f"/api/flows/{flow_id}/runs").get_json()["items"][0]["contact_id"] == other
    assert "4155550" not in caplog.text  # neither phone reached the log
    assert SHOPPER.removeprefix("+") not in str(detail)
