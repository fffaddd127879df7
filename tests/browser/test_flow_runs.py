"""A flow's runs and report as the merchant sees them: the runs table (state filter, pages), a
run's recorded steps with their outcomes and reasons, the notice that runs in progress finish on
their version, and the report's figures from a real send, click and order."""

from __future__ import annotations

import re

from playwright.sync_api import Page, expect
from sqlalchemy import select

from shopify_app.extensions import db, sms_backend
from shopify_app.models import Automation, AutomationKind, FlowRun, FlowRunState, FlowRunStep
from shopify_app.models.types import utcnow
from shopify_app.services.automations import triggers
from shopify_app.services.flows import runs, versions

from ..conftest import settle_jobs
from ..payloads import payload
from ..shopify_signing import webhook_request
from .harness import open_screen
from .test_flows import (  # noqa: F401 (browser_app and merchant are fixtures)
    SUBSCRIBER,
    TWO_STEPS,
    add_step,
    browser_app,
    merchant,
    no_serious_violations,
    step,
)

SHORT = re.compile(r"https://app\.example\.test(/r/[A-Za-z0-9_-]{8})")


def record(run: FlowRun, step_id: str, step_type: str, outcome: str, **detail: str) -> None:
    db.session.add(
        FlowRunStep(
            shop_id=run.shop_id, run_id=run.id, step_id=step_id, step_type=step_type, outcome=outcome, detail=detail
        )
    )


def test_each_run_shows_the_steps_it_took_and_why(page: Page, merchant):  # noqa: F811 (fixtures of test_flows)
    _api, shop, contact_id = merchant
    flow = versions.create_flow(shop=shop, data={"name": "Series", "trigger": "welcome", "steps": TWO_STEPS})
    versions.set_enabled(flow, True)
    db.session.commit()
    started = runs.start_flows(shop_id=shop.id, trigger="welcome", contact_id=contact_id, key="signup:1")
    other = runs.start_flows(shop_id=shop.id, trigger="welcome", contact_id=contact_id, key="signup:2")
    db.session.commit()
    run = db.session.get(FlowRun, started[0])
    # The engine records each step it takes (flow_run_steps): this run sent, waited, took No, exited.
    record(run, "hello", "send", "sent")
    record(run, "day", "wait", "waited", until="2026-01-02T09:00:00Z")
    record(run, "bought", "condition", "no", reason="no_order_since_start")
    record(run, "done", "exit", "exited", reason="exit_step")
    run.state, run.step_id, run.ended_at, run.exit_reason = FlowRunState.EXITED, None, utcnow(), "exit_step"
    db.session.commit()

    open_screen(page, f"/flows/{flow.id}", shop)
    runs_region = page.get_by_role("region", name="Runs")
    table = runs_region.get_by_role("table", name="Runs")
    expect(table.get_by_role("row")).to_have_count(3)
    runs_region.get_by_label("State").select_option(label="Exited")
    expect(table.get_by_role("row")).to_have_count(2)
    expect(table.get_by_role("row").nth(1)).to_contain_text("exit step")
    runs_region.get_by_label("State").select_option(label="Active")
    active = runs_region.get_by_role("table", name="Runs")
    expect(active.get_by_role("row").nth(1)).to_contain_text(f"Run {other[0]}")
    expect(active.get_by_role("row").nth(1)).to_contain_text("Step 1: Send a text")
    report = page.get_by_role("region", name="Report").locator("dl")
    expect(report).to_contain_text(re.compile(r"Runs exited\s*1"))
    expect(report).to_contain_text(re.compile(r"Exits by reason\s*exit step: 1"))
    runs_region.get_by_label("State").select_option(label="All runs")
    runs_region.get_by_role("link", name=f"Run {run.id}: its steps").click()

    expect(page.get_by_role("heading", level=1)).to_have_text(f"Series: run {run.id}")
    page.wait_for_function("() => !document.querySelector('[aria-busy=\"true\"]')")
    taken = page.get_by_role("table", name="Steps taken")
    expect(taken.get_by_role("row")).to_have_count(5)
    expect(taken.get_by_role("row").nth(3)).to_contain_text("Step 3: Condition")
    expect(taken.get_by_role("row").nth(3)).to_contain_text("No")
    expect(taken.get_by_role("row").nth(3)).to_contain_text("no order since start")
    expect(taken.get_by_role("row").nth(4)).to_contain_text("Step 5: Exit")
    expect(page.get_by_role("region", name="Run")).to_contain_text("Exited")
    no_serious_violations(page)
    page.get_by_role("link", name=f"Subscriber {contact_id}").click()
    expect(page).to_have_url(re.compile(rf"/subscribers/{contact_id}\?"))


def test_the_report_counts_real_sends_clicks_and_orders(page: Page, browser_app, merchant):  # noqa: F811 (fixtures of test_flows)
    _api, shop, contact_id = merchant
    flow = versions.create_flow(shop=shop, data={"name": "Series", "trigger": "welcome", "steps": TWO_STEPS})
    versions.set_enabled(flow, True)
    db.session.commit()
    [run_id] = runs.start_flows(shop_id=shop.id, trigger="welcome", contact_id=contact_id, key="signup:1")
    db.session.commit()
    # The step's text through the send path, as the engine sends it (triggers.trigger with the
    # step's automation), then a click on its link and an order.
    automation = db.session.scalars(
        select(Automation).where(Automation.flow_id == flow.id, Automation.flow_step == "hello")
    ).one()
    assert automation.kind == AutomationKind.FLOW_STEP
    triggers.trigger(
        shop_id=shop.id,
        kind=AutomationKind.FLOW_STEP,
        contact_id=contact_id,
        key=f"flow:{run_id}:hello",
        automation=automation,
    )
    db.session.commit()
    settle_jobs(browser_app)
    [text] = [message.text for message in sms_backend().sent]
    browser_app.test_client().get(SHORT.search(text).group(1))
    order = payload("orders/create", id=5001, created_at=utcnow().isoformat(), total_price="42.50", currency="USD")
    order["customer"] = {"id": None, "phone": SUBSCRIBER["phone"]}
    assert (
        browser_app.test_client().post("/webhooks/shopify", **webhook_request("orders/create", order)).status_code
        == 200
    )
    settle_jobs(browser_app)
    run = db.session.get(FlowRun, run_id)
    record(run, "hello", "send", "sent")
    record(run, "day", "wait", "waited")
    record(run, "bought", "condition", "yes", reason="ordered")
    db.session.commit()

    open_screen(page, f"/flows/{flow.id}", shop)
    report = page.get_by_role("region", name="Report")
    figures = report.locator("dl")
    expect(figures).to_contain_text(re.compile(r"Runs in progress\s*1"))
    expect(figures).to_contain_text(re.compile(r"Texts sent\s*1"))
    expect(figures).to_contain_text(re.compile(r"Clicks\s*1"))
    expect(figures).to_contain_text(re.compile(r"Orders\s*1"))
    expect(figures).to_contain_text(re.compile(r"Revenue\s*\$42\.50"))
    by_step = report.get_by_role("table", name="Report by step")
    first = by_step.get_by_role("row", name=re.compile("Step 1: Send a text"))
    expect(first.get_by_role("cell")).to_have_text(["Step 1: Send a text", "1", "1", "1", "1", "$42.50", "—", "—", "—"])
    condition = by_step.get_by_role("row", name=re.compile("Step 3: Condition"))
    expect(condition.get_by_role("cell").nth(6)).to_have_text("1")  # yes
    expect(condition.get_by_role("cell").nth(7)).to_have_text("0")  # no
    expect(condition.get_by_role("cell").nth(8)).to_have_text("ordered: 1")  # the reason recorded
    no_serious_violations(page)


def test_saving_while_runs_are_in_progress_says_they_finish_on_their_version(page: Page, merchant):  # noqa: F811 (fixtures of test_flows)
    _api, shop, contact_id = merchant
    flow = versions.create_flow(shop=shop, data={"name": "Series", "trigger": "welcome", "steps": TWO_STEPS})
    versions.set_enabled(flow, True)
    db.session.commit()
    assert runs.start_flows(shop_id=shop.id, trigger="welcome", contact_id=contact_id, key="signup:1")
    db.session.commit()
    open_screen(page, f"/flows/{flow.id}", shop)
    step(page, "Step 1: Send a text").get_by_label("Message", exact=True).fill("Hello again from {{shop_name}}")
    page.get_by_role("button", name="Save flow").click()
    notice = page.get_by_role("status").filter(has_text="Runs in progress finish on version 1")
    expect(notice).to_contain_text("1 run in progress keeps the steps it started with. New runs start on version 2.")


def test_runs_page_with_a_cursor(page: Page, merchant):  # noqa: F811 (fixtures of test_flows)
    _api, shop, contact_id = merchant
    flow = versions.create_flow(shop=shop, data={"name": "Busy", "trigger": "welcome", "steps": TWO_STEPS})
    versions.set_enabled(flow, True)
    db.session.commit()
    for n in range(23):
        assert runs.start_flows(shop_id=shop.id, trigger="welcome", contact_id=contact_id, key=f"signup:{n}")
    db.session.commit()
    open_screen(page, f"/flows/{flow.id}", shop)
    region = page.get_by_role("region", name="Runs")
    table = region.get_by_role("table", name="Runs")
    expect(table.get_by_role("row")).to_have_count(21)  # the header and the first 20
    region.get_by_role("button", name="Show more").click()
    expect(table.get_by_role("row")).to_have_count(24)
    expect(region.get_by_role("button", name="Show more")).to_have_count(0)
    # Deleting the only step of a branch puts the focus on that branch's Add step.
    step(page, "Step 5: Exit").get_by_role("button", name="Delete step 5").click()
    expect(page.get_by_role("button", name="Add a step to No of step 3")).to_be_focused()
