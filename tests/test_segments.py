"""Segments: filters evaluated in SQL, counts, CRUD and tenancy."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import update

from shopify_app.extensions import db
from shopify_app.models import Contact

SUBSCRIBE = {"consent_state": "subscribed", "consent_text": "Yes please."}


@pytest.fixture
def people(api):
    """Five contacts with known tags, consent, countries, orders and clicks."""

    def make(phone, **fields):
        return api.post("/api/contacts", json={"phone": phone, **fields}).get_json()["id"]

    ids = {
        "vip_us": make("+14155550101", tags=["vip"], **SUBSCRIBE),
        "vip_winter_us": make("+14155550102", tags=["vip", "winter"], **SUBSCRIBE),
        "winter_us_unsub": make("+14155550103", tags=["winter"]),
        "gr": make("+306912345678", **SUBSCRIBE),
        "plain_us": make("+14155550104", **SUBSCRIBE),
    }
    now = datetime.now(UTC)
    db.session.execute(
        update(Contact).where(Contact.id == ids["vip_us"]).values(order_count=2, last_order_at=now - timedelta(days=3))
    )
    db.session.execute(update(Contact).where(Contact.id == ids["gr"]).values(last_clicked_at=now))
    db.session.commit()
    return ids


def count(api, filters):
    response = api.post("/api/segments/count", json=filters)
    assert response.status_code == 200, response.get_json()
    return response.get_json()


@pytest.mark.parametrize(
    ("filters", "expected"),
    [
        ({}, {"count": 5, "subscribed": 4}),
        ({"tags_any": ["vip", "winter"]}, {"count": 3, "subscribed": 2}),
        ({"tags_all": ["vip", "winter"]}, {"count": 1, "subscribed": 1}),
        ({"tags_none": ["vip"]}, {"count": 3, "subscribed": 2}),
        ({"consent_state": "subscribed", "country_codes": ["US"]}, {"count": 3, "subscribed": 3}),
        ({"country_codes": ["GR"]}, {"count": 1, "subscribed": 1}),
        ({"has_ordered": True}, {"count": 1, "subscribed": 1}),
        ({"has_ordered": False}, {"count": 4, "subscribed": 3}),
        ({"has_clicked": True}, {"count": 1, "subscribed": 1}),
        ({"tags_any": ["winter"], "consent_state": "unsubscribed"}, {"count": 1, "subscribed": 0}),
    ],
)
def test_filters_count_the_right_contacts(api, people, filters, expected):
    assert count(api, filters) == expected


def test_date_ranges(api, people):
    now = datetime.now(UTC)
    iso = lambda moment: moment.strftime("%Y-%m-%dT%H:%M:%SZ")  # noqa: E731
    assert count(api, {"last_order_from": iso(now - timedelta(days=7))})["count"] == 1
    assert count(api, {"last_order_to": iso(now - timedelta(days=7))})["count"] == 0
    assert count(api, {"created_from": iso(now - timedelta(hours=1))})["count"] == 5
    assert count(api, {"created_to": iso(now - timedelta(hours=1))})["count"] == 0


@pytest.mark.parametrize(
    "filters",
    [
        {"tags_any": "vip"},
        {"country_codes": ["usa"]},
        {"consent_state": "maybe"},
        {"created_from": "2026-02-01T00:00:00Z", "created_to": "2026-01-01T00:00:00Z"},
        {"created_from": "2026-02-01T00:00:00"},  # naive datetimes are ambiguous
        {"mystery": True},
    ],
)
def test_bad_filters_are_422(api, filters):
    assert api.post("/api/segments/count", json=filters).status_code == 422


def test_segment_crud_and_saved_count(api, people):
    created = api.post("/api/segments", json={"name": "VIPs", "filters": {"tags_any": ["vip"]}})
    assert created.status_code == 201
    segment = created.get_json()
    assert segment["filters"] == {"tags_any": ["vip"]}
    assert api.get(f"/api/segments/{segment['id']}/count").get_json() == {"count": 2, "subscribed": 2}
    assert api.post("/api/segments", json={"name": "VIPs"}).status_code == 409
    updated = api.patch(f"/api/segments/{segment['id']}", json={"filters": {"tags_all": ["vip", "winter"]}})
    assert updated.get_json()["filters"] == {"tags_all": ["vip", "winter"]}
    assert api.get(f"/api/segments/{segment['id']}/count").get_json()["count"] == 1
    assert [s["name"] for s in api.get("/api/segments").get_json()["items"]] == ["VIPs"]
    assert api.delete(f"/api/segments/{segment['id']}").status_code == 204
    assert api.get(f"/api/segments/{segment['id']}").status_code == 404


def test_another_shops_segment_is_404_and_counts_never_cross_shops(api, other_api, people):
    segment = api.post("/api/segments", json={"name": "All", "filters": {}}).get_json()
    for response in (
        other_api.get(f"/api/segments/{segment['id']}"),
        other_api.get(f"/api/segments/{segment['id']}/count"),
        other_api.patch(f"/api/segments/{segment['id']}", json={"name": "x"}),
        other_api.delete(f"/api/segments/{segment['id']}"),
    ):
        assert response.status_code == 404
    assert other_api.post("/api/segments/count", json={}).get_json() == {"count": 0, "subscribed": 0}
    assert other_api.get("/api/segments").get_json()["items"] == []


@pytest.mark.parametrize(
    "filters", [{}, {"tags_any": ["vip", "winter"]}, {"consent_state": "subscribed", "country_codes": ["US"]}]
)
def test_count_takes_the_body_a_segment_is_created_with(api, people, filters):
    """The editor posts its form as is: `{"name", "filters"}` like POST /api/segments (the name is
    ignored); the bare filters object older clients send still counts the same."""
    bare = count(api, filters)
    assert count(api, {"filters": filters}) == bare
    assert count(api, {"name": "Draft", "filters": filters}) == bare


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"filters": {"consent_state": "maybe"}}, "filters"),
        ({"filters": {"mystery": True}}, "filters"),
        ({"filters": ["vip"]}, "filters"),
        ({"filters": {}, "tags_any": ["vip"]}, "tags_any"),  # one shape or the other, not both
        ({"name": "", "filters": {}}, "name"),
    ],
)
def test_bad_wrapped_filters_are_422_naming_the_field(api, body, field):
    response = api.post("/api/segments/count", json=body)
    assert response.status_code == 422
    assert field in response.get_json()["error"]["details"]["fields"]


def test_the_document_gives_count_both_shapes(client):
    body = client.get("/api/openapi.json").get_json()["paths"]["/api/segments/count"]["post"]["requestBody"]
    schema = body["content"]["application/json"]["schema"]
    assert schema["anyOf"] == [
        {"$ref": "#/components/schemas/SegmentCount"},
        {"$ref": "#/components/schemas/SegmentFilters"},
    ]
    assert "deprecated" in body["description"]
