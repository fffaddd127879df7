"""The browse-abandonment sweep (services/pixel/browse_sweep.py): a view nobody bought within a
"browsed_product" flow's window starts that flow once per product and day, with the title and
URL the shop's catalogue gives (never the pixel's); a product the shop does not offer starts
nothing; a throttled Admin API loses no view; each flow reads past the views it has handled, so
a backlog for a long window never holds up a short one; a contact who ordered the product since
is left alone; settled views are never looked at again and old ones are deleted."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest
from sqlalchemy import func, insert, select

from jobs.pixel import sweep_browse_abandonment
from jobs.schedule import PERIODIC_JOBS
from shopify_app.extensions import db
from shopify_app.models import Contact, ContactProduct, FlowRun, ProductView
from shopify_app.models.types import utcnow
from shopify_app.services.pixel import browse_sweep

from .conftest import install_shop
from .test_pixel_intake import ALPHA, BETA, add_contact, browse_flow

NOW = utcnow().replace(hour=12, minute=0, second=0, microsecond=0)


@pytest.fixture
def alpha(make_app, fake_shopify):
    app = make_app(SHOPIFY_ADMIN_BASE_URL=fake_shopify.admin_base_url)
    with app.app_context():
        shop = install_shop(ALPHA)
        shop.access_token = fake_shopify.issue_access_token(ALPHA)
        db.session.commit()
        for product_id in (111, 333):
            fake_shopify.add_product(ALPHA, product_id, title="Blue mug", handle="blue-mug")
        contact = add_contact(ALPHA, "+14155550101")
        yield shop, contact


def view(
    shop,
    contact_id: int,
    *,
    ago: timedelta,
    product_id: int = 111,
    event: str | None = None,
    title: str = "Blue mug",
    path: str = "/products/blue-mug",
) -> ProductView:
    row = ProductView(
        shop_id=shop.id,
        contact_id=contact_id,
        product_id=product_id,
        variant_id=222,
        product_title=title,
        url_path=path,
        event_id=event or f"e{product_id}-{int(ago.total_seconds())}",
        viewed_at=NOW - ago,
    )
    db.session.add(row)
    db.session.commit()
    return row


def runs() -> list[FlowRun]:
    return list(db.session.scalars(select(FlowRun).order_by(FlowRun.id)))


def test_a_view_past_the_window_starts_the_flow_once_with_the_product(alpha):
    shop, contact = alpha
    flow = browse_flow(shop, window_minutes=60)
    seen = view(shop, contact, ago=timedelta(minutes=90))
    assert browse_sweep.sweep(now=NOW)["started"] == 1
    [run] = runs()
    assert (run.flow_id, run.contact_id) == (flow.id, contact)
    assert run.trigger_key == f"browse:111:{seen.viewed_at.date().isoformat()}"
    assert json.loads(run.context) == {
        "product_title": "Blue mug",
        "product_url": "https://alpha.myshopify.com/products/blue-mug",
    }
    db.session.refresh(seen)
    assert seen.triggered_at == NOW
    assert browse_sweep.sweep(now=NOW + timedelta(minutes=5))["started"] == 0
    assert len(runs()) == 1


def test_a_view_inside_the_window_waits(alpha):
    shop, contact = alpha
    browse_flow(shop, window_minutes=60)
    seen = view(shop, contact, ago=timedelta(minutes=30))
    assert browse_sweep.sweep(now=NOW)["started"] == 0
    assert seen.triggered_at is None
    assert browse_sweep.sweep(now=NOW + timedelta(minutes=31))["started"] == 1


def test_two_views_of_a_product_on_one_day_start_the_flow_once(alpha):
    shop, contact = alpha
    browse_flow(shop)
    first = view(shop, contact, ago=timedelta(minutes=180))
    second = view(shop, contact, ago=timedelta(minutes=90))
    other = view(shop, contact, ago=timedelta(minutes=90), product_id=333)
    assert browse_sweep.sweep(now=NOW)["started"] == 2
    assert sorted(run.trigger_key.split(":")[1] for run in runs()) == ["111", "333"]
    for row in (first, second, other):
        db.session.refresh(row)
        assert row.triggered_at == NOW


def test_a_contact_who_ordered_the_product_since_is_not_nudged(alpha):
    shop, contact = alpha
    browse_flow(shop)
    seen = view(shop, contact, ago=timedelta(minutes=120))
    db.session.add(ContactProduct(contact_id=contact, product_id=111, shop_id=shop.id))
    db.session.get(Contact, contact).last_order_at = NOW - timedelta(minutes=60)
    db.session.commit()
    assert browse_sweep.sweep(now=NOW) == {
        "started": 0,
        "settled": 0,
        "bought": 1,
        "unknown_product": 0,
        "deferred": 0,
        "deleted": 0,
    }
    assert runs() == []
    db.session.refresh(seen)
    assert seen.triggered_at == NOW  # settled: never looked at again


def test_a_product_bought_before_the_view_does_not_stop_the_nudge(alpha):
    shop, contact = alpha
    browse_flow(shop)
    view(shop, contact, ago=timedelta(minutes=120))
    db.session.add(ContactProduct(contact_id=contact, product_id=111, shop_id=shop.id))
    db.session.get(Contact, contact).last_order_at = NOW - timedelta(days=10)
    db.session.commit()
    assert browse_sweep.sweep(now=NOW)["started"] == 1


def test_each_flow_starts_when_its_own_window_has_passed(alpha):
    shop, contact = alpha
    short = browse_flow(shop, window_minutes=30)
    long = browse_flow(shop, window_minutes=120)
    seen = view(shop, contact, ago=timedelta(minutes=60))
    assert browse_sweep.sweep(now=NOW)["started"] == 1
    assert [run.flow_id for run in runs()] == [short.id]
    assert seen.triggered_at is None  # the longer flow has not had its turn
    assert browse_sweep.sweep(now=NOW + timedelta(minutes=70))["started"] == 1
    assert [run.flow_id for run in runs()] == [short.id, long.id]
    db.session.refresh(seen)
    assert seen.triggered_at is not None


def test_flows_that_are_off_or_of_another_shop_start_nothing(alpha):
    shop, contact = alpha
    browse_flow(shop, enabled=False)
    beta = install_shop(BETA)
    browse_flow(beta)
    seen = view(shop, contact, ago=timedelta(minutes=120))
    assert browse_sweep.sweep(now=NOW)["started"] == 0
    assert runs() == []
    assert seen.triggered_at is None


def test_views_too_old_to_start_anything_are_deleted(alpha):
    shop, contact = alpha
    view(shop, contact, ago=browse_sweep.RETENTION + timedelta(minutes=1))
    kept = view(shop, contact, ago=timedelta(days=1))
    assert browse_sweep.sweep(now=NOW)["deleted"] == 1
    assert list(db.session.scalars(select(ProductView.id))) == [kept.id]


def test_the_sweep_is_a_periodic_job_every_five_minutes(alpha):
    shop, contact = alpha
    browse_flow(shop, window_minutes=15)
    row = view(shop, contact, ago=timedelta(minutes=20))
    row.viewed_at = utcnow() - timedelta(minutes=20)
    db.session.commit()
    [entry] = [job for job in PERIODIC_JOBS if job.name == "browse-abandonment"]
    assert (entry.func, entry.every) == ("jobs.pixel.sweep_browse_abandonment", timedelta(minutes=5))
    assert sweep_browse_abandonment()["started"] == 1


def product_lookups(fake_shopify) -> int:
    return sum("product(" in entry["body"].get("query", "") for entry in fake_shopify.requests_of("graphql"))


def test_a_forged_title_and_path_never_reach_the_text(alpha, fake_shopify):
    shop, contact = alpha
    browse_flow(shop)
    fake_shopify.add_product(ALPHA, 111, title="Linen apron", handle="linen-apron")
    view(shop, contact, ago=timedelta(minutes=90), title="URGENT: your card is blocked, call", path="/x/evil")
    assert browse_sweep.sweep(now=NOW)["started"] == 1
    [run] = runs()
    context = json.loads(run.context)
    assert context == {
        "product_title": "Linen apron",
        "product_url": "https://alpha.myshopify.com/products/linen-apron",
    }
    assert "URGENT" not in run.context
    assert "evil" not in run.context


def test_the_online_store_url_is_used_when_shopify_gives_one(alpha, fake_shopify):
    shop, contact = alpha
    browse_flow(shop)
    url = "https://blossom.example/products/blue-mug"
    fake_shopify.add_product(ALPHA, 111, title="Blue mug", handle="blue-mug", online_store_url=url)
    view(shop, contact, ago=timedelta(minutes=90))
    browse_sweep.sweep(now=NOW)
    [run] = runs()
    assert json.loads(run.context)["product_url"] == url


@pytest.mark.parametrize(
    "product",
    [None, {"status": "DRAFT"}, {"status": "ARCHIVED"}, {"published": False}],
    ids=["unknown", "draft", "archived", "not-on-the-online-store"],
)
def test_a_product_the_shop_does_not_offer_starts_nothing_and_settles(alpha, fake_shopify, product):
    shop, contact = alpha
    browse_flow(shop)
    fake_shopify.products.pop((ALPHA, "gid://shopify/Product/111"))
    if product is not None:
        fake_shopify.add_product(ALPHA, 111, title="Blue mug", handle="blue-mug", **product)
    seen = view(shop, contact, ago=timedelta(minutes=90))
    summary = browse_sweep.sweep(now=NOW)
    assert (summary["started"], summary["unknown_product"]) == (0, 1)
    assert runs() == []
    db.session.refresh(seen)
    assert seen.triggered_at == NOW


def test_each_product_is_looked_up_once_per_pass(alpha, fake_shopify):
    shop, contact = alpha
    short = browse_flow(shop, window_minutes=30)
    browse_flow(shop, window_minutes=60)
    view(shop, contact, ago=timedelta(minutes=90))
    view(shop, contact, ago=timedelta(minutes=80))
    view(shop, contact, ago=timedelta(minutes=80), product_id=333)
    assert browse_sweep.sweep(now=NOW)["started"] == 4
    assert product_lookups(fake_shopify) == 2
    assert {run.flow_id for run in runs()} >= {short.id}


def test_a_throttled_admin_api_leaves_the_view_for_the_next_pass(alpha, fake_shopify):
    shop, contact = alpha
    browse_flow(shop)
    seen = view(shop, contact, ago=timedelta(minutes=90))
    fake_shopify.throttle_next(restore_rate=0.1)  # a wait longer than the client sleeps: it gives up
    summary = browse_sweep.sweep(now=NOW)
    assert (summary["started"], summary["deferred"], summary["settled"]) == (0, 1, 0)
    assert runs() == []
    db.session.refresh(seen)
    assert seen.triggered_at is None
    assert browse_sweep.sweep(now=NOW + timedelta(minutes=5))["started"] == 1
    [run] = runs()
    assert json.loads(run.context)["product_title"] == "Blue mug"
    db.session.refresh(seen)
    assert seen.triggered_at is not None


def test_a_failing_admin_api_in_one_shop_does_not_hold_up_another(alpha, fake_shopify):
    shop, contact = alpha
    browse_flow(shop)
    view(shop, contact, ago=timedelta(minutes=90))
    beta = install_shop(BETA)  # its token is not one the Admin API knows: refused
    browse_flow(beta)
    bob = add_contact(BETA, "+14155550102")
    view(beta, bob, ago=timedelta(minutes=90), event="beta-1")
    summary = browse_sweep.sweep(now=NOW)
    assert (summary["started"], summary["deferred"]) == (1, 1)
    assert [run.contact_id for run in runs()] == [contact]


def test_a_backlog_for_a_long_window_never_holds_up_a_short_one(alpha, fake_shopify, monkeypatch):
    shop, contact = alpha
    short = browse_flow(shop, window_minutes=60)
    browse_flow(shop, window_minutes=7 * 24 * 60)
    waiting = [
        {
            "shop_id": shop.id,
            "contact_id": contact,
            "product_id": 111,
            "variant_id": None,
            "product_title": "Blue mug",
            "url_path": "/products/blue-mug",
            "event_id": f"old-{number}",
            "viewed_at": NOW - timedelta(hours=3, seconds=number),
            "created_at": NOW,
        }
        for number in range(1200)
    ]
    db.session.execute(insert(ProductView), waiting)
    db.session.commit()
    fresh = view(shop, contact, ago=timedelta(minutes=90), product_id=333)
    monkeypatch.setattr(browse_sweep, "FLOW_LIMIT", 500)
    monkeypatch.setattr(browse_sweep, "BATCH", 200)

    def started_for_fresh() -> bool:
        return any(run.trigger_key.startswith("browse:333:") for run in runs())

    passes = 0
    while not started_for_fresh() and passes < 5:
        browse_sweep.sweep(now=NOW + timedelta(minutes=5 * passes))
        passes += 1
    assert started_for_fresh()
    assert passes == 3  # 1,201 views, 500 a pass per flow
    assert {run.flow_id for run in runs()} == {short.id}
    # The backlog waits for the 7-day flow, unsettled, and the short one does not read it again.
    assert db.session.scalar(select(func.count()).where(ProductView.triggered_at.is_(None))) == 1201
    lookups = product_lookups(fake_shopify)
    assert browse_sweep.sweep(now=NOW + timedelta(minutes=20))["started"] == 0
    assert product_lookups(fake_shopify) == lookups
    db.session.refresh(fresh)
    assert fresh.triggered_at is None


def test_a_pass_that_runs_out_of_budget_resumes_with_the_next_shop(alpha, fake_shopify, monkeypatch):
    shop, contact = alpha
    browse_flow(shop)
    beta = install_shop(BETA)
    beta.access_token = fake_shopify.issue_access_token(BETA)
    db.session.commit()
    fake_shopify.add_product(BETA, 111, title="Green mug", handle="green-mug")
    browse_flow(beta)
    bob = add_contact(BETA, "+14155550102")
    view(shop, contact, ago=timedelta(minutes=90))
    view(shop, contact, ago=timedelta(minutes=80), product_id=333)
    view(beta, bob, ago=timedelta(minutes=90), event="beta-1")
    monkeypatch.setattr(browse_sweep, "PASS_LIMIT", 1)
    started = [browse_sweep.sweep(now=NOW + timedelta(minutes=5 * number))["started"] for number in range(3)]
    assert started == [1, 1, 1]
    assert [run.contact_id for run in runs()] == [contact, bob, contact]  # alpha, beta, alpha again
