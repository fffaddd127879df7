"""Spend controls: the low-balance alert (banner and email, once per crossing), auto-recharge
through the usage line item (idempotent, never past the usage cap), and the per-cycle spend cap
that no launch, batch or automation text can pass. Shopify and SMTP are loopback fakes."""

from __future__ import annotations

import threading
from decimal import Decimal

import pytest
from sqlalchemy import func, select
from structlog.testing import capture_logs

from jobs.spend import check_shop_spend, check_spend_controls, email_spend_alert
from shopify_app.config import ConfigError, load_config
from shopify_app.extensions import db
from shopify_app.models import CreditLedger, Message, SpendAlert, UsageCharge
from shopify_app.models.types import utcnow
from shopify_app.services.billing import credits as ledger

from .conftest import ApiClient, open_shop, settle_jobs
from .fakes.smtp import FakeSmtp, free_port
from .payloads import payload
from .test_billing import activate, contacts, deliver, mutations

SHOP = "alpha.myshopify.com"
OWNER = "owner@alpha.example"
SPEND = "/api/billing/spend-controls"


@pytest.fixture
def smtp():
    server = FakeSmtp().start()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
def spend_app(make_app, fake_shopify, smtp):
    app = make_app(
        SHOPIFY_ADMIN_BASE_URL=fake_shopify.admin_base_url,
        SEND_RATE_PER_ACCOUNT=0,
        SEND_RATE_PER_SHOP=0,
        SMTP_URL=smtp.url,
        SMTP_FROM="SMS Blossom <alerts@blossom.example>",
    )
    with app.app_context():
        api, shop = open_shop(app, SHOP, credits=100, fake_shopify=fake_shopify)
        shop.email = OWNER
        db.session.commit()
        yield app, api, shop


def spend(shop, amount: int, key: str) -> None:
    """Credits spent elsewhere (a debit row), as the send path writes them."""
    row = CreditLedger(shop_id=shop.id, kind="debit", amount=-amount, idempotency_key=key, created_at=utcnow())
    db.session.add(row)
    db.session.commit()


def put(api, **settings):
    return api.patch(SPEND, json=settings)


def check(app, shop) -> dict:
    outcome = check_shop_spend(shop.id)
    settle_jobs(app, strict=False)
    return outcome


def alerts(kind: str = "low_balance") -> list[SpendAlert]:
    db.session.expire_all()
    return list(db.session.scalars(select(SpendAlert).where(SpendAlert.kind == kind).order_by(SpendAlert.id)))


# --- settings -----------------------------------------------------------------------------------


def test_spend_controls_start_off_and_round_trip(spend_app):
    _app, api, _shop = spend_app
    view = api.get(SPEND).get_json()
    assert view["settings"] == {
        "low_balance_threshold": None,
        "auto_recharge": {"enabled": False, "pack": "500", "when_below": 100},
        "spend_cap_per_cycle": None,
    }
    assert (view["balance"], view["cap_room"], view["alerts"]) == (100, None, [])
    saved = put(api, low_balance_threshold=20, spend_cap_per_cycle=500)
    assert saved.status_code == 200, saved.get_json()
    assert saved.get_json()["settings"]["low_balance_threshold"] == 20
    assert saved.get_json()["cap_room"] == 500
    assert api.get(SPEND).get_json()["settings"]["spend_cap_per_cycle"] == 500


@pytest.mark.parametrize(
    "body",
    [
        {"low_balance_threshold": 0},
        {"low_balance_threshold": "10"},
        {"spend_cap_per_cycle": -5},
        {"auto_recharge": {"enabled": True, "pack": "7", "when_below": 10}},
        {"auto_recharge": {"enabled": "yes"}},
        {"auto_recharge": {"when_below": 10, "colour": "red"}},
        {"lowBalanceThreshold": 10},
    ],
)
def test_bad_spend_settings_are_422_and_change_nothing(spend_app, body):
    _app, api, _shop = spend_app
    response = api.patch(SPEND, json=body)
    assert response.status_code == 422
    assert response.get_json()["error"]["code"] == "validation_failed"
    assert api.get(SPEND).get_json()["settings"]["low_balance_threshold"] is None


def test_auto_recharge_needs_a_plan_with_usage_charges(spend_app):
    _app, api, _shop = spend_app
    response = put(api, auto_recharge={"enabled": True, "pack": "500", "when_below": 50})
    assert response.status_code == 422
    assert "enabled" in response.get_json()["error"]["details"]["fields"]["auto_recharge"]


def test_another_shop_sees_neither_the_settings_nor_the_alerts(spend_app, smtp):
    app, api, _shop = spend_app
    assert put(api, low_balance_threshold=500, spend_cap_per_cycle=10).status_code == 200
    settle_jobs(app, strict=False)
    assert len(alerts()) == 1
    other_api, _other = open_shop(app, "beta.myshopify.com")
    view = other_api.get(SPEND).get_json()
    assert view["settings"]["low_balance_threshold"] is None
    assert (view["alerts"], view["cap_room"]) == ([], None)
    assert other_api.get("/api/home").get_json()["spend"]["alerts"] == []


# --- the low-balance alert ------------------------------------------------------------------------


def test_low_balance_alerts_once_per_crossing_and_re_arms_above_the_threshold(spend_app, smtp):
    app, api, shop = spend_app
    assert put(api, low_balance_threshold=50).status_code == 200
    settle_jobs(app)
    assert alerts() == []  # 100 >= 50
    spend(shop, 60, "spent:1")
    assert check(app, shop)["alert_id"] is not None
    assert check(app, shop)["alert_id"] is None  # still below: the same crossing
    check_spend_controls()
    [first] = alerts()
    assert (first.balance, first.threshold, first.crossing, first.resolved_at) == (40, 50, 1, None)
    banner = api.get("/api/home").get_json()["spend"]["alerts"]
    assert [(a["kind"], a["balance"], a["threshold"]) for a in banner] == [("low_balance", 40, 50)]
    ledger.grant(shop_id=shop.id, amount=30, key="grant:more")
    db.session.commit()
    check(app, shop)  # 70: re-armed, the banner goes
    assert alerts()[0].resolved_at is not None
    assert api.get("/api/home").get_json()["spend"]["alerts"] == []
    spend(shop, 35, "spent:2")
    check(app, shop)
    assert [(a.crossing, a.balance) for a in alerts()] == [(1, 40), (2, 35)]
    assert len(smtp.messages) == 2  # one email per crossing


def test_the_email_goes_to_the_shops_address_and_names_nothing_else(spend_app, smtp):
    app, api, _shop = spend_app
    contacts(api, 2)  # shoppers' numbers exist; the email must not carry any
    put(api, low_balance_threshold=500)
    settle_jobs(app)
    [email] = smtp.messages
    assert smtp.received[0]["to"] == [OWNER]
    assert email["To"] == OWNER
    assert email["From"] == "SMS Blossom <alerts@blossom.example>"
    assert email["Subject"] == "SMS Blossom: Alpha has 100 SMS credits left"
    body = email.get_content()
    assert "100 credits, below the alert threshold of 500" in body
    assert "https://admin.shopify.com/store/alpha/apps/" in body
    assert "+1415555" not in body  # no shopper's number
    assert "@" not in body  # no address but the To
    assert alerts()[0].emailed_at is not None
    assert email_spend_alert(alerts()[0].id) == "done"  # run twice: sent once
    assert len(smtp.messages) == 1


def test_without_smtp_the_alert_is_a_banner_and_a_log_line_without_the_address(make_app, fake_shopify):
    app = make_app(SHOPIFY_ADMIN_BASE_URL=fake_shopify.admin_base_url)
    with app.app_context():
        api, shop = open_shop(app, SHOP, credits=10, fake_shopify=fake_shopify)
        shop.email = OWNER
        db.session.commit()
        with capture_logs() as logs:
            assert put(api, low_balance_threshold=50).status_code == 200
            settle_jobs(app)
        [alert] = alerts()
        assert (alert.emailed_at, alert.email_skipped) == (None, "smtp_not_configured")
        skipped = [entry for entry in logs if entry["event"] == "spend_alert_email_skipped"]
        assert skipped == [
            {
                "event": "spend_alert_email_skipped",
                "log_level": "info",
                "shop_id": shop.id,
                "alert_id": alert.id,
                "reason": "smtp_not_configured",
            }
        ]
        assert OWNER not in repr(logs)
        assert api.get("/api/home").get_json()["spend"]["alerts"][0]["emailed"] is False


def test_an_smtp_server_that_is_down_fails_the_job_for_a_retry_not_the_check(make_app, fake_shopify, smtp):
    app = make_app(SHOPIFY_ADMIN_BASE_URL=fake_shopify.admin_base_url, SMTP_URL=f"smtp://127.0.0.1:{free_port()}")
    with app.app_context():
        api, shop = open_shop(app, SHOP, credits=10, fake_shopify=fake_shopify)
        shop.email = OWNER
        db.session.commit()
        assert put(api, low_balance_threshold=50).status_code == 200
        settle_jobs(app, strict=False)
        [alert] = alerts()
        assert (alert.emailed_at, alert.email_skipped) == (None, None)  # still to send
        with pytest.raises(ConnectionRefusedError):
            email_spend_alert(alert.id)  # what RQ sees, and retries
        app.config["SMTP"] = {**app.config["SMTP"], "port": smtp.port}  # the server is back
        assert email_spend_alert(alert.id) == "sent"
        assert email_spend_alert(alert.id) == "done"
        assert len(smtp.messages) == 1


# --- the spend cap --------------------------------------------------------------------------------


def launch(app, api, name: str):
    campaign = api.post("/api/campaigns", json={"name": name, "body": "Hello"}).get_json()
    return api.post(f"/api/campaigns/{campaign['id']}/launch")


def test_a_launch_past_the_spend_cap_is_402_with_the_figures(spend_app):
    app, api, _shop = spend_app
    contacts(api, 3)
    put(api, spend_cap_per_cycle=5)
    assert launch(app, api, "A").status_code == 200  # 3 of 5
    settle_jobs(app)
    response = launch(app, api, "B")
    assert response.status_code == 402
    error = response.get_json()["error"]
    assert error["code"] == "spend_cap_reached"
    assert error["details"] == {"required": 3, "spend_cap": 5, "committed_this_cycle": 3, "room": 2}
    assert db.session.scalar(select(func.count()).select_from(Message)) == 3
    assert api.get(SPEND).get_json()["cap_room"] == 2


def test_two_concurrent_launches_cannot_together_pass_the_cap(make_app):
    app = make_app(SEND_RATE_PER_ACCOUNT=0, SEND_RATE_PER_SHOP=0)
    with app.app_context():
        api, shop = open_shop(app, SHOP, credits=100)
        contacts(api, 4)
        assert put(api, spend_cap_per_cycle=6).status_code == 200
        ids = [api.post("/api/campaigns", json={"name": f"C{n}", "body": "Hi"}).get_json()["id"] for n in range(2)]
        shop_id = shop.id
    barrier = threading.Barrier(2)
    answers: list[dict] = []

    def launch_one(campaign_id: int) -> None:
        with app.app_context():
            barrier.wait()
            response = ApiClient(app.test_client(), SHOP).post(f"/api/campaigns/{campaign_id}/launch")
            answers.append({"status": response.status_code, "body": response.get_json()})

    threads = [threading.Thread(target=launch_one, args=(c,)) for c in ids]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    with app.app_context():
        settle_jobs(app)
        assert sorted(a["status"] for a in answers) == [200, 402]
        refused = next(a["body"] for a in answers if a["status"] == 402)
        assert refused["error"]["code"] == "spend_cap_reached"
        spent = -db.session.scalar(
            select(func.sum(CreditLedger.amount)).where(CreditLedger.shop_id == shop_id, CreditLedger.kind == "debit")
        )
        assert spent == 4  # one launch's 4 credits, under the cap of 6


def test_holds_past_the_cap_are_refused_as_spend_cap(spend_app):
    _app, api, shop = spend_app
    put(api, spend_cap_per_cycle=3)
    campaign_id = api.post("/api/campaigns", json={"name": "C", "body": "Hi"}).get_json()["id"]
    rows = [Message(shop_id=shop.id, campaign_id=campaign_id, state="queued", attempts=0) for _ in range(4)]
    db.session.add_all(rows)
    db.session.commit()
    one, two, three, four = (row.id for row in rows)
    refused: dict[int, str] = {}
    holds = [(one, 1, 2), (two, 1, 2), (three, 1, 1)]
    held = ledger.hold_messages(shop_id=shop.id, campaign_id=campaign_id, holds=holds, refused=refused)
    db.session.commit()
    assert held == {one, three}
    assert refused == {two: "spend_cap"}
    starved: dict[int, str] = {}
    assert (
        ledger.hold_messages(shop_id=shop.id, campaign_id=campaign_id, holds=[(four, 1, 500)], refused=starved) == set()
    )
    assert starved == {four: "insufficient_credits"}


def test_an_automation_text_past_the_cap_is_skipped_counted_and_noticed(make_app, fake_mitto, fake_shopify):
    from .conftest import mitto_config
    from .test_automations import enable, subscriber

    app = make_app(SHOPIFY_ADMIN_BASE_URL=fake_shopify.admin_base_url, **mitto_config(fake_mitto))
    with app.app_context():
        api, _shop = open_shop(app, SHOP, credits=1000, fake_shopify=fake_shopify)
        enable(api, "welcome")
        assert put(api, spend_cap_per_cycle=1).status_code == 200
        subscriber(api, "+14155550101")
        subscriber(api, "+14155550102")
        settle_jobs(app)
        states = sorted((m.state.value, m.skip_reason) for m in db.session.scalars(select(Message)))
        assert states == [("sent", None), ("skipped", "spend_cap")]
        welcome = next(a for a in api.get("/api/automations").get_json()["items"] if a["kind"] == "welcome")
        assert welcome["credit_skips"] == 1
        assert api.get(f"/api/automations/{welcome['id']}").get_json()["credit_skips"] == 1
        assert api.get("/api/home").get_json()["spend"]["automation_skips"] == 1
        assert api.get(SPEND).get_json()["automation_skips"] == 1


# --- auto-recharge --------------------------------------------------------------------------------


@pytest.fixture
def on_starter(spend_app):
    app, api, shop = spend_app
    activate(app, api, "starter")  # 1,000 plan credits on top of the 100
    db.session.refresh(shop)
    return app, api, shop


def recharge(api, when_below: int, pack: str = "500"):
    response = put(api, auto_recharge={"enabled": True, "pack": pack, "when_below": when_below})
    assert response.status_code == 200, response.get_json()
    return response


def test_auto_recharge_buys_the_pack_once_per_crossing_even_when_the_job_runs_twice(on_starter, fake_shopify):
    app, api, shop = on_starter
    recharge(api, when_below=2000)  # 1,100 < 2,000: buys 500 now (the PUT runs the check)
    settle_jobs(app)
    assert check(app, shop)["recharge"] is None  # 1,600: still below, but this crossing is settled
    check_spend_controls()
    [usage] = mutations(fake_shopify, "appUsageRecordCreate")
    assert usage["body"]["variables"]["price"] == {"amount": "15.00", "currencyCode": "USD"}
    assert usage["body"]["variables"]["idempotencyKey"] == f"recharge:s{shop.id}:1"
    assert ledger.balance(shop_id=shop.id) == 1600
    assert api.get(SPEND).get_json()["usage_cap"] == {"cap": "100", "used": "15.00"}
    spend(shop, 1500, "spent:big")  # 100: above 2,000? no, but the crossing re-arms only above
    ledger.grant(shop_id=shop.id, amount=2000, key="grant:up")
    db.session.commit()
    check(app, shop)  # 2,100: re-armed
    spend(shop, 1000, "spent:again")
    check(app, shop)  # 1,100: the second crossing buys again
    assert len(mutations(fake_shopify, "appUsageRecordCreate")) == 2
    assert ledger.balance(shop_id=shop.id) == 1600


def used_90_of_the_cap(shop):
    """$90 of the starter plan's $100 usage cap already charged this cycle."""
    db.session.add(
        UsageCharge(
            shop_id=shop.id,
            idempotency_key="earlier",
            subscription_id=shop.subscription_id,
            amount=Decimal("90.00"),
            credits=3000,
            period_start=utcnow(),
        )
    )
    db.session.commit()


def test_auto_recharge_past_the_usage_cap_pauses_and_says_so(on_starter, fake_shopify):
    app, api, shop = on_starter
    used_90_of_the_cap(shop)
    recharge(api, when_below=2000)  # $15 on $90 of a $100 cap: not bought
    settle_jobs(app)
    check(app, shop)
    assert mutations(fake_shopify, "appUsageRecordCreate") == []
    assert ledger.balance(shop_id=shop.id) == 1100
    [paused] = alerts("recharge_paused")
    assert (paused.crossing, paused.threshold) == (1, 2000)
    kinds = [a["kind"] for a in api.get(SPEND).get_json()["alerts"]]
    assert kinds == ["recharge_paused"]


def test_a_raised_usage_cap_applies_once_shopify_reports_it_and_the_paused_recharge_goes_through(
    on_starter, fake_shopify
):
    app, api, shop = on_starter
    used_90_of_the_cap(shop)
    recharge(api, when_below=2000)
    settle_jobs(app)
    assert [a.kind for a in alerts("recharge_paused")] == ["recharge_paused"]
    asked = api.post("/api/billing/usage-cap", json={"capped_amount": "200.00"})
    assert asked.status_code == 201, asked.get_json()
    assert asked.get_json()["confirmation_url"].startswith(f"https://{SHOP}/admin/charges/confirm_update?id=")
    audited = [e for e in api.get("/api/audit").get_json()["items"] if e["action"] == "raise_usage_cap"]
    assert [(e["target_type"], e["target_id"]) for e in audited] == [("subscription", shop.subscription_id)]
    [update] = mutations(fake_shopify, "appSubscriptionLineItemUpdate")
    line_item = shop.subscription_usage_line_item_id
    assert update["body"]["variables"] == {"id": line_item, "cappedAmount": {"amount": "200.00", "currencyCode": "USD"}}
    check(app, shop)  # not approved yet: still paused, Shopify not asked to charge
    assert mutations(fake_shopify, "appUsageRecordCreate") == []
    fake_shopify.approve_cap(line_item)
    body = payload("app_subscriptions/update")
    body["app_subscription"].update(
        admin_graphql_api_id=shop.subscription_id, name="Starter", status="ACTIVE", capped_amount="200.0"
    )
    deliver(app, "app_subscriptions/update", body)
    assert api.get(SPEND).get_json()["usage_cap"] == {"cap": "200.00", "used": "90.00"}
    assert check(app, shop)["recharge"] == "bought"
    assert ledger.balance(shop_id=shop.id) == 1600
    assert api.get(SPEND).get_json()["alerts"] == []  # the paused banner goes


@pytest.mark.parametrize(
    ("body", "status"),
    [({"capped_amount": "100.00"}, 422), ({"capped_amount": "0"}, 422), ({"capped_amount": "lots"}, 422), ({}, 422)],
)
def test_a_usage_cap_that_is_no_raise_is_422_and_asks_shopify_nothing(on_starter, fake_shopify, body, status):
    _app, api, _shop = on_starter
    response = api.post("/api/billing/usage-cap", json=body)
    assert response.status_code == status
    assert "capped_amount" in response.get_json()["error"]["details"]["fields"]
    assert mutations(fake_shopify, "appSubscriptionLineItemUpdate") == []


def test_a_free_plan_has_no_usage_cap_to_raise(spend_app, fake_shopify):
    _app, api, _shop = spend_app
    response = api.post("/api/billing/usage-cap", json={"capped_amount": "50"})
    assert response.status_code == 422
    assert mutations(fake_shopify, "appSubscriptionLineItemUpdate") == []


@pytest.mark.parametrize("failure", ["throttled", "500"])
def test_a_throttled_or_failing_shopify_is_retried_under_the_same_key(on_starter, fake_shopify, failure):
    app, api, shop = on_starter
    if failure == "throttled":
        fake_shopify.throttle_next(4)  # every attempt of the client's own retries
    else:
        fake_shopify.fail_next("graphql", 500)  # a mutation's 500 is not retried by the client
    with capture_logs() as logs:
        recharge(api, when_below=2000)  # the check fails: the PATCH does not
        settle_jobs(app, strict=False)  # a worker's RQ retries the job (inline: no retry yet)
    assert any(entry["event"] == "job_enqueued" for entry in logs)
    check_spend_controls()  # the periodic pass picks the shop up again either way
    settle_jobs(app, strict=False)
    check(app, shop)
    db.session.expire_all()
    [charge] = db.session.scalars(select(UsageCharge)).all()
    assert charge.usage_record_id is not None
    calls = mutations(fake_shopify, "appUsageRecordCreate")
    assert [call["status"] for call in calls][-1] == 200
    assert len(calls) >= 2  # the failed call(s), then the retry
    assert {call["body"]["variables"]["idempotencyKey"] for call in calls} == {f"recharge:s{shop.id}:1"}
    assert len(fake_shopify.usage_records) == 1
    assert ledger.balance(shop_id=shop.id) == 1600  # granted once


# --- configuration --------------------------------------------------------------------------------


def test_smtp_url_is_parsed_with_its_credentials_unquoted():
    config = load_config(environ={"SMTP_URL": "smtps://alerts%40shop:s3cr%2Fet@mail.example.com"})
    assert config["SMTP"] == {
        "scheme": "smtps",
        "host": "mail.example.com",
        "port": 465,
        "username": "alerts@shop",
        "password": "s3cr/et",
    }
    assert load_config(environ={})["SMTP"] is None


@pytest.mark.parametrize(
    ("url", "problem"),
    [
        ("http://user:s3cret@mail.example.com", "SMTP_URL must start with"),
        ("smtps://user:s3cret@mail.example.com:99999", "SMTP_URL must name a host"),
        ("smtps://user:s3cret@:465", "SMTP_URL must name a host"),
    ],
)
def test_a_bad_smtp_url_fails_at_start_without_repeating_the_password(url, problem):
    with pytest.raises(ConfigError) as failure:
        load_config(environ={"SMTP_URL": url})
    assert problem in str(failure.value)
    assert "s3cret" not in str(failure.value)


def test_production_refuses_plain_smtp_to_another_host():
    with pytest.raises(ConfigError) as failure:
        load_config(environ={"APP_ENV": "production", "SMTP_URL": "smtp://user:s3cret@mail.example.com:25"})
    assert "SMTP_URL must use smtps:// or smtp+starttls:// in production" in str(failure.value)
    assert "s3cret" not in str(failure.value)
