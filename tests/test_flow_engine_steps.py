"""The flow engine step by step: each condition kind answers yes or no with its reason (a
deleted or another shop's segment is "no", never everyone), waits until a time of day on the
subscriber's clock across daylight-saving changes, a run whose data cannot run is retried with
backoff and then ended without holding up the others, and the "joined" trigger."""

from __future__ import annotations

import io
from datetime import UTC, datetime
from decimal import Decimal
from zoneinfo import ZoneInfo

from sqlalchemy import select, update

from shopify_app.extensions import db
from shopify_app.models import ConsentSource, ConsentState, Contact, FlowRun, FlowRunStep, Order
from shopify_app.services.contacts.contacts import ConsentChange, apply_consent, change_tags
from shopify_app.services.flows import engine, runs
from shopify_app.services.flows.steps import next_local_time

from .conftest import ApiClient, install_shop, settle_jobs
from .test_automations import ITEM, VARIANT, ask_for_stock, followed, shop_app, stock_update, subscriber  # noqa: F401
from .test_automations import texts as sent_texts
from .test_flow_engine import _contact, advance, flow_runs, later, make_flow, taken

YES = [{"id": "yes", "type": "send", "body": "yes"}]
NO = [{"id": "no", "type": "send", "body": "no"}]
NEW_YORK = ZoneInfo("America/New_York")


def branch(shop, contact_id: int, test: dict, *, before=None) -> tuple[str, dict]:
    """A one-condition flow run for the contact: the condition's outcome and detail."""
    flow = make_flow(shop, "welcome", [{"id": "q", "type": "condition", "if": test, "yes": YES, "no": NO}])
    [run_id] = runs.start_flows(shop_id=shop.id, trigger="welcome", contact_id=contact_id, key="w", flow_ids=[flow.id])
    db.session.commit()
    if before is not None:
        before()
    engine.advance_due()
    [(step, outcome, detail), *_rest] = taken(run_id)
    assert step == "q"
    return outcome, detail


def test_ordered_is_yes_for_an_order_since_the_run_began(shop_app):  # noqa: F811
    _app, _api, shop = shop_app
    contact_id = _contact(shop)
    assert branch(shop, contact_id, {"kind": "ordered"}) == ("no", {"reason": "no order since the flow began"})

    def order() -> None:
        db.session.add(Order(shop_id=shop.id, shopify_order_id=1001, contact_id=contact_id))
        db.session.commit()

    assert branch(shop, contact_id, {"kind": "ordered"}, before=order) == ("yes", {"reason": "order 1001 placed"})


def test_has_tag_and_spent_over_answer_from_the_contact(shop_app):  # noqa: F811
    _app, _api, shop = shop_app
    contact_id = _contact(shop)
    assert branch(shop, contact_id, {"kind": "has_tag", "tag": "vip"}) == ("no", {"reason": "tag absent"})
    contact = db.session.get(Contact, contact_id)
    change_tags(contact, add=["VIP"])
    contact.total_spent = Decimal("120")
    db.session.commit()
    assert branch(shop, contact_id, {"kind": "has_tag", "tag": "vip"}) == ("yes", {"reason": "tag present"})
    assert branch(shop, contact_id, {"kind": "spent_over", "amount": 100}) == ("yes", {"reason": "spent 120.00 > 100"})
    assert branch(shop, contact_id, {"kind": "spent_over", "amount": 500})[0] == "no"


def test_in_segment_evaluates_the_shops_segment_and_a_missing_one_is_no(shop_app):  # noqa: F811
    app, api, shop = shop_app
    tagged, plain = _contact(shop), _contact(shop, "+14155550123")
    change_tags(db.session.get(Contact, tagged), add=["vip"])
    db.session.commit()
    segment = api.post("/api/segments", json={"name": "VIPs", "filters": {"tags_any": ["vip"]}}).get_json()["id"]
    assert branch(shop, tagged, {"kind": "in_segment", "segment_id": segment}) == ("yes", {"reason": "in segment"})
    assert branch(shop, plain, {"kind": "in_segment", "segment_id": segment}) == ("no", {"reason": "not in segment"})
    deleted = ("no", {"reason": "segment deleted: treated as not in segment"})
    assert branch(shop, tagged, {"kind": "in_segment", "segment_id": segment + 1000}) == deleted
    other = install_shop("beta.myshopify.com")
    theirs = ApiClient(app.test_client(), other.domain).post(
        "/api/segments", json={"name": "Theirs", "filters": {"tags_any": ["vip"]}}
    )
    assert branch(shop, tagged, {"kind": "in_segment", "segment_id": theirs.get_json()["id"]}) == deleted
    assert api.delete(f"/api/segments/{segment}").status_code == 204
    assert branch(shop, tagged, {"kind": "in_segment", "segment_id": segment}) == deleted


def test_clicked_is_yes_once_a_link_of_this_runs_texts_was_followed(shop_app, fake_mitto):  # noqa: F811
    app, _api, shop = shop_app
    steps = [
        {"id": "cart", "type": "send", "body": "Your cart: {{checkout_url}}"},
        {"id": "pause", "type": "wait", "minutes": 60},
        {"id": "q", "type": "condition", "if": {"kind": "clicked"}, "yes": YES, "no": NO},
    ]
    flow = make_flow(shop, "abandoned_checkout", steps)
    clicker, idle = _contact(shop), _contact(shop, "+14155550123")
    for contact_id in (clicker, idle):
        runs.start_flows(
            shop_id=shop.id,
            trigger="abandoned_checkout",
            contact_id=contact_id,
            key="checkout:t1",
            context={"checkout_url": "https://alpha.myshopify.com/checkouts/t1"},
        )
    db.session.commit()
    advance(app)
    [text] = sent_texts(fake_mitto)
    assert followed(app, text).startswith("https://alpha.myshopify.com/checkouts/t1")
    advance(app, at=later(minutes=61))
    first, second = flow_runs(flow.id)
    assert taken(first.id)[2] == ("q", "yes", {"reason": "clicked a link"})
    assert taken(second.id)[2] == ("q", "no", {"reason": "no click yet"})


# --- waits until a time of day ------------------------------------------------------------------


def test_the_next_time_of_day_keeps_the_wall_clock_across_daylight_saving():
    spring = datetime(2026, 3, 7, 15, 0, tzinfo=UTC)  # 10:00 EST, the day before clocks go forward
    assert next_local_time("09:00", NEW_YORK, spring) == datetime(2026, 3, 8, 13, 0, tzinfo=UTC)  # 09:00 EDT
    assert next_local_time("11:00", NEW_YORK, spring) == datetime(2026, 3, 7, 16, 0, tzinfo=UTC)  # later today
    # 02:30 does not exist on 8 March: the wait ends just after the gap (03:30 EDT).
    assert next_local_time("02:30", NEW_YORK, spring) == datetime(2026, 3, 8, 7, 30, tzinfo=UTC)
    autumn = datetime(2026, 10, 31, 15, 0, tzinfo=UTC)  # the day before clocks go back
    assert next_local_time("09:00", NEW_YORK, autumn) == datetime(2026, 11, 1, 14, 0, tzinfo=UTC)  # 09:00 EST
    assert next_local_time("01:30", NEW_YORK, autumn) == datetime(2026, 11, 1, 5, 30, tzinfo=UTC)  # the first 01:30
    exactly = datetime(2026, 3, 9, 13, 0, tzinfo=UTC)  # 09:00 EDT itself: the next one is tomorrow's
    assert next_local_time("09:00", NEW_YORK, exactly) == datetime(2026, 3, 10, 13, 0, tzinfo=UTC)


def test_a_wait_until_uses_the_subscribers_zone_else_the_shops(shop_app):  # noqa: F811
    _app, _api, shop = shop_app
    steps = [
        {"id": "hi", "type": "send", "body": "Hi {{shop_name}}"},
        {"id": "morning", "type": "wait", "until": "09:00"},
        {"id": "bye", "type": "send", "body": "Bye {{shop_name}}"},
    ]
    flow = make_flow(shop, "welcome", steps)
    london, unknown = _contact(shop), _contact(shop, "+14155550123")
    db.session.get(Contact, london).timezone = "Europe/London"
    db.session.get(Contact, unknown).timezone = None  # the shop's zone: America/New_York
    now = datetime(2026, 3, 28, 12, 0, tzinfo=UTC)  # London goes to summer time on the 29th
    for contact_id in (london, unknown):
        runs.start_flows(shop_id=shop.id, trigger="welcome", contact_id=contact_id, key="w", flow_ids=[flow.id], at=now)
    db.session.commit()
    engine.advance_due(now=now)
    first, second = flow_runs(flow.id)
    assert first.due_at == datetime(2026, 3, 29, 8, 0, tzinfo=UTC)  # 09:00 BST
    assert second.due_at == datetime(2026, 3, 28, 13, 0, tzinfo=UTC)  # 09:00 EDT, later today
    assert taken(first.id)[1] == ("morning", "waited", {"until": "2026-03-29T08:00:00+00:00"})


# --- a run that cannot run ------------------------------------------------------------------------


def test_a_run_that_raises_is_retried_with_backoff_then_ended_without_stopping_others(shop_app):  # noqa: F811
    _app, _api, shop = shop_app
    flow = make_flow(shop, "welcome", [{"id": "hi", "type": "send", "body": "Hi {{shop_name}}"}])
    broken, fine = _contact(shop), _contact(shop, "+14155550123")
    for contact_id in (broken, fine):
        runs.start_flows(shop_id=shop.id, trigger="welcome", contact_id=contact_id, key="w", flow_ids=[flow.id])
    db.session.execute(update(FlowRun).where(FlowRun.contact_id == broken).values(step_id="gone"))
    db.session.commit()
    summary = engine.advance_due()
    assert (summary["errors"], summary["completed"]) == (1, 1)
    bad, good = flow_runs(flow.id)
    assert good.state.value == "completed"
    assert (bad.state.value, bad.exit_reason) == ("active", "retry:1")
    assert engine.advance_due()["claimed"] == 0  # backed off: not due again at once
    for minutes in (6, 6 + 11):
        engine.advance_due(now=later(minutes=minutes))
    bad = flow_runs(flow.id)[0]
    assert (bad.state.value, bad.exit_reason) == ("exited", "error")
    assert db.session.scalars(select(FlowRunStep.id).where(FlowRunStep.run_id == bad.id)).all() == []


def test_a_rolled_back_start_forgets_the_advance_it_asked_for(shop_app):  # noqa: F811
    _app, _api, shop = shop_app
    make_flow(shop, "welcome", [{"id": "hi", "type": "send", "body": "Hi {{shop_name}}"}])
    assert runs.start_flows(shop_id=shop.id, trigger="welcome", contact_id=_contact(shop), key="w")
    assert db.session.info.get(runs.ADVANCE_AFTER_COMMIT)
    db.session.rollback()
    assert runs.ADVANCE_AFTER_COMMIT not in db.session.info


# --- joined -----------------------------------------------------------------------------------------


def test_joining_by_keyword_starts_the_flows_for_that_source_only(shop_app):  # noqa: F811
    _app, _api, shop = shop_app
    by_keyword = make_flow(shop, "joined", YES, trigger_config={"sources": ["keyword"]})
    by_form = make_flow(shop, "joined", NO, trigger_config={"sources": ["proxy_form"]})
    contact = db.session.get(Contact, _contact(shop))
    contact.consent_state = ConsentState.PENDING
    db.session.commit()
    apply_consent(contact, ConsentChange(state=ConsentState.SUBSCRIBED, source=ConsentSource.KEYWORD))
    db.session.commit()
    [run] = flow_runs(by_keyword.id)
    assert run.trigger_key == "joined"
    assert flow_runs(by_form.id) == []


# --- tags from an import, back in stock ---------------------------------------------------------


def test_a_csv_import_starts_the_tag_flows_for_the_imported_tags(shop_app, fake_mitto):  # noqa: F811
    app, api, shop = shop_app
    flow = make_flow(shop, "tag_added", YES, trigger_config={"tag": "vip"})
    csv_file = 'phone,tags,consent\n+14155550101,"VIP,winter",yes\n+14155550102,winter,yes\n'
    response = api.post(
        "/api/contacts/imports",
        data={"consent_attestation": "true", "file": (io.BytesIO(csv_file.encode()), "contacts.csv")},
        content_type="multipart/form-data",
    )
    assert response.status_code in (201, 202), response.get_json()
    settle_jobs(app)
    advance(app)
    [run] = flow_runs(flow.id)
    assert run.trigger_key == "tag:vip"
    assert sent_texts(fake_mitto, "+14155550101")
    assert sent_texts(fake_mitto, "+14155550102") == []


def test_back_in_stock_starts_step_flows_while_the_automation_is_off(shop_app, fake_mitto, fake_shopify):  # noqa: F811
    app, api, shop = shop_app
    fake_shopify.add_inventory_item(ITEM, variant_id=VARIANT, product_title="Blue mug", handle="blue-mug")
    flow = make_flow(shop, "back_in_stock", [{"id": "back", "type": "send", "body": "{{product_title}} is back!"}])
    subscriber(api, "+14155550101")
    assert ask_for_stock(app, "+14155550101") == 201
    stock_update(app, 0)
    stock_update(app, 2)
    advance(app)
    assert [text.removeprefix("Alpha: ").split(" Reply")[0] for text in sent_texts(fake_mitto, "+14155550101")] == [
        "Blue mug is back!"
    ]
    [run] = flow_runs(flow.id)
    assert run.trigger_key.startswith("stock:")
