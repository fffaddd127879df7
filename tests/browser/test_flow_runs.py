"""A flow's runs and report as the merchant sees them: the runs table (state filter, pages), a
run's recorded steps with their outcomes and reasons, the notice that runs in progress finish on
their version, and the report's figures. Runs start through runs.start_flows and move through
the flow engine (its jobs settled, its waits passed with advance_due), texts go through the
send path, the click through the short link and the order through its webhook."""

from __future__ import annotations

import re
from datetime import timedelta

from playwright.sync_api import Page, expect

from shopify_app.extensions import db, sms_backend
from shopify_app.models import Flow
from shopify_app.models.types import utcnow
from shopify_app.services.flows import engine, runs, versions

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


def series_with_a_run(shop, contact_id: int) -> tuple[Flow, int]:
    """The two-step welcome series, on, with one run for the contact (committed)."""
    flow = versions.create_flow(shop=shop, data={"name": "Series", "trigger": "welcome", "steps": TWO_STEPS})
    versions.set_enabled(flow, True)
    db.session.commit()
    [run_id] = runs.start_flows(shop_id=shop.id, trigger="welcome", contact_id=contact_id, key="signup:1")
    db.session.commit()
    return flow, run_id


def test_each_run_shows_the_steps_it_took_and_why(page: Page, browser_app, merchant):  # noqa: F811 (fixtures of test_flows)
    _api, shop, contact_id = merchant
    flow, run_id = series_with_a_run(shop, contact_id)
    settle_jobs(browser_app)  # the engine sends the first text and starts the day's wait
    engine.advance_due(now=utcnow() + timedelta(days=2))  # no order: the No branch, its exit
    db.session.commit()
    [other] = runs.start_flows(shop_id=shop.id, trigger="welcome", contact_id=contact_id, key="signup:2")
    db.session.commit()  # not advanced: active, its first step next

    open_screen(page, f"/flows/{flow.id}", shop)
    runs_region = page.get_by_role("region", name="Runs")
    table = runs_region.get_by_role("table", name="Runs")
    expect(table.get_by_role("row")).to_have_count(3)
    runs_region.get_by_label("State").select_option(label="Exited")
    expect(table.get_by_role("row")).to_have_count(2)
    expect(table.get_by_role("row").nth(1)).to_contain_text("exit step")
    runs_region.get_by_label("State").select_option(label="Active")
    active = runs_region.get_by_role("table", name="Runs")
    expect(active.get_by_role("row").nth(1)).to_contain_text(f"Run {other}")
    expect(active.get_by_role("row").nth(1)).to_contain_text("Step 1: Send a text")
    report = page.get_by_role("region", name="Report").locator("dl")
    expect(report).to_contain_text(re.compile(r"Runs exited\s*1"))
    expect(report).to_contain_text(re.compile(r"Exits by reason\s*exit step: 1"))
    runs_region.get_by_label("State").select_option(label="All runs")
    runs_region.get_by_role("link", name=f"Run {run_id}: its steps").click()

    expect(page.get_by_role("heading", level=1)).to_have_text(f"Series: run {run_id}")
    page.wait_for_function("() => !document.querySelector('[aria-busy=\"true\"]')")
    taken = page.get_by_role("table", name="Steps taken")
    expect(taken.get_by_role("row")).to_have_count(5)
    expect(taken.get_by_role("row").nth(1)).to_contain_text("Step 1: Send a text")
    expect(taken.get_by_role("row").nth(1)).to_contain_text("Sent")
    expect(taken.get_by_role("row").nth(2)).to_contain_text(re.compile(r"Step 2: Wait\s*Waited\s*Until"))
    expect(taken.get_by_role("row").nth(3)).to_contain_text(
        re.compile(r"Step 3: Condition\s*No\s*no order since the flow began")
    )
    expect(taken.get_by_role("row").nth(4)).to_contain_text(re.compile(r"Step 5: Exit\s*Exited\s*exit step"))
    expect(page.get_by_role("region", name="Run")).to_contain_text("Exited")
    no_serious_violations(page)
    page.get_by_role("link", name=f"Subscriber {contact_id}").click()
    expect(page).to_have_url(re.compile(rf"/subscribers/{contact_id}\?"))


def test_the_report_counts_real_sends_clicks_and_orders(page: Page, browser_app, merchant):  # noqa: F811 (fixtures of test_flows)
    _api, shop, contact_id = merchant
    flow, _run_id = series_with_a_run(shop, contact_id)
    settle_jobs(browser_app)  # the engine sends the first text through the send path
    [text] = [message.text for message in sms_backend().sent]
    browser_app.test_client().get(SHORT.search(text).group(1))  # its link, clicked
    order = payload("orders/create", id=5001, created_at=utcnow().isoformat(), total_price="42.50", currency="USD")
    order["customer"] = {"id": None, "phone": SUBSCRIBER["phone"]}
    assert (
        browser_app.test_client().post("/webhooks/shopify", **webhook_request("orders/create", order)).status_code
        == 200
    )
    settle_jobs(browser_app)
    engine.advance_due(now=utcnow() + timedelta(days=2))  # ordered: the Yes branch's text
    db.session.commit()
    settle_jobs(browser_app)
    assert len(sms_backend().sent) == 2

    open_screen(page, f"/flows/{flow.id}", shop)
    report = page.get_by_role("region", name="Report")
    figures = report.locator("dl")
    expect(figures).to_contain_text(re.compile(r"Runs completed\s*1"))
    expect(figures).to_contain_text(re.compile(r"Texts sent\s*2"))
    expect(figures).to_contain_text(re.compile(r"Clicks\s*1"))
    expect(figures).to_contain_text(re.compile(r"Orders\s*1"))
    expect(figures).to_contain_text(re.compile(r"Revenue\s*\$42\.50"))
    by_step = report.get_by_role("table", name="Report by step")
    first = by_step.get_by_role("row", name=re.compile("Step 1: Send a text"))
    expect(first.get_by_role("cell")).to_have_text(["Step 1: Send a text", "1", "1", "1", "1", "$42.50", "—", "—", "—"])
    condition = by_step.get_by_role("row", name=re.compile("Step 3: Condition"))
    expect(condition.get_by_role("cell").nth(6)).to_have_text("1")  # yes
    expect(condition.get_by_role("cell").nth(7)).to_have_text("0")  # no
    expect(condition.get_by_role("cell").nth(8)).to_have_text("order 5001 placed: 1")  # the reason recorded
    thanks = by_step.get_by_role("row", name=re.compile("Step 4: Send a text"))
    expect(thanks.get_by_role("cell").nth(2)).to_have_text("1")  # sent
    no_serious_violations(page)


def test_saving_while_runs_are_in_progress_says_they_finish_on_their_version(page: Page, merchant):  # noqa: F811 (fixtures of test_flows)
    _api, shop, contact_id = merchant
    flow, _run_id = series_with_a_run(shop, contact_id)
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
