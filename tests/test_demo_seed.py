"""`flask seed-demo` / `make seed`: a demo shop whose every screen and report has something to
show, that answers `/api` with no Shopify behind it, idempotently, never in production."""

from __future__ import annotations

import re
import subprocess
from collections import Counter
from types import SimpleNamespace
from typing import Any

import pytest
from sqlalchemy import func, select

from shopify_app.extensions import db
from shopify_app.models import Campaign, CampaignKind, Contact, InboundMessage, Message, Shop
from shopify_app.services.contacts.pii import phone_hash

from .conftest import ApiClient

DOMAIN = "demo-shop.myshopify.com"


def seed_demo(app: Any) -> Any:
    return app.test_cli_runner().invoke(args=["seed-demo"])


@pytest.fixture
def demo(make_app, fake_shopify):
    """The demo shop seeded through the CLI, on an app whose Shopify Admin API is a loopback fake
    that records every call: none is expected."""
    app = make_app(SHOPIFY_ADMIN_BASE_URL=fake_shopify.admin_base_url)
    with app.app_context():
        result = seed_demo(app)
        assert result.exit_code == 0, result.output
        yield SimpleNamespace(
            app=app, api=ApiClient(app.test_client(), DOMAIN), output=result.output, shopify=fake_shopify
        )


def every(api: ApiClient, path: str) -> list[dict[str, Any]]:
    items: list[dict[str, Any]] = []
    cursor = None
    while True:
        body = api.get(path, query_string={"limit": 200, **({"cursor": cursor} if cursor else {})}).get_json()
        items += body["items"]
        cursor = body.get("next_cursor")
        if not cursor:
            return items


def summary(output: str) -> list[str]:
    """What the command printed, without the log lines (they go to the same stream here)."""
    return [line for line in output.splitlines() if not re.match(r"\d{4}-\d\d-\d\dT", line)]


def row_counts() -> dict[str, int]:
    return {
        table.name: db.session.scalar(select(func.count()).select_from(table)) for table in db.metadata.sorted_tables
    }


def test_the_demo_shop_answers_the_api_without_a_token_exchange(demo):
    shop = demo.api.get("/api/shop")
    assert shop.status_code == 200, shop.get_json()
    assert shop.get_json()["domain"] == DOMAIN
    assert demo.api.get("/api/contacts").status_code == 200
    assert demo.shopify.requests == []  # no token exchange, no Admin API call
    assert DOMAIN in demo.output
    assert "next:" in demo.output


def test_the_demo_shop_has_contacts_in_every_consent_state_country_and_tag(demo):
    contacts = every(demo.api, "/api/contacts")
    assert 45 <= len(contacts) <= 55
    states = Counter(contact["consent_state"] for contact in contacts)
    assert set(states) == {"subscribed", "pending", "unsubscribed"}
    assert states["subscribed"] > states["unsubscribed"] > 0
    assert {contact["country_code"] for contact in contacts} == {"US", "CA", "GB", "DE"}
    assert {"newsletter", "vip"} <= {tag for contact in contacts for tag in contact["tags"]}
    assert all(contact["first_name"] for contact in contacts)
    # Stored the way the contacts service stores a number: sealed, found by its keyed hash.
    stored = db.session.get(Contact, contacts[0]["id"])
    assert stored.phone.startswith("+")
    assert stored.phone not in stored.phone_ciphertext
    assert stored.phone_hash == phone_hash(stored.phone, shop_id=stored.shop_id)
    left = next(contact for contact in contacts if contact["consent_state"] == "unsubscribed")
    events = demo.api.get(f"/api/contacts/{left['id']}/consent-events").get_json()["items"]
    assert [event["state"] for event in events] == ["subscribed", "unsubscribed"]


def test_the_finished_campaign_has_a_report_worth_reading(demo):
    [campaign] = demo.api.get("/api/campaigns").get_json()["items"]
    assert campaign["state"] == "completed"
    report = demo.api.get(f"/api/reports/campaigns/{campaign['id']}").get_json()
    assert report["sent"] >= 20
    assert 0 < report["failed"] < report["delivered"] < report["sent"]  # and some still await a report
    assert report["clicks"] > report["unique_clicks"] > 0
    assert report["ctr"] > 0
    assert (report["orders"], report["revenue"]) == (1, {"USD": "64.00"})
    assert report["opt_outs"] > 0
    assert report["credits_spent"] > report["sent"]  # GB and DE cost more than one credit a part
    summary = demo.api.get("/api/reports/summary").get_json()  # the last 30 days: the reply too
    assert summary["sent"] == report["sent"] + 1
    assert (summary["clicks"], summary["orders"]) == (report["clicks"], 1)


def test_segments_a_template_an_automation_the_inbox_and_the_credits_are_there(demo):
    api = demo.api
    segments = api.get("/api/segments").get_json()["items"]
    assert {segment["name"] for segment in segments} == {"Newsletter subscribers", "VIPs in North America"}
    for segment in segments:
        assert api.get(f"/api/segments/{segment['id']}/count").get_json()["count"] > 0
    [template] = api.get("/api/templates").get_json()["items"]
    assert "{{first_name}}" in template["body"]
    automations = api.get("/api/automations").get_json()["items"]
    assert [automation["kind"] for automation in automations if automation["enabled"]] == ["welcome"]
    threads = api.get("/api/inbox").get_json()["items"]
    assert len(threads) == 2
    texts = {
        thread["contact"]["id"]: [
            m["text"] for m in api.get(f"/api/inbox/{thread['contact']['id']}").get_json()["items"]
        ]
        for thread in threads
    }
    conversation = next(contact_id for contact_id, said in texts.items() if len(said) == 2)
    assert texts[conversation] == ["Perfect, thank you!", "Hi! Do you ship to Canada?"]  # newest first
    carrier = select(Campaign.id).where(Campaign.kind == CampaignKind.CONVERSATION)
    [reply] = db.session.scalars(select(Message).where(Message.campaign_id.in_(carrier))).all()
    assert (reply.contact_id, reply.state.value, reply.credits) == (conversation, "delivered", 1)
    billing = api.get("/api/billing").get_json()
    assert (billing["balance"], billing["reserved"]) == (demo.app.config["TRIAL_CREDITS"], 0)


def test_seeding_again_adds_nothing(demo):
    before = row_counts()
    again = seed_demo(demo.app)
    assert again.exit_code == 0, again.output
    assert row_counts() == before
    assert summary(again.output) == summary(demo.output)
    assert summary(demo.output)[0] == f"demo shop ready: {DOMAIN} (id {db.session.scalar(select(Shop.id))})"


def test_a_merchants_changes_survive_seeding_again(demo):
    api = demo.api
    welcome = next(a for a in api.get("/api/automations").get_json()["items"] if a["kind"] == "welcome")
    assert api.patch(f"/api/automations/{welcome['id']}", json={"enabled": False}).status_code == 200
    contacts = every(api, "/api/contacts")
    kept_out = next(contact for contact in contacts if contact["consent_state"] == "subscribed")
    assert api.patch(f"/api/contacts/{kept_out['id']}", json={"consent_state": "unsubscribed"}).status_code == 200
    deleted = next(contact for contact in contacts if contact["consent_state"] == "unsubscribed")
    assert api.delete(f"/api/contacts/{deleted['id']}").status_code == 204  # an opted-out number: suppressed
    [template] = api.get("/api/templates").get_json()["items"]
    new_body = "Hello {{first_name}}, new words."
    assert api.patch(f"/api/templates/{template['id']}", json={"body": new_body}).status_code == 200
    [campaign] = api.get("/api/campaigns").get_json()["items"]
    assert api.delete(f"/api/campaigns/{campaign['id']}").status_code == 204

    again = seed_demo(demo.app)
    assert again.exit_code == 0, again.output
    assert api.get(f"/api/automations/{welcome['id']}").get_json()["enabled"] is False
    assert api.get(f"/api/contacts/{kept_out['id']}").get_json()["consent_state"] == "unsubscribed"
    assert len(every(api, "/api/contacts")) == len(contacts) - 1  # the suppressed number stays away
    assert api.get(f"/api/templates/{template['id']}").get_json()["body"] == new_body
    [rebuilt] = api.get("/api/campaigns").get_json()["items"]  # a new finished campaign
    report = api.get(f"/api/reports/campaigns/{rebuilt['id']}").get_json()
    assert rebuilt["state"] == "completed"
    assert report["delivered"] > 0


def test_seed_demo_is_refused_in_production(app):
    app.config["APP_ENV"] = "production"
    result = seed_demo(app)
    assert result.exit_code == 1
    assert "APP_ENV=production" in result.output
    assert db.session.scalar(select(func.count()).select_from(Shop)) == 0


def test_seeding_logs_and_prints_no_personal_data(make_app, capsys):
    app = make_app()
    with app.app_context():
        capsys.readouterr()
        result = seed_demo(app)
        captured = capsys.readouterr()
        assert result.exit_code == 0, result.output
        assert "demo_shop_seeded" in captured.err + result.output  # its log lines are among what is checked
        contacts = list(db.session.scalars(select(Contact)))
        assert len(contacts) >= 45
        shop = db.session.scalar(select(Shop))
        private = {shop.access_token}
        for contact in contacts:
            private |= {contact.phone, contact.phone[-7:], f"{contact.first_name} {contact.last_name}"}
        private |= {message.text for message in db.session.scalars(select(InboundMessage))}
        written = captured.out + captured.err + result.output  # the CLI runner takes stderr too
        assert [value for value in private if value in written] == []


def test_make_seed_migrates_then_seeds_and_make_shell_opens_a_shell(project_root):
    def dry_run(target: str) -> str:
        return subprocess.run(
            ["make", "-n", target], cwd=project_root, capture_output=True, text=True, check=True
        ).stdout

    seed = dry_run("seed")
    assert ".venv/bin/flask --app shopify_app db upgrade" in seed
    assert seed.index("db upgrade") < seed.index(".venv/bin/flask --app shopify_app seed-demo")
    assert ".venv/bin/flask --app shopify_app shell" in dry_run("shell")


def test_every_flask_command_in_the_readme_runs_from_a_fresh_clone(project_root):
    """The global `flask` has none of the requirements: commands go through the venv (or the image)."""
    readme = (project_root / "README.md").read_text()
    bare = re.findall(r"^.*(?<!\.venv/bin/)(?<!sms-blossom )flask --app.*$", readme, flags=re.MULTILINE)
    assert bare == []
