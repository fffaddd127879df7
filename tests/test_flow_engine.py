"""The flow engine end to end: signed Shopify webhooks and the admin API start runs, the engine
moves them through their version's steps (sends go the automation send path to fake Mitto),
and every step a run takes is a row that says which branch and why.

Time is passed to the engine (`advance(at=...)`), never slept: "a day later" is an advance
with now + 1 day.
"""

from __future__ import annotations

from datetime import timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import select
from structlog.testing import capture_logs

from shopify_app.extensions import db
from shopify_app.models import AutomationRun, Contact, Flow, FlowRun, FlowRunStep, Order, RunState
from shopify_app.models.types import utcnow
from shopify_app.services.automations import automations
from shopify_app.services.flows import engine, runs, versions

from .conftest import settle_jobs
from .payloads import payload
from .test_automations import SHOPPER, deliver, shop_app, subscriber  # noqa: F401 (shop_app is a fixture)
from .test_automations import texts as sent_texts

OTHER = "+14155550123"
CART_SERIES = [
    {"id": "first", "type": "send", "body": "Your cart at {{shop_name}}: {{checkout_url}}"},
    {"id": "day", "type": "wait", "minutes": 1440},
    {
        "id": "bought",
        "type": "condition",
        "if": {"kind": "ordered"},
        "yes": [],
        "no": [{"id": "discount", "type": "send", "body": "Still thinking? CART10 takes 10% off."}],
    },
]
WELCOME_SERIES = [
    {"id": "hello", "type": "send", "body": "Welcome to {{shop_name}}!"},
    {"id": "hour", "type": "wait", "minutes": 60},
    {"id": "tips", "type": "send", "body": "Our best sellers are back."},
]


def texts(fake_mitto, phone: str = SHOPPER) -> list[str]:
    """The texts as the flow wrote them: without the shop-name prefix and opt-out line the send
    path adds where the body lacks them."""
    return [
        text.removeprefix("Alpha: ").removesuffix(" Reply STOP to opt out") for text in sent_texts(fake_mitto, phone)
    ]


def join(app, api, phone: str = SHOPPER, **fields) -> int:
    """A subscriber added in the admin (a welcome trigger), and the jobs that follows."""
    contact_id = subscriber(api, phone, **fields)
    settle_jobs(app)
    return contact_id


def make_flow(shop, trigger: str, steps, **fields) -> Flow:
    flow = versions.create_flow(
        shop=shop, data={"name": f"{trigger} flow", "trigger": trigger, "steps": steps, **fields}
    )
    return versions.update_flow(shop=shop, flow_id=flow.id, data={"enabled": True})


def advance(app, *, at=None) -> dict[str, int]:
    """One engine tick at `at` (now by default), then the jobs it enqueued (dispatch, sends)."""
    summary = engine.advance_due(now=at)
    settle_jobs(app)
    automations.dispatch_due()
    settle_jobs(app)
    return summary


def flow_runs(flow_id: int | None = None) -> list[FlowRun]:
    db.session.expire_all()
    query = select(FlowRun).order_by(FlowRun.id)
    if flow_id is not None:
        query = query.where(FlowRun.flow_id == flow_id)
    return list(db.session.scalars(query))


def taken(run_id: int) -> list[tuple[str, str, dict]]:
    rows = db.session.scalars(select(FlowRunStep).where(FlowRunStep.run_id == run_id).order_by(FlowRunStep.id))
    return [(row.step_id, row.outcome, row.detail) for row in rows]


def later(**delta) -> object:
    return utcnow() + timedelta(**delta)


# --- abandoned checkout -------------------------------------------------------------------------


def test_an_abandoned_cart_series_reminds_waits_a_day_and_sends_the_discount_when_no_order(shop_app, fake_mitto):  # noqa: F811
    app, api, shop = shop_app
    flow = make_flow(shop, "abandoned_checkout", CART_SERIES, exit_on_order=True)
    subscriber(api, first_name="Bob")
    with capture_logs() as logs:
        deliver(app, "checkouts/update", payload("checkouts/update"))
        deliver(app, "checkouts/update", payload("checkouts/update"))  # Shopify sends several updates
    [reminder] = texts(fake_mitto)
    assert reminder.startswith("Your cart at Alpha: https://")
    [run] = flow_runs(flow.id)
    assert (run.state.value, run.step_id) == ("active", "bought")
    assert advance(app)["steps"] == 0  # the day is not over
    advance(app, at=later(days=1, minutes=1))
    assert texts(fake_mitto) == [reminder, "Still thinking? CART10 takes 10% off."]
    [run] = flow_runs(flow.id)
    assert (run.state.value, run.exit_reason, run.step_id) == ("completed", None, None)
    steps = taken(run.id)
    assert [(step, outcome) for step, outcome, _ in steps] == [
        ("first", "sent"),
        ("day", "waited"),
        ("bought", "no"),
        ("discount", "sent"),
    ]
    assert steps[2][2] == {"reason": "no order since the flow began"}
    assert "until" in steps[1][2]
    sent = db.session.scalars(select(FlowRunStep.automation_run_id).where(FlowRunStep.outcome == "sent")).all()
    assert all(db.session.get(AutomationRun, ar).message_id for ar in sent)
    logged = repr(logs)
    assert SHOPPER not in logged
    assert SHOPPER.removeprefix("+") not in logged


def test_an_order_during_the_wait_ends_the_cart_series_before_the_discount(shop_app, fake_mitto):  # noqa: F811
    app, api, shop = shop_app
    flow = make_flow(shop, "abandoned_checkout", CART_SERIES, exit_on_order=True)
    subscriber(api)
    deliver(app, "checkouts/update", payload("checkouts/update"))
    deliver(app, "orders/create", payload("orders/create", checkout_token="123123123"))
    advance(app, at=later(days=1, minutes=1))
    assert len(texts(fake_mitto)) == 1
    [run] = flow_runs(flow.id)
    assert (run.state.value, run.exit_reason) == ("exited", "order_placed")
    assert taken(run.id)[-1] == ("bought", "exited", {"reason": "order_placed"})


# --- welcome, win-back, opt-out, turning off ----------------------------------------------------


def test_a_welcome_series_sends_its_texts_in_order_after_the_wait(shop_app, fake_mitto):  # noqa: F811
    app, api, shop = shop_app
    make_flow(shop, "welcome", WELCOME_SERIES)
    join(app, api)
    assert texts(fake_mitto) == ["Welcome to Alpha!"]
    advance(app, at=later(minutes=30))
    assert len(texts(fake_mitto)) == 1
    advance(app, at=later(minutes=61))
    assert texts(fake_mitto) == ["Welcome to Alpha!", "Our best sellers are back."]
    advance(app, at=later(days=3))
    assert len(texts(fake_mitto)) == 2
    assert flow_runs()[0].state.value == "completed"


def test_win_back_starts_from_the_daily_pass_and_stops_on_an_order(shop_app, fake_mitto):  # noqa: F811
    app, api, shop = shop_app
    steps = [
        {"id": "miss", "type": "send", "body": "We miss you at {{shop_name}}."},
        {"id": "wait", "type": "wait", "minutes": 3 * 1440},
        {"id": "offer", "type": "send", "body": "Come back for 15% off."},
    ]
    flow = make_flow(shop, "win_back", steps, exit_on_order=True, trigger_config={"days": 30})
    contact = db.session.get(Contact, subscriber(api))
    tick = utcnow().replace(hour=18, minute=0)  # 13:00 or 14:00 in New York: past the daily hour
    contact.last_order_at = tick - timedelta(days=31)
    db.session.commit()
    automations.daily_tick(now=tick)
    automations.daily_tick(now=tick + timedelta(minutes=15))  # a second pass starts nothing
    settle_jobs(app)
    advance(app)
    assert texts(fake_mitto) == ["We miss you at Alpha."]
    assert flow_runs(flow.id)[0].step_id == "offer"
    db.session.add(Order(shop_id=shop.id, shopify_order_id=1002, contact_id=contact.id))
    db.session.commit()
    advance(app, at=later(days=3, minutes=1))
    assert len(texts(fake_mitto)) == 1
    assert flow_runs(flow.id)[0].exit_reason == "order_placed"


def test_a_birthday_flow_starts_once_on_the_shop_local_birthday(shop_app, fake_mitto):  # noqa: F811
    app, api, shop = shop_app
    flow = make_flow(shop, "birthday", [{"id": "cake", "type": "send", "body": "Happy birthday from {{shop_name}}!"}])
    tick = utcnow().replace(hour=18, minute=0)  # past the daily hour in New York
    local = tick.astimezone(ZoneInfo("America/New_York")).date()
    contact = db.session.get(Contact, subscriber(api))
    contact.birth_month, contact.birth_day = local.month, local.day
    db.session.commit()
    automations.daily_tick(now=tick - timedelta(hours=9))  # before the hour there: nothing yet
    assert flow_runs(flow.id) == []
    automations.daily_tick(now=tick)
    automations.daily_tick(now=tick + timedelta(minutes=15))
    advance(app)
    assert texts(fake_mitto) == ["Happy birthday from Alpha!"]
    assert [run.trigger_key for run in flow_runs(flow.id)] == [f"birthday:{local.year}"]


def test_unsubscribing_ends_the_run_at_its_next_step(shop_app, fake_mitto):  # noqa: F811
    app, api, shop = shop_app
    make_flow(shop, "welcome", WELCOME_SERIES)
    contact_id = join(app, api)
    api.patch(f"/api/contacts/{contact_id}", json={"consent_state": "unsubscribed"})
    advance(app, at=later(minutes=61))
    assert texts(fake_mitto) == ["Welcome to Alpha!"]
    [run] = flow_runs()
    assert (run.state.value, run.exit_reason) == ("exited", "opted_out")
    assert taken(run.id)[-1] == ("tips", "exited", {"reason": "opted_out"})


def test_turning_a_flow_off_cancels_its_unsent_texts_and_ends_its_runs(shop_app, fake_mitto):  # noqa: F811
    app, _api, shop = shop_app
    flow = make_flow(shop, "welcome", WELCOME_SERIES)
    other = make_flow(shop, "welcome", [{"id": "hi", "type": "send", "body": "Hi from the other flow."}])
    runs.start_flows(shop_id=shop.id, trigger="welcome", contact_id=_contact(shop), key="welcome")
    db.session.commit()
    engine.advance_due()  # the first texts are recorded, not yet dispatched
    versions.update_flow(shop=shop, flow_id=flow.id, data={"enabled": False})
    settle_jobs(app)
    automations.dispatch_due()
    settle_jobs(app)
    assert texts(fake_mitto) == ["Hi from the other flow."]
    states = set(db.session.scalars(select(AutomationRun.state).where(AutomationRun.cancel_reason.is_not(None))))
    assert states == {RunState.CANCELLED}
    advance(app, at=later(minutes=61))
    [mine] = flow_runs(flow.id)
    assert (mine.state.value, mine.exit_reason) == ("exited", "flow_disabled")
    assert flow_runs(other.id)[0].state.value == "completed"


def _contact(shop, phone: str = SHOPPER) -> int:
    contact = Contact(shop_id=shop.id, phone_hash=f"hash-{phone}", consent_state="subscribed")
    contact.phone = phone
    db.session.add(contact)
    db.session.commit()
    return contact.id


# --- versions -----------------------------------------------------------------------------------


def test_a_run_finishes_on_the_version_it_started_while_new_runs_use_the_new_one(shop_app, fake_mitto):  # noqa: F811
    app, api, shop = shop_app
    flow = make_flow(shop, "welcome", WELCOME_SERIES)
    join(app, api)
    edited = [*WELCOME_SERIES[:2], {"id": "tips", "type": "send", "body": "New arrivals this week."}]
    versions.update_flow(shop=shop, flow_id=flow.id, data={"steps": edited})
    join(app, api, phone=OTHER)
    advance(app, at=later(minutes=61))
    assert texts(fake_mitto) == ["Welcome to Alpha!", "Our best sellers are back."]
    assert texts(fake_mitto, OTHER) == ["Welcome to Alpha!", "New arrivals this week."]
    first, second = flow_runs(flow.id)
    assert first.version_id != second.version_id
    assert second.version_id == db.session.get(Flow, flow.id).current_version_id


# --- tags ---------------------------------------------------------------------------------------


def test_a_tag_step_tags_and_the_tag_starts_the_flows_on_that_tag(shop_app, fake_mitto):  # noqa: F811
    app, api, shop = shop_app
    make_flow(
        shop,
        "welcome",
        [{"id": "vip", "type": "tag", "action": "add", "tag": "VIP"}, {"id": "hi", "type": "send", "body": "Hi!"}],
    )
    perks = make_flow(
        shop, "tag_added", [{"id": "p", "type": "send", "body": "VIP perks."}], trigger_config={"tag": "vip"}
    )
    contact_id = join(app, api)
    advance(app)
    assert sorted(texts(fake_mitto)) == ["Hi!", "VIP perks."]
    assert db.session.get(Contact, contact_id).tag_names == ["VIP"]
    [run] = flow_runs(perks.id)
    assert run.trigger_key == "tag:vip"
    # The API adding a tag the contact has already starts nothing; a new one would.
    api.post(f"/api/contacts/{contact_id}/tags", json={"tags": ["VIP"]})
    assert len(flow_runs(perks.id)) == 1


def test_flows_that_tag_each_other_stop_after_each_ran_once_per_tag(shop_app, fake_mitto):  # noqa: F811
    app, api, shop = shop_app
    ping = [
        {"id": "drop", "type": "tag", "action": "remove", "tag": "a"},
        {"id": "give", "type": "tag", "action": "add", "tag": "b"},
        {"id": "say", "type": "send", "body": "ping"},
    ]
    pong = [
        {"id": "drop", "type": "tag", "action": "remove", "tag": "b"},
        {"id": "give", "type": "tag", "action": "add", "tag": "a"},
        {"id": "say", "type": "send", "body": "pong"},
    ]
    make_flow(shop, "tag_added", ping, trigger_config={"tag": "a"})
    make_flow(shop, "tag_added", pong, trigger_config={"tag": "b"})
    contact_id = subscriber(api)
    assert api.post(f"/api/contacts/{contact_id}/tags", json={"tags": ["a"]}).status_code == 200
    for _ in range(5):
        advance(app)
    assert sorted(texts(fake_mitto)) == ["ping", "pong"]
    assert len(flow_runs()) == 2
    untagged = [row for run in flow_runs() for row in taken(run.id) if row[1] == "untagged"]
    assert len(untagged) == 2


# --- re-entry -------------------------------------------------------------------------------------


def test_re_entry_per_trigger_runs_each_checkout_and_once_runs_the_first_only(shop_app, fake_mitto):  # noqa: F811
    app, _api, shop = shop_app
    body = [{"id": "s", "type": "send", "body": "Cart: {{checkout_url}}"}]
    each = make_flow(shop, "abandoned_checkout", body)
    once = make_flow(shop, "abandoned_checkout", body, reentry={"mode": "once"})
    contact_id = _contact(shop)
    for token in ("t1", "t2", "t1"):
        runs.start_flows(
            shop_id=shop.id,
            trigger="abandoned_checkout",
            contact_id=contact_id,
            key=f"checkout:{token}",
            context={"checkout_url": f"https://alpha.myshopify.com/checkouts/{token}"},
        )
        db.session.commit()
    advance(app)
    assert [run.trigger_key for run in flow_runs(each.id)] == ["checkout:t1", "checkout:t2"]
    assert [run.trigger_key for run in flow_runs(once.id)] == ["once"]
    assert len(texts(fake_mitto)) == 3
