"""What the campaign screens read beyond the campaign itself: the list's per-campaign counters
and the preview's discount code (issue 25)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal

from shopify_app.extensions import db
from shopify_app.models import Discount, DiscountKind, DiscountValueType

from .test_campaigns import create, funded, launch  # noqa: F401  (funded is a fixture)


def test_the_list_has_each_campaigns_counters(app, funded, other_api):  # noqa: F811
    sent = create(funded, name="Sent")
    assert launch(app, funded, sent["id"]).status_code == 200
    draft = create(funded, name="Draft")
    page = funded.get("/api/campaigns").get_json()
    by_id = {item["id"]: item for item in page["items"]}
    assert by_id[draft["id"]]["counters"]["delivered"] == 0
    assert by_id[draft["id"]]["counters"]["open"] == 0
    launched = by_id[sent["id"]]["counters"]
    single = funded.get(f"/api/campaigns/{sent['id']}").get_json()["counters"]
    assert launched == {key: value for key, value in single.items() if key != "skipped_by_reason"}
    assert sum(launched[state] for state in ("sent", "delivered", "failed")) == 3
    assert other_api.get("/api/campaigns").get_json()["items"] == []


def _discount(shop, kind: DiscountKind, code: str) -> int:
    discount = Discount(
        shop_id=shop.id, title=code, kind=kind, code=code, value_type=DiscountValueType.PERCENTAGE, value=Decimal("10")
    )
    db.session.add(discount)
    db.session.commit()
    return discount.id


def test_the_preview_shows_a_discounts_code_as_a_test_send_would(api, shop, other_shop):
    shared = _discount(shop, DiscountKind.SHARED, "SPRING15")
    unique = _discount(shop, DiscountKind.UNIQUE, "vip")
    body = {"body": "Code {{discount_code}}"}
    preview = api.post("/api/templates/preview", json={**body, "discount_id": shared}).get_json()
    assert "Code SPRING15" in preview["text"]
    assert {"encoding", "characters", "segments"} <= preview.keys()
    preview = api.post("/api/templates/preview", json={**body, "discount_id": unique}).get_json()
    assert "Code VIP-TESTCODE" in preview["text"]
    theirs = _discount(other_shop, DiscountKind.SHARED, "THEIRS")
    response = api.post("/api/templates/preview", json={**body, "discount_id": theirs})
    assert response.status_code == 422
    assert response.get_json()["error"]["details"]["fields"] == {"discount_id": ["No such discount."]}


def test_the_preview_says_which_encoding_and_how_many_segments(api):
    latin = api.post("/api/templates/preview", json={"body": "x" * 200}).get_json()
    assert (latin["encoding"], latin["segments"]) == ("GSM-7", 2)
    emoji = api.post("/api/templates/preview", json={"body": "Hi 🌸"}).get_json()
    assert (emoji["encoding"], emoji["segments"]) == ("UCS-2", 1)
    invalid = api.post("/api/templates/preview", json={"body": "{{nope}}"}).get_json()
    assert invalid["error"]["details"]["fields"]["body"]


def test_a_launch_at_a_time_that_has_passed_is_422_not_a_send_now(app, funded):  # noqa: F811
    campaign = create(funded)
    past = (datetime.now(UTC) - timedelta(hours=1)).isoformat()
    response = funded.post(f"/api/campaigns/{campaign['id']}/launch", json={"send_at": past})
    assert response.status_code == 422
    assert "passed" in response.get_json()["error"]["details"]["fields"]["send_at"][0]
    assert funded.get(f"/api/campaigns/{campaign['id']}").get_json()["state"] == "draft"
    assert launch(app, funded, campaign["id"], send_at=None).status_code == 200  # null: now
    assert funded.get(f"/api/campaigns/{campaign['id']}").get_json()["state"] == "completed"


def test_the_composer_offers_every_variable_a_campaign_may_use(project_root):
    """The composer's variable menu lists what templating accepts in a campaign, no more."""
    import re

    from shopify_app.services.sending.rendering import VARIABLES

    shell = (project_root / "shopify_app/admin/templates/admin/composer.html").read_text(encoding="utf-8")
    menu = re.search(r'<s-select label="Variable".*?</s-select>', shell, re.S).group(0)
    assert tuple(re.findall(r'<s-option value="(\w+)">', menu)) == VARIABLES
