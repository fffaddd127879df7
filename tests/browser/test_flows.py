"""The Flows screens as a merchant uses them: a flow from a template, its texts edited, a
condition with a branch added, a step that could never run refused beside that step (by the
page's own check and by the API's), saved as a new version and turned on; a keyboard-only way
to add a step; each run's recorded steps; the report's figures from real sends, clicks and
orders. Through visible labels and roles, with axe-core on the list, the editor and a run."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import Page, expect

from shopify_app.services.flows import versions

from ..conftest import open_shop
from .harness import check_accessibility, open_screen

SUBSCRIBER = {"phone": "+14155550123", "consent_state": "subscribed", "consent_text": "Yes, texts please."}
SALE = "https://alpha.myshopify.com/collections/sale"
SHORT = re.compile(r"https://app\.example\.test(/r/[A-Za-z0-9_-]{8})")
TWO_STEPS = [
    {"id": "hello", "type": "send", "body": "Hi from {{shop_name}}: {{first_name}}, see " + SALE},
    {"id": "day", "type": "wait", "minutes": 1440},
    {
        "id": "bought",
        "type": "condition",
        "if": {"kind": "ordered"},
        "yes": [{"id": "thanks", "type": "send", "body": "Thanks from {{shop_name}}"}],
        "no": [{"id": "done", "type": "exit"}],
    },
]


@pytest.fixture
def browser_app(make_app):
    app = make_app(SEND_RATE_PER_ACCOUNT=0, SEND_RATE_PER_SHOP=0)
    with app.app_context():
        yield app


@pytest.fixture
def merchant(browser_app):
    api, shop = open_shop(browser_app, credits=100)
    contact = api.post("/api/contacts", json=SUBSCRIBER)
    assert contact.status_code == 201
    return api, shop, contact.get_json()["id"]


def flow_id_of(page: Page) -> int:
    return int(re.search(r"/flows/(\d+)", page.url).group(1))


def step(page: Page, heading: str):
    return page.get_by_role("region", name=heading, exact=True)


def add_step(page: Page, where: str, kind: str) -> None:
    page.get_by_role("button", name=where, exact=True).click()
    page.get_by_role("group", name=f"Step types for {where}").get_by_role("button", name=kind, exact=True).click()


def tab_to(page: Page, target, presses: int = 60) -> None:
    """Press Tab until `target` (a control inside a component's shadow root) has the focus."""
    for _ in range(presses):
        if target.evaluate("(node) => node.getRootNode().activeElement === node"):
            return
        page.keyboard.press("Tab")
    raise AssertionError(f"Tab never reached {target}")


def no_serious_violations(page: Page) -> None:
    assert check_accessibility(page) == []


def test_a_template_edited_branched_checked_saved_and_turned_on(page: Page, merchant):
    api, shop, _contact = merchant
    open_screen(page, "/flows", shop)
    # The pre-flow automations are listed as one-step flows.
    expect(page.get_by_role("row", name=re.compile("Abandoned checkout"))).to_contain_text("Off")
    no_serious_violations(page)
    page.get_by_role("button", name="Create flow").click()
    templates = page.get_by_role("region", name="Start a flow")
    expect(templates.get_by_role("button", name="Start from scratch")).to_be_visible()
    templates.get_by_role("button", name="Use Welcome series").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Welcome series")
    flow_id = flow_id_of(page)
    expect(page.get_by_role("status").filter(has_text="Version 1")).to_be_visible()

    # The first text, edited with a variable of its trigger.
    first = step(page, "Step 1: Send a text")
    first.get_by_label("Message", exact=True).fill("Welcome to {{shop_name}}!")
    first.get_by_role("button", name="Insert first_name").click()
    expect(first.get_by_label("Message", exact=True)).to_have_value("Welcome to {{shop_name}}! {{first_name}}")
    expect(first.get_by_role("button", name="Insert checkout_url")).to_have_count(0)  # not a welcome variable
    expect(first).to_contain_text("40 characters")

    # A condition in the No branch of step 3, with a text in its Yes branch.
    add_step(page, "Add a step to No of step 3", "Condition")
    condition = step(page, "Step 5: Condition")
    condition.get_by_label("Check").select_option(label="Clicked a link in this flow's texts")
    add_step(page, "Add a step to Yes of step 5", "Send a text")
    step(page, "Step 6: Send a text").get_by_label("Message", exact=True).fill("Track it: {{checkout_url}}")
    # A step after the condition in the same list could never run: refused beside it.
    add_step(page, "Add a step below step 3", "Tag")
    tag = step(page, "Step 7: Tag")
    tag.get_by_label("Tag", exact=True).fill("vip")
    page.get_by_role("button", name="Save flow").click()
    expect(page.get_by_role("alert")).to_contain_text("Step 7: Unreachable")
    expect(tag).to_have_accessible_description(re.compile("^Unreachable: nothing runs after"))
    expect(tag.get_by_label("Tag", exact=True)).to_have_attribute("aria-invalid", "true")
    expect(tag.get_by_label("Tag", exact=True)).to_be_focused()
    no_serious_violations(page)
    assert api.get(f"/api/flows/{flow_id}").get_json()["version"]["number"] == 1  # nothing sent

    # Deleted; now the API's own check names step 6 (a variable welcome texts do not have).
    tag.get_by_role("button", name="Delete step 7").click()
    expect(page.get_by_role("region", name="Step 7: Tag")).to_have_count(0)
    page.get_by_role("button", name="Save flow").click()
    sixth = step(page, "Step 6: Send a text")
    expect(sixth.get_by_label("Message", exact=True)).to_have_accessible_description(re.compile("checkout_url"))
    expect(sixth).to_have_accessible_description(re.compile("checkout_url"))
    expect(page.get_by_role("alert")).to_contain_text("Step 6:")
    sixth.get_by_label("Message", exact=True).fill("Thanks for looking, {{first_name}}.")
    page.get_by_role("button", name="Save flow").click()
    expect(page.get_by_role("status").filter(has_text="Saved as version 2")).to_be_visible()
    expect(page.get_by_role("alert")).to_have_count(0)

    saved = api.get(f"/api/flows/{flow_id}").get_json()
    assert saved["steps"][0]["body"] == "Welcome to {{shop_name}}! {{first_name}}"
    branch = saved["steps"][2]["no"]
    assert [s["type"] for s in branch] == ["send", "condition"]
    assert branch[1]["if"] == {"kind": "clicked"}
    assert branch[1]["yes"][0]["body"] == "Thanks for looking, {{first_name}}."

    page.get_by_role("switch", name="Flow on").check()
    expect(page.get_by_role("status").filter(has_text="Welcome series on")).to_be_visible()
    assert api.get(f"/api/flows/{flow_id}").get_json()["enabled"] is True
    no_serious_violations(page)

    open_screen(page, "/flows", shop)
    row = page.get_by_role("row", name=re.compile("Welcome series"))
    expect(row).to_contain_text("On")
    expect(row).to_contain_text("Version 2")


def test_settings_follow_the_trigger_and_are_saved(page: Page, merchant):
    api, shop, _contact = merchant
    flow = versions.create_flow(shop=shop, data={"name": "Tagged", "trigger": "welcome", "steps": TWO_STEPS[:1]})
    open_screen(page, f"/flows/{flow.id}", shop)
    page.get_by_label("Trigger").select_option(label="Tag added")
    page.get_by_label("Tag that starts the flow").fill("vip")
    page.get_by_label("Re-entry").select_option(label="Again after a cooldown")
    page.get_by_label("Cooldown (days)").fill("14")
    page.get_by_label("End the flow when they order").check()
    page.get_by_label("Name", exact=True).fill("VIP hello")
    page.get_by_role("button", name="Save flow").click()
    expect(page.get_by_role("status").filter(has_text="Saved as version")).to_be_visible()
    saved = api.get(f"/api/flows/{flow.id}").get_json()
    assert (saved["name"], saved["trigger"], saved["trigger_config"]) == ("VIP hello", "tag_added", {"tag": "vip"})
    assert saved["reentry"] == {"mode": "cooldown", "days": 14}
    assert saved["exit_on_order"] is True
    # A bad setting is refused beside its field.
    page.get_by_label("Cooldown (days)").fill("400")
    page.get_by_role("button", name="Save flow").click()
    expect(page.get_by_role("alert")).to_contain_text("not saved")
    expect(page.get_by_label("Cooldown (days)")).to_have_accessible_description("A cooldown is 1 to 365 days.")
    page.get_by_label("Cooldown (days)").fill("14")
    page.get_by_label("Tag that starts the flow").fill("")
    page.get_by_role("button", name="Save flow").click()
    expect(page.get_by_label("Tag that starts the flow")).to_have_accessible_description(re.compile("tag is 1-64"))
    assert api.get(f"/api/flows/{flow.id}").get_json()["reentry"]["days"] == 14


def test_a_step_is_added_with_the_keyboard_alone(page: Page, merchant):
    api, shop, _contact = merchant
    flow = versions.create_flow(shop=shop, data={"name": "Keys", "trigger": "welcome", "steps": TWO_STEPS[:1]})
    open_screen(page, f"/flows/{flow.id}", shop)
    page.get_by_label("Name", exact=True).focus()
    tab_to(page, page.get_by_role("button", name="Add a step at the end of the flow"))
    page.keyboard.press("Enter")
    menu = page.get_by_role("group", name="Step types for Add a step at the end of the flow")
    expect(menu.get_by_role("button", name="Send a text")).to_be_focused()
    page.keyboard.press("Enter")
    message = step(page, "Step 2: Send a text").get_by_label("Message", exact=True)
    expect(message).to_be_focused()
    page.keyboard.type("Second text from {{shop_name}}")
    tab_to(page, page.get_by_role("button", name="Save flow"))
    page.keyboard.press("Enter")
    expect(page.get_by_role("status").filter(has_text="Saved as version 2")).to_be_visible()
    assert [s["body"] for s in api.get(f"/api/flows/{flow.id}").get_json()["steps"]][
        1
    ] == "Second text from {{shop_name}}"


def test_no_flows_yet_is_an_empty_state_that_opens_the_templates(page: Page, merchant):
    """Every shop has its automations as flows, so an empty list is the API's answer stubbed."""
    _api, shop, _contact = merchant
    page.route(re.compile(r"/api/flows\?"), lambda route: route.fulfill(json={"items": [], "next_cursor": None}))
    open_screen(page, "/flows", shop)
    expect(page.get_by_role("heading", name="No flows yet")).to_be_visible()
    page.locator("#list").get_by_role("button", name="Create flow").click()
    expect(
        page.get_by_role("region", name="Start a flow").get_by_role("button", name="Use Welcome series")
    ).to_be_visible()
    # Focus moves to the first template (the API lists the abandoned checkout series first).
    expect(page.get_by_role("region", name="Start a flow").get_by_role("button").first).to_be_focused()


def test_the_flows_list_pages(page: Page, merchant):
    _api, shop, _contact = merchant
    for n in range(30):
        versions.create_flow(shop=shop, data={"name": f"Flow {n:02d}", "trigger": "welcome", "steps": TWO_STEPS[:1]})
    open_screen(page, "/flows", shop)
    table = page.get_by_role("table", name="Flows")
    expect(table.get_by_role("row")).to_have_count(26)
    page.get_by_role("button", name="Next page").click()
    expect(page.get_by_text("Page 2")).to_be_visible()
    expect(table.get_by_role("row")).not_to_have_count(26)
    page.get_by_role("button", name="Previous page").click()
    expect(table.get_by_role("row")).to_have_count(26)
    # The automations' own screen stays one link away, with the admin's parameters carried.
    page.get_by_role("link", name="the Automations page").click()
    expect(page).to_have_url(re.compile(r"/automations\?.*shop=alpha"))
    expect(page.get_by_role("heading", level=1)).to_have_text("Automations")


def test_steps_move_and_a_step_goes_above_the_first(page: Page, merchant):
    api, shop, _contact = merchant
    flow = versions.create_flow(shop=shop, data={"name": "Order", "trigger": "welcome", "steps": TWO_STEPS[:1]})
    open_screen(page, f"/flows/{flow.id}", shop)
    add_step(page, "Add a step above step 1", "Tag")
    tag = step(page, "Step 1: Tag")
    tag.get_by_label("Tag", exact=True).fill("new")
    expect(step(page, "Step 2: Send a text").get_by_role("button", name="Move step 2 down")).to_be_disabled()
    step(page, "Step 2: Send a text").get_by_role("button", name="Move step 2 up").click()
    expect(step(page, "Step 1: Send a text")).to_be_visible()
    expect(step(page, "Step 2: Tag").get_by_label("Tag", exact=True)).to_have_value("new")  # moved with its card
    page.get_by_role("button", name="Save flow").click()
    expect(page.get_by_role("status").filter(has_text="Saved as version 2")).to_be_visible()
    saved = api.get(f"/api/flows/{flow.id}").get_json()["steps"]
    assert [(s["type"], s.get("tag")) for s in saved] == [("send", None), ("tag", "new")]


def test_start_from_scratch_makes_a_one_text_flow(page: Page, merchant):
    api, shop, _contact = merchant
    open_screen(page, "/flows", shop)
    page.get_by_role("button", name="Create flow").click()
    page.get_by_role("region", name="Start a flow").get_by_role("button", name="Start from scratch").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("New flow")
    flow = api.get(f"/api/flows/{flow_id_of(page)}").get_json()
    assert ([s["type"] for s in flow["steps"]], flow["enabled"]) == (["send"], False)


def test_a_flow_the_merchant_made_is_deleted_after_confirming(page: Page, merchant):
    api, shop, _contact = merchant
    flow = versions.create_flow(shop=shop, data={"name": "Short-lived", "trigger": "welcome", "steps": TWO_STEPS[:1]})
    flow_id = flow.id
    open_screen(page, f"/flows/{flow_id}", shop)
    page.get_by_role("button", name="Delete flow").click()
    dialog = page.get_by_role("dialog", name="Delete this flow?")
    dialog.get_by_role("button", name="Delete flow").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Flows")
    expect(page.get_by_role("link", name="Short-lived")).to_have_count(0)
    assert api.get(f"/api/flows/{flow_id}").status_code == 404


def test_an_automations_flow_keeps_its_trigger_and_cannot_be_deleted(page: Page, merchant):
    api, shop, _contact = merchant
    legacy = next(item for item in api.get("/api/flows").get_json()["items"] if item["trigger"] == "welcome")
    open_screen(page, f"/flows/{legacy['id']}", shop)
    expect(page.get_by_label("Trigger")).to_be_disabled()
    expect(page.get_by_label("Trigger")).to_have_accessible_description(re.compile("keeps its trigger"))
    expect(page.get_by_role("button", name="Delete flow")).to_have_count(0)
    runs_region = page.get_by_role("region", name="Runs")
    expect(runs_region).to_contain_text("still run by its automation")
    expect(runs_region.get_by_role("link", name="the Automations page")).to_have_attribute(
        "href", re.compile(r"^/automations\?")
    )
    no_serious_violations(page)


def test_deleting_a_condition_asks_first_for_its_branches(page: Page, merchant):
    api, shop, _contact = merchant
    flow = versions.create_flow(shop=shop, data={"name": "Branches", "trigger": "welcome", "steps": TWO_STEPS})
    flow_id = flow.id
    open_screen(page, f"/flows/{flow_id}", shop)
    condition = step(page, "Step 3: Condition")
    condition.get_by_role("button", name="Delete step 3").click()
    ask = page.get_by_role("group", name="Delete step 3?")
    expect(ask.get_by_role("button", name="Delete step 3 and its 2 steps")).to_be_focused()
    ask.get_by_role("button", name="Keep it").click()
    expect(page.get_by_role("group", name="Delete step 3?")).to_have_count(0)
    expect(condition.get_by_role("button", name="Delete step 3")).to_be_focused()
    condition.get_by_role("button", name="Delete step 3").click()
    page.get_by_role("button", name="Delete step 3 and its 2 steps").click()
    expect(page.get_by_role("region", name=re.compile("^Step [345]"))).to_have_count(0)
    # A wait now ends the flow: the page's check says so beside it.
    page.get_by_role("button", name="Save flow").click()
    expect(step(page, "Step 2: Wait")).to_have_accessible_description(re.compile("cannot end with a wait"))
    step(page, "Step 2: Wait").get_by_role("button", name="Delete step 2").click()
    page.get_by_role("button", name="Save flow").click()
    expect(page.get_by_role("status").filter(has_text="Saved as version 2")).to_be_visible()
    assert [s["type"] for s in api.get(f"/api/flows/{flow_id}").get_json()["steps"]] == ["send"]
