"""Pages a person opens in a browser (the embedded page, the OAuth install, a texted short link)
answer their errors as a small HTML page with the right status; a client asking for JSON, and
every JSON route (/api, /webhooks, /mitto, health...), keeps the JSON error shape. (The app
proxy has its own rule: a storefront form gets Liquid, a JSON client JSON.)"""

from __future__ import annotations

import pytest

BROWSER = {"Accept": "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8"}


def assert_page(response, status: int, sentence: str) -> str:
    assert response.status_code == status
    assert response.mimetype == "text/html"
    assert response.get_json(silent=True) is None
    text = response.get_data(as_text=True)
    assert text.lstrip().lower().startswith("<!doctype html>")
    assert sentence in text
    assert '"error"' not in text
    assert "default-src 'none'" in response.headers["Content-Security-Policy"]
    assert response.headers["Cache-Control"] == "no-store"
    return text


@pytest.mark.parametrize("headers", [{}, BROWSER], ids=["no-accept", "browser"])
def test_the_embedded_page_without_a_shop_is_an_html_400(client, headers):
    text = assert_page(client.get("/", headers=headers), 400, "The shop must be a &lt;name&gt;.myshopify.com domain.")
    assert "<name>" not in text  # the message is escaped, not markup
    assert "Shopify admin" in text  # and the page says what to do


def test_an_unknown_short_link_is_an_html_404(client):
    assert_page(client.get("/r/AAAAAAAA", headers=BROWSER), 404, "This link does not exist.")


def test_an_install_for_a_bad_shop_is_an_html_400(client):
    assert_page(client.get("/auth", query_string={"shop": "evil.example"}, headers=BROWSER), 400, "myshopify.com")


def test_a_crash_on_a_page_is_an_html_500_naming_the_request_not_the_internals(app, client, monkeypatch):
    from shopify_app.services.sending import links

    def crash(**_):
        raise RuntimeError("secret internals: password=hunter2")

    monkeypatch.setattr(links, "follow", crash)
    app.config["PROPAGATE_EXCEPTIONS"] = False
    text = assert_page(client.get("/r/AAAAAAAA", headers={**BROWSER, "X-Request-ID": "req-page-1"}), 500, "req-page-1")
    assert "hunter2" not in text
    assert "RuntimeError" not in text


def test_a_page_route_answers_json_to_a_client_that_asks_for_it(client):
    response = client.get("/", headers={"Accept": "application/json"})
    assert response.status_code == 400
    assert response.get_json()["error"]["code"] == "invalid_shop"


@pytest.mark.parametrize(
    ("method", "path"),
    [("GET", "/api/shop"), ("POST", "/webhooks/shopify"), ("POST", "/mitto/dlr/nope"), ("GET", "/nope")],
)
def test_json_routes_keep_json_errors_even_for_a_browser(client, method, path):
    response = client.open(path, method=method, headers=BROWSER)
    assert response.status_code >= 400
    assert response.mimetype == "application/json"
    assert set(response.get_json()["error"]) == {"code", "message", "details"}


def test_an_admin_error_page_is_framed_only_by_the_shop_it_names(client):
    from .shopify_signing import session_token

    forged = session_token("beta.myshopify.com")  # another shop's token on alpha's page: 401
    response = client.get("/", query_string={"shop": "alpha.myshopify.com", "id_token": forged}, headers=BROWSER)
    assert_page(response, 401, "another shop")
    policy = response.headers["Content-Security-Policy"]
    assert "frame-ancestors https://alpha.myshopify.com https://admin.shopify.com" in policy
    assert "*.myshopify.com" not in policy


def test_an_error_page_naming_no_valid_shop_may_be_framed_by_any_admin(client):
    response = client.get("/", query_string={"shop": "evil.example"}, headers=BROWSER)
    assert (
        "frame-ancestors https://admin.shopify.com https://*.myshopify.com"
        in (response.headers["Content-Security-Policy"])
    )
