"""The inbox's unread marks: GET /api/inbox counts unread texts per thread and threads with any;
POST /api/inbox/<contact_id>/read marks a thread read (services/inbox_reads.py)."""

from __future__ import annotations

from shopify_app.extensions import db
from shopify_app.models import InboundMessage
from shopify_app.services.contacts.contacts import create_or_merge, parse_phone

from .conftest import ApiClient, install_shop


def texted(shop, phone: str, *texts: str) -> tuple[int, list[int]]:
    contact = create_or_merge(shop=shop, phone=parse_phone(shop, phone), data={}, consent=None)[0]
    ids = []
    for text in texts:
        inbound = InboundMessage(shop_id=shop.id, contact_id=contact.id)
        inbound.text = text
        db.session.add(inbound)
        db.session.flush()
        ids.append(inbound.id)
    db.session.commit()
    return contact.id, ids


def threads(api) -> dict:
    response = api.get("/api/inbox")
    assert response.status_code == 200, response.get_json()
    return response.get_json()


def test_unread_texts_are_counted_per_thread_until_marked_read(app):
    shop = install_shop("alpha.myshopify.com")
    api = ApiClient(app.test_client(), shop.domain)
    first, _ = texted(shop, "+14155550101", "Hi", "Is the tee in stock?")
    second, _ = texted(shop, "+14155550102", "Hello")
    body = threads(api)
    assert {item["contact"]["id"]: item["unread"] for item in body["items"]} == {first: 2, second: 1}
    assert body["unread_threads"] == 2
    response = api.post(f"/api/inbox/{first}/read")
    assert response.status_code == 200
    assert response.get_json()["unread"] == 0
    body = threads(api)
    assert {item["contact"]["id"]: item["unread"] for item in body["items"]} == {first: 0, second: 1}
    assert body["unread_threads"] == 1


def test_marking_through_a_text_leaves_later_ones_unread_and_never_moves_back(app):
    shop = install_shop("alpha.myshopify.com")
    api = ApiClient(app.test_client(), shop.domain)
    contact_id, ids = texted(shop, "+14155550101", "one", "two", "three")
    response = api.post(f"/api/inbox/{contact_id}/read", json={"through": ids[1]})
    assert response.get_json() == {"contact_id": contact_id, "read_through": ids[1], "unread": 1}
    back = api.post(f"/api/inbox/{contact_id}/read", json={"through": ids[0]}).get_json()
    assert (back["read_through"], back["unread"]) == (ids[1], 1)


def test_a_bad_through_is_422_and_another_shops_thread_is_404(app):
    shop = install_shop("alpha.myshopify.com")
    other = install_shop("beta.myshopify.com")
    api = ApiClient(app.test_client(), shop.domain)
    contact_id, _ = texted(shop, "+14155550101", "Hi")
    response = api.post(f"/api/inbox/{contact_id}/read", json={"through": "x"})
    assert response.status_code == 422
    assert "through" in response.get_json()["error"]["details"]["fields"]
    other_api = ApiClient(app.test_client(), other.domain)
    assert other_api.post(f"/api/inbox/{contact_id}/read").status_code == 404
    assert threads(api)["items"][0]["unread"] == 1
