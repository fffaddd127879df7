"""The harness itself: the Polaris stub renders real, labelled controls that fire events on their
hosts; axe-core runs and finds what it should; the page's log catches script errors and requests
that try to leave the machine; the CDN answers only with the stubs."""

from __future__ import annotations

import pytest
from playwright.sync_api import Page, expect

from shopify_app.admin.views import POLARIS_URL

from .harness import check_accessibility, harness_of

# A page of every component, served at a loopback URL the app does not have (page.route).
COMPONENTS = f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Stub</title>
<script src="{POLARIS_URL}"></script></head>
<body>
<s-page heading="Components">
  <s-button slot="primary-action" variant="primary" id="open" command="--show" commandfor="confirm">Open</s-button>
  <s-banner tone="critical" heading="It broke"><s-paragraph>Try again.</s-paragraph></s-banner>
  <s-banner tone="success" heading="It worked"></s-banner>
  <s-section heading="Form">
    <form id="form">
      <s-text-field label="Name" name="name" details="Shown to shoppers" value="Ada"></s-text-field>
      <s-email-field label="Email" name="email" required></s-email-field>
      <s-number-field label="Credits" name="credits" min="1" max="10" step="1"></s-number-field>
      <s-date-field label="Send on" name="send_on"></s-date-field>
      <s-search-field label="Search" name="q"></s-search-field>
      <s-text-area label="Message" name="body" rows="3"></s-text-area>
      <s-select label="Segment" name="segment" value="b">
        <s-option value="a">All</s-option><s-option value="b">VIP</s-option>
      </s-select>
      <s-checkbox label="Opted in" name="opted_in"></s-checkbox>
      <s-switch label="Enabled" name="enabled" checked></s-switch>
      <s-button type="submit" id="save">Save</s-button>
    </form>
    <s-section><s-heading>Nested</s-heading><s-text>plain</s-text> <s-badge tone="success">Done</s-badge></s-section>
  </s-section>
  <s-table aria-label="People">
    <s-table-header-row><s-table-header>Name</s-table-header><s-table-header>State</s-table-header></s-table-header-row>
    <s-table-body><s-table-row><s-table-cell>Ada</s-table-cell><s-table-cell>subscribed</s-table-cell></s-table-row></s-table-body>
  </s-table>
  <s-stack direction="inline"><s-box><s-link href="/elsewhere">Elsewhere</s-link></s-box><s-grid></s-grid></s-stack>
  <s-spinner></s-spinner><s-divider></s-divider>
  <s-modal id="confirm" heading="Sure?">
    <s-paragraph>It cannot be undone.</s-paragraph>
    <s-button slot="primary-action" variant="primary" tone="critical" command="--hide" commandfor="confirm">
      Delete
    </s-button>
    <s-button slot="secondary-actions" command="--hide" commandfor="confirm">Cancel</s-button>
  </s-modal>
</s-page>
</body></html>"""


@pytest.fixture
def components(page: Page) -> Page:
    url = f"{harness_of(page).base_url}/__components__"
    page.route(url, lambda route: route.fulfill(body=COMPONENTS, content_type="text/html"))
    page.goto(url)
    page.evaluate(
        """() => {
            window.seen = [];
            for (const type of ["input", "change", "submit"]) {
                document.addEventListener(type, (event) => window.seen.push(`${type}:${event.target.localName}`));
            }
            document.getElementById("form").addEventListener("submit", (event) => event.preventDefault());
        }"""
    )
    return page


def seen(page: Page) -> list[str]:
    return page.evaluate("() => window.seen.splice(0)")


def test_fields_are_labelled_native_controls(components):
    page = components
    expect(page.get_by_role("textbox", name="Name")).to_have_value("Ada")
    expect(page.get_by_role("textbox", name="Name")).to_have_accessible_description("Shown to shoppers")
    expect(page.get_by_role("textbox", name="Email")).to_have_attribute("type", "email")
    expect(page.get_by_role("spinbutton", name="Credits")).to_have_attribute("max", "10")
    expect(page.get_by_label("Send on")).to_have_attribute("type", "date")
    expect(page.get_by_role("searchbox", name="Search")).to_be_visible()
    expect(page.get_by_role("textbox", name="Message")).to_have_attribute("rows", "3")
    expect(page.get_by_role("combobox", name="Segment")).to_have_value("b")
    expect(page.get_by_role("checkbox", name="Opted in")).not_to_be_checked()
    expect(page.get_by_role("switch", name="Enabled")).to_be_checked()


def test_typing_fires_input_and_change_on_the_host_and_value_mirrors_both_ways(components):
    page = components
    page.get_by_role("textbox", name="Name").fill("Grace")
    page.get_by_role("textbox", name="Name").blur()
    assert page.evaluate("() => document.querySelector('[name=name]').value") == "Grace"
    assert seen(page) == ["input:s-text-field", "change:s-text-field"]

    page.evaluate("() => { document.querySelector('[name=name]').value = 'Hopper'; }")
    expect(page.get_by_role("textbox", name="Name")).to_have_value("Hopper")

    page.get_by_role("combobox", name="Segment").select_option("a")
    assert page.evaluate("() => document.querySelector('[name=segment]').value") == "a"
    page.get_by_role("checkbox", name="Opted in").check()
    assert page.evaluate("() => document.querySelector('[name=opted_in]').checked") is True
    assert seen(page) == ["input:s-select", "change:s-select", "input:s-checkbox", "change:s-checkbox"]


def test_error_set_after_render_is_shown_and_described(components):
    page = components
    page.evaluate("() => document.querySelector('[name=email]').setAttribute('error', 'Enter an email address.')")
    email = page.get_by_role("textbox", name="Email")
    expect(email).to_have_attribute("aria-invalid", "true")
    expect(email).to_have_accessible_description("Enter an email address.")
    expect(page.get_by_text("Enter an email address.")).to_be_visible()

    page.evaluate("() => document.querySelector('[name=email]').removeAttribute('error')")
    expect(email).not_to_have_attribute("aria-invalid", "true")
    expect(page.get_by_text("Enter an email address.")).to_be_hidden()


def test_select_options_follow_their_children(components):
    page = components
    page.evaluate(
        """() => {
            const option = document.createElement("s-option");
            option.setAttribute("value", "c");
            option.textContent = "Lapsed";
            document.querySelector("[name=segment]").append(option);
        }"""
    )
    select = page.get_by_role("combobox", name="Segment")
    expect(select.get_by_role("option")).to_have_text(["All", "VIP", "Lapsed"])
    expect(select).to_have_value("b")


def test_submit_button_submits_its_form_and_disabled_loading_follow_attributes(components):
    page = components
    page.get_by_role("button", name="Save").click()
    assert seen(page) == ["submit:form"]
    assert page.evaluate("() => new FormData(document.getElementById('form')).get('name')") == "Ada"

    page.evaluate("() => document.getElementById('save').setAttribute('loading', '')")
    save = page.get_by_role("button", name="Save")
    expect(save).to_be_disabled()
    expect(save).to_have_attribute("aria-busy", "true")
    page.evaluate("() => document.getElementById('save').removeAttribute('loading')")
    expect(save).to_be_enabled()


def test_structure_has_headings_landmarks_table_roles_and_banners(components):
    page = components
    expect(page.get_by_role("heading", level=1)).to_have_text("Components")
    expect(page.get_by_role("region", name="Form")).to_be_visible()
    expect(page.get_by_role("heading", level=2, name="Form")).to_be_visible()
    expect(page.get_by_role("heading", level=3, name="Nested")).to_be_visible()
    expect(page.get_by_role("alert")).to_contain_text("It broke")
    expect(page.get_by_role("alert")).to_contain_text("Try again.")
    expect(page.get_by_role("status").filter(has_text="It worked")).to_be_visible()
    table = page.get_by_role("table", name="People")
    expect(table.get_by_role("columnheader")).to_have_text(["Name", "State"])
    expect(table.get_by_role("cell")).to_have_text(["Ada", "subscribed"])
    expect(page.get_by_role("link", name="Elsewhere")).to_have_attribute("href", "/elsewhere")
    expect(page.get_by_role("progressbar", name="Loading")).to_be_visible()


def test_modal_opens_by_command_and_closes(components):
    page = components
    dialog = page.get_by_role("dialog", name="Sure?")
    expect(dialog).to_be_hidden()
    page.get_by_role("button", name="Open").click()
    expect(dialog).to_be_visible()
    dialog.get_by_role("button", name="Cancel").click()
    expect(dialog).to_be_hidden()


def test_axe_passes_the_components_page(components):
    assert check_accessibility(components) == []


def test_axe_finds_an_unlabelled_field(components):
    page = components
    page.evaluate("() => document.querySelector('[name=email]').removeAttribute('label')")
    assert [violation.rule for violation in check_accessibility(page)] == ["label"]


def test_requests_leaving_the_machine_are_blocked_and_recorded(page, browser_log):
    page.goto(f"{harness_of(page).base_url}/health")
    outcome = page.evaluate("() => fetch('https://example.com/x').then(() => 'answered', () => 'blocked')")
    assert outcome == "blocked"
    assert browser_log.blocked_requests == ["GET https://example.com/x"]
    browser_log.blocked_requests.clear()


def test_the_cdn_answers_only_the_two_stubbed_scripts(page):
    assert page.goto(POLARIS_URL).status == 200
    assert page.goto("https://cdn.shopify.com/shopifycloud/polaris-2.js").status == 404


def test_script_errors_and_console_errors_are_recorded(page, browser_log):
    page.goto(f"{harness_of(page).base_url}/health")
    with page.expect_event("pageerror"):
        page.evaluate("() => { console.error('boom'); setTimeout(() => { throw new Error('bang'); }); }")
    assert [line.split(" (")[0] for line in browser_log.take_console_errors()] == ["boom"]
    assert [error.splitlines()[0] for error in browser_log.page_errors] == ["Error: bang"]
    browser_log.page_errors.clear()
