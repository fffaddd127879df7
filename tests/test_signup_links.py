"""GET /api/signup/links and the join page's QR code (SVG and PNG): the shop's own storefront
URL, "Text JOIN to <number>" only with a keyword and a number of its own, behind the session token."""

from __future__ import annotations

import io
import xml.etree.ElementTree as ET

import pytest

from shopify_app.extensions import db

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


def test_links_name_the_shops_join_page_and_its_qr_codes(api, shop):
    response = api.get("/api/signup/links")
    assert response.status_code == 200
    assert response.get_json() == {
        "join_url": "https://alpha.myshopify.com/apps/sms/join",
        "qr_svg_url": "/api/signup/qr.svg",
        "qr_png_url": "/api/signup/qr.png",
        "text_to_join": None,  # no join keyword yet
    }


def test_text_to_join_needs_a_keyword_and_names_the_shops_number(api, shop):
    assert api.patch("/api/settings", json={"join_keyword": "vip"}).status_code == 200
    number = f"+1212555{shop.id % 10000:04d}"
    found = api.get("/api/signup/links").get_json()["text_to_join"]
    assert found["keyword"] == "VIP"
    assert found["number"] == number
    assert found["text"].startswith("Text VIP to +1 212-555-")


def test_no_number_of_its_own_means_no_text_to_join(app):
    from .conftest import ApiClient, install_shop

    shop = install_shop("numberless.myshopify.com", number=None)
    shop.settings = {"join_keyword": "JOIN", "sender_id": "Blossom"}
    db.session.commit()
    api = ApiClient(app.test_client(), shop.domain)
    assert api.get("/api/signup/links").get_json()["text_to_join"] is None


def test_another_shops_links_are_its_own(api, other_api, other_shop):
    assert other_api.patch("/api/settings", json={"join_keyword": "JOIN"}).status_code == 200
    mine = api.get("/api/signup/links").get_json()
    theirs = other_api.get("/api/signup/links").get_json()
    assert mine["join_url"] == "https://alpha.myshopify.com/apps/sms/join"
    assert theirs["join_url"] == "https://beta.myshopify.com/apps/sms/join"
    assert mine["text_to_join"] is None
    assert theirs["text_to_join"]["number"] == f"+1212555{other_shop.id % 10000:04d}"
    assert api.get("/api/signup/qr.svg").data != other_api.get("/api/signup/qr.svg").data


def test_the_svg_qr_code_is_an_svg_document(api):
    response = api.get("/api/signup/qr.svg")
    assert response.status_code == 200
    assert response.mimetype == "image/svg+xml"
    assert 'filename="sms-join-qr.svg"' in response.headers["Content-Disposition"]
    root = ET.fromstring(response.data)  # noqa: S314 (our own answer, parsed to check it is XML)
    assert root.tag in ("svg", "{http://www.w3.org/2000/svg}svg")
    assert b"<script" not in response.data


def test_the_png_qr_code_is_a_png(api):
    response = api.get("/api/signup/qr.png")
    assert response.status_code == 200
    assert response.mimetype == "image/png"
    assert response.data.startswith(PNG_SIGNATURE)


def test_the_qr_code_encodes_the_join_url(api):
    """Decoded by segno's own matrix: the same URL gives the same code."""
    import segno

    expected = io.BytesIO()
    segno.make("https://alpha.myshopify.com/apps/sms/join", error="m").save(expected, kind="svg", scale=10, border=4)
    assert api.get("/api/signup/qr.svg").data == expected.getvalue()


@pytest.mark.parametrize("path", ["/api/signup/links", "/api/signup/qr.svg", "/api/signup/qr.png"])
def test_without_a_session_token_it_is_401(client, shop, path):
    response = client.get(path)
    assert response.status_code == 401
    assert response.get_json()["error"]["code"]
