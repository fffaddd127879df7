"""/api/flows: create, read, edit (as versions), delete; templates and the catalog; the step
check's 422 naming each bad step; the automations' one-step flows; another shop's ids are 404."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from shopify_app.extensions import db
from shopify_app.models import Automation, Contact, FlowRun, FlowRunStep
from shopify_app.services.flows import runs
from shopify_app.services.flows.definition import check_settings, check_steps
from shopify_app.services.flows.templates import TEMPLATES

HELLO = [{"id": "hello", "type": "send", "body": "Hello from {{shop_name}}"}]


def cart_series(discount: str = "10% off with {{discount_code}}") -> list[dict]:
    """Reminder, a day's wait, then the discount text only to those who have not ordered."""
    return [
        {"id": "first", "type": "send", "body": "Your cart at {{shop_name}}: {{checkout_url}}"},
        {"id": "day", "type": "wait", "minutes": 1440},
        {
            "id": "bought",
            "type": "condition",
            "if": {"kind": "ordered"},
            "yes": [],
            "no": [{"id": "discount", "type": "send", "body": discount}],
        },
    ]


SERIES = cart_series()


def create(api, **fields) -> dict:
    body = {"name": "Cart series", "trigger": "abandoned_checkout", "steps": SERIES, **fields}
    response = api.post("/api/flows", json=body)
    assert response.status_code == 201, response.get_json()
    return response.get_json()


def contact(shop, phone: str = "+14155550101") -> int:
    row = Contact(shop_id=shop.id, phone_hash=f"h{phone}")
    row.phone = phone
    db.session.add(row)
    db.session.commit()
    return row.id


@pytest.mark.parametrize("template", TEMPLATES, ids=lambda t: t["key"])
def test_every_template_passes_the_step_check(template):
    check_settings(template["trigger"], template["trigger_config"], template["reentry"])
    assert check_steps(template["steps"], template["trigger"])
    for step in template["steps"]:
        if step["type"] == "send":
            assert "{{shop_name}}" in step["body"]  # the shopper knows who texts
            assert not any(word.isupper() and len(word) > 3 for word in step["body"].split())  # no shouting


def test_each_template_creates_a_flow_that_is_off(api):
    listed = api.get("/api/flows/templates").get_json()["items"]
    assert {item["key"] for item in listed} == {t["key"] for t in TEMPLATES}
    for item in listed:
        response = api.post("/api/flows", json={"template": item["key"]})
        assert response.status_code == 201, response.get_json()
        flow = response.get_json()
        assert (flow["enabled"], flow["engine"], flow["template"]) == (False, "steps", item["key"])
        assert (flow["trigger"], flow["exit_on_order"]) == (item["trigger"], item["exit_on_order"])
        assert flow["steps"] == item["steps"]
        assert flow["version"]["number"] == 1
    named = api.post("/api/flows", json={"template": "vip_tag", "name": "Gold club"}).get_json()
    assert named["name"] == "Gold club"
    assert named["trigger_config"] == {"tag": "VIP"}
    bad = api.post("/api/flows", json={"template": "vip_tag", "steps": HELLO})
    assert bad.status_code == 422
    assert "steps" in bad.get_json()["error"]["details"]["fields"]
    assert api.post("/api/flows", json={"template": "nope"}).status_code == 422


def test_the_catalog_lists_triggers_with_their_variables_and_settings(api):
    catalog = api.get("/api/flows/catalog").get_json()
    triggers = {item["key"]: item for item in catalog["triggers"]}
    assert "checkout_url" in triggers["abandoned_checkout"]["variables"]
    assert "checkout_url" not in triggers["welcome"]["variables"]
    assert triggers["browsed_product"]["config"] == {"window_minutes": 60}
    assert catalog["step_types"] == ["send", "wait", "condition", "tag", "exit"]
    assert {kind["key"] for kind in catalog["condition_kinds"]} == {
        "ordered",
        "clicked",
        "has_tag",
        "spent_over",
        "in_segment",
    }
    assert catalog["reentry_modes"] == ["per_trigger", "once", "cooldown"]


def test_create_read_and_the_detail_hides_automation_ids(api):
    flow = create(api)
    assert flow["enabled"] is False
    assert flow["trigger_label"] == "Abandoned checkout"
    assert flow["steps"] == SERIES  # no automation_id in the answer
    assert flow["steps_count"] == 4
    assert flow["active_runs"] == 0
    again = api.get(f"/api/flows/{flow['id']}").get_json()
    assert again == flow


@pytest.mark.parametrize(
    ("steps", "step", "words"),
    [
        (
            [*HELLO, {"id": "end", "type": "exit"}, {"id": "lost", "type": "send", "body": "x"}],
            "lost",
            "Unreachable",
        ),
        ([*HELLO, {"id": "w", "type": "wait", "minutes": 5}], "w", "cannot end with a wait"),
        ([{"id": "v", "type": "send", "body": "See {{product_url}}"}], "v", "product_url"),
    ],
    ids=["unreachable", "ends-on-wait", "unknown-variable"],
)
def test_bad_steps_are_a_422_naming_the_step(api, steps, step, words):
    for response in (
        api.post("/api/flows", json={"name": "Bad", "trigger": "welcome", "steps": steps}),
        api.patch(f"/api/flows/{create(api)['id']}", json={"trigger": "welcome", "steps": steps}),
    ):
        assert response.status_code == 422
        details = response.get_json()["error"]["details"]
        assert any(item["step"] == step and words in item["message"] for item in details["step_errors"])
        assert details["fields"]["steps"]


def test_a_new_trigger_rechecks_the_steps_it_keeps(api):
    flow = create(api)  # its texts use checkout_url
    refused = api.patch(f"/api/flows/{flow['id']}", json={"trigger": "welcome"})
    assert refused.status_code == 422
    assert {item["step"] for item in refused.get_json()["error"]["details"]["step_errors"]} == {"first"}
    assert api.get(f"/api/flows/{flow['id']}").get_json()["trigger"] == "abandoned_checkout"
    hello = create(api, trigger="welcome", steps=HELLO)
    moved = api.patch(f"/api/flows/{hello['id']}", json={"trigger": "order_confirmation"}).get_json()
    assert (moved["trigger"], moved["version"]["number"], moved["steps"]) == ("order_confirmation", 1, HELLO)


def test_bounded_payloads(api):
    many = [{"id": f"s{i}", "type": "send", "body": "Hi from {{shop_name}}"} for i in range(41)]
    assert api.post("/api/flows", json={"name": "Big", "trigger": "welcome", "steps": many}).status_code == 422
    long = [{"id": "long", "type": "send", "body": "x" * 1601}]
    response = api.post("/api/flows", json={"name": "Long", "trigger": "welcome", "steps": long})
    assert response.status_code == 422
    assert response.get_json()["error"]["details"]["step_errors"][0]["step"] == "long"
    assert api.post("/api/flows", json={"name": "x" * 121, "trigger": "welcome", "steps": HELLO}).status_code == 422
    assert api.post("/api/flows", json={"name": "No steps", "trigger": "welcome"}).status_code == 422


def test_editing_steps_versions_the_flow_and_runs_keep_their_version(api, shop):
    flow = create(api, trigger="welcome", steps=HELLO)
    assert api.patch(f"/api/flows/{flow['id']}", json={"enabled": True}).get_json()["enabled"] is True
    someone = contact(shop)
    [first_run] = runs.start_flows(shop_id=shop.id, trigger="welcome", contact_id=someone, key="signup:1")
    db.session.commit()
    edited = [{**HELLO[0], "body": "Hi again from {{shop_name}}"}]
    after = api.patch(f"/api/flows/{flow['id']}", json={"steps": edited, "name": "Hello v2"}).get_json()
    assert (after["version"]["number"], after["name"], after["steps"]) == (2, "Hello v2", edited)
    assert after["active_runs"] == 1
    [second_run] = runs.start_flows(shop_id=shop.id, trigger="welcome", contact_id=someone, key="signup:2")
    db.session.commit()
    listed = api.get(f"/api/flows/{flow['id']}/runs").get_json()["items"]
    assert [(run["id"], run["version"]) for run in listed] == [(second_run, 2), (first_run, 1)]
    assert db.session.get(FlowRun, first_run).version_id == flow["version"]["id"]
    assert "phone" not in str(listed)
    detail = api.get(f"/api/flows/{flow['id']}/runs/{first_run}").get_json()
    assert (detail["contact_id"], detail["state"], detail["version"], detail["steps"]) == (someone, "active", 1, [])
    assert detail["version_steps"] == HELLO  # the tree it follows: its own version's, not the edit's
    # Only the name: no new version.
    assert api.patch(f"/api/flows/{flow['id']}", json={"name": "Hello"}).get_json()["version"]["number"] == 2


def test_runs_filter_by_state_and_paginate(api, shop):
    flow = create(api, trigger="welcome", steps=HELLO)
    api.patch(f"/api/flows/{flow['id']}", json={"enabled": True})
    someone = contact(shop)
    ids = [runs.start_flows(shop_id=shop.id, trigger="welcome", contact_id=someone, key=f"k{i}")[0] for i in range(5)]
    db.session.commit()
    run = db.session.get(FlowRun, ids[0])
    run.state, run.exit_reason, run.step_id = "exited", "order_placed", None
    db.session.commit()
    url = f"/api/flows/{flow['id']}/runs"
    exited = api.get(url, query_string={"state": "exited"}).get_json()["items"]
    assert [(r["id"], r["exit_reason"], r["due_at"]) for r in exited] == [(ids[0], "order_placed", None)]
    assert len(api.get(url, query_string={"state": "active"}).get_json()["items"]) == 4
    assert api.get(url, query_string={"state": "bogus"}).status_code == 422
    first = api.get(url, query_string={"limit": 2}).get_json()
    second = api.get(url, query_string={"limit": 2, "cursor": first["next_cursor"]}).get_json()
    third = api.get(url, query_string={"limit": 2, "cursor": second["next_cursor"]}).get_json()
    assert [r["id"] for r in first["items"] + second["items"] + third["items"]] == ids[::-1]
    assert third["next_cursor"] is None


def test_a_retried_run_shows_its_retries_not_an_exit(api, shop):
    flow = create(api, trigger="welcome", steps=HELLO)
    api.patch(f"/api/flows/{flow['id']}", json={"enabled": True})
    [run_id] = runs.start_flows(shop_id=shop.id, trigger="welcome", contact_id=contact(shop), key="k")
    db.session.get(FlowRun, run_id).exit_reason = "retry:2"  # the engine's mark after two failures
    db.session.commit()
    [item] = api.get(f"/api/flows/{flow['id']}/runs").get_json()["items"]
    assert (item["state"], item["exit_reason"], item["retries"]) == ("active", None, 2)
    report = api.get(f"/api/flows/{flow['id']}/report").get_json()["flow"]
    assert (report["runs"]["active"], report["exits"]) == (1, {})


def test_flows_paginate(api):
    api.get("/api/flows")  # the automations' seven flows come first
    for number in range(3):
        create(api, name=f"Flow {number}")
    first = api.get("/api/flows", query_string={"limit": 4}).get_json()
    assert len(first["items"]) == 4
    rest = api.get("/api/flows", query_string={"limit": 200, "cursor": first["next_cursor"]}).get_json()
    assert rest["next_cursor"] is None
    names = [item["name"] for item in first["items"] + rest["items"]]
    assert names[:3] == ["Flow 2", "Flow 1", "Flow 0"]
    assert len(names) == len({item["id"] for item in first["items"] + rest["items"]}) == 3 + 7


def test_delete_only_an_off_flow_the_merchant_made(api, shop):
    flow = create(api)
    api.patch(f"/api/flows/{flow['id']}", json={"enabled": True})
    someone = contact(shop)
    [run_id] = runs.start_flows(shop_id=shop.id, trigger="abandoned_checkout", contact_id=someone, key="c1")
    db.session.add(FlowRunStep(shop_id=shop.id, run_id=run_id, step_id="first", step_type="send", outcome="skipped"))
    db.session.commit()
    refused = api.delete(f"/api/flows/{flow['id']}")
    assert (refused.status_code, refused.get_json()["error"]["code"]) == (409, "flow_enabled")
    api.patch(f"/api/flows/{flow['id']}", json={"enabled": False})
    assert api.delete(f"/api/flows/{flow['id']}").status_code == 204
    assert api.get(f"/api/flows/{flow['id']}").status_code == 404
    db.session.expire_all()
    assert db.session.get(FlowRun, run_id) is None  # its runs and their steps go with it
    assert db.session.scalars(select(FlowRunStep)).all() == []
    kept = db.session.scalars(select(Automation).where(Automation.flow_id == flow["id"])).all()
    assert len(kept) == 2  # the steps' automations stay (their campaigns hold the texts' history)
    assert all(not a.enabled and a.retired_at is not None for a in kept)
    legacy = next(item for item in api.get("/api/flows").get_json()["items"] if item["from_automation"])
    refused = api.delete(f"/api/flows/{legacy['id']}")
    assert (refused.status_code, refused.get_json()["error"]["code"]) == (409, "flow_from_automation")


def test_a_fresh_shop_lists_its_automations_as_one_step_flows(api):
    flows = {item["trigger"]: item for item in api.get("/api/flows", query_string={"limit": 200}).get_json()["items"]}
    automations = {item["kind"]: item for item in api.get("/api/automations").get_json()["items"]}
    assert set(flows) == set(automations)
    cart = api.get(f"/api/flows/{flows['abandoned_checkout']['id']}").get_json()
    assert (cart["engine"], cart["from_automation"], cart["enabled"]) == ("automation", True, False)
    wait, send = cart["steps"]
    assert wait["minutes"] == automations["abandoned_checkout"]["delay_minutes"]
    assert send["body"] == automations["abandoned_checkout"]["body"]
    welcome = api.get(f"/api/flows/{flows['welcome']['id']}").get_json()
    assert [step["type"] for step in welcome["steps"]] == ["send"]


def test_editing_a_legacy_flows_text_writes_through_to_its_automation(api):
    flows = {item["trigger"]: item for item in api.get("/api/flows", query_string={"limit": 200}).get_json()["items"]}
    cart_id = flows["abandoned_checkout"]["id"]
    wait, send = api.get(f"/api/flows/{cart_id}").get_json()["steps"]
    body = "{{shop_name}}: your cart is waiting: {{checkout_url}}"
    after = api.patch(f"/api/flows/{cart_id}", json={"steps": [{**wait, "minutes": 45}, {**send, "body": body}]})
    assert after.status_code == 200, after.get_json()
    assert after.get_json()["engine"] == "automation"
    automation = next(a for a in api.get("/api/automations").get_json()["items"] if a["kind"] == "abandoned_checkout")
    assert (automation["body"], automation["delay_minutes"]) == (body, 45)
    refused = api.patch(f"/api/flows/{cart_id}", json={"trigger": "welcome"})
    assert (refused.status_code, refused.get_json()["error"]["code"]) == (422, "flow_trigger_fixed")
    assert api.patch(f"/api/flows/{cart_id}", json={"trigger": "abandoned_checkout"}).status_code == 200


def test_another_shops_flow_and_run_ids_are_404_on_every_route(api, other_api, shop):
    flow = create(api, trigger="welcome", steps=HELLO)
    api.patch(f"/api/flows/{flow['id']}", json={"enabled": True})
    [run_id] = runs.start_flows(shop_id=shop.id, trigger="welcome", contact_id=contact(shop), key="k")
    db.session.commit()
    base = f"/api/flows/{flow['id']}"
    for response in (
        other_api.get(base),
        other_api.patch(base, json={"name": "Stolen"}),
        other_api.patch(base, json={"enabled": False}),
        other_api.delete(base),
        other_api.get(f"{base}/runs"),
        other_api.get(f"{base}/runs/{run_id}"),
        other_api.get(f"{base}/report"),
    ):
        assert response.status_code == 404
        assert response.get_json()["error"]["code"] == "flow_not_found"
    theirs = create(other_api, trigger="welcome", steps=HELLO)
    assert api.get(f"/api/flows/{theirs['id']}/runs/{run_id}").status_code == 404  # a run of another flow
    assert other_api.get(f"/api/flows/{theirs['id']}/runs/{run_id}").status_code == 404
    assert flow["id"] not in {item["id"] for item in other_api.get("/api/flows").get_json()["items"]}
    assert api.get(base).get_json()["name"] == "Cart series"
    assert api.get(base).get_json()["enabled"] is True
    assert db.session.scalar(select(FlowRun.flow_id).where(FlowRun.id == run_id)) == flow["id"]
