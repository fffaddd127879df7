"""The hosted join page (GET /proxy/join, `/apps/sms/join` on the storefront): rendered by
Shopify inside the theme as Liquid, so here by python-liquid with a minimal `shop`; every
merchant value escaped, the compliant disclosure present, a plain form that works without
JavaScript, and the consent stored exactly as shown (never as posted)."""

from __future__ import annotations

import re
from html.parser import HTMLParser

import pytest
from liquid import Environment
from sqlalchemy import select

from shopify_app.extensions import db
from shopify_app.models import ConsentEvent
from shopify_app.schemas.signup import JOIN_FORMS
from shopify_app.services.contacts.contacts import contact_phone
from shopify_app.services.contacts.join_page import DISCLOSURES, consent_text

from .shopify_signing import proxy_query
from .test_signup_proxy import contacts

HOSTILE_HEADLINE = "<script>alert(1)</script>"
HOSTILE_SHOP_NAME = 'Tom & <img src=x onerror="alert(2)"> {{ shop.secret }}'
# What Shopify's Liquid knows of the shop where the page renders (the policies the merchant wrote).
LIQUID_SHOP = {
    "name": "Liquid's own name (never used: the page names the shop from our records)",
    "terms_of_service": {"url": "/policies/terms-of-service"},
    "privacy_policy": {"url": "/policies/privacy-policy"},
    "secret": "LEAKED",
}


@pytest.fixture
def client(app, shop):
    return app.test_client()


def join_page(client, **query):
    return client.get("/proxy/join?" + proxy_query(**query))


def rendered(response, shop_object=None) -> str:
    """The page as a shopper's browser gets it: Shopify renders our Liquid with its objects."""
    assert response.status_code == 200, response.get_data(as_text=True)
    assert response.mimetype == "application/liquid"
    source = response.get_data(as_text=True)
    return Environment().from_string(source).render(shop=LIQUID_SHOP if shop_object is None else shop_object)


class Page(HTMLParser):
    """Forms, inputs, links, scripts and the disclosure's text of a rendered page."""

    def __init__(self, html: str):
        super().__init__(convert_charrefs=True)
        self.tags: list[tuple[str, dict[str, str | None]]] = []
        self.disclosure = ""
        self.headline = ""
        self._in: list[str] = []
        self.feed(html)

    def handle_starttag(self, tag, attrs):
        attributes = dict(attrs)
        self.tags.append((tag, attributes))
        classes = attributes.get("class") or ""
        if "sms-join__disclosure" in classes:
            self._in.append("disclosure")
        elif "sms-join__headline" in classes:
            self._in.append("headline")
        elif self._in:
            self._in.append("")

    def handle_endtag(self, tag):
        if self._in and tag not in ("input",):
            self._in.pop()

    def handle_data(self, data):
        if "disclosure" in self._in:
            self.disclosure += data
        elif "headline" in self._in:
            self.headline += data

    def all(self, tag):
        return [attributes for name, attributes in self.tags if name == tag]


def set_settings(shop, **values):
    shop.settings = {**(shop.settings or {}), **values}
    db.session.commit()


def test_the_join_page_is_a_plain_form_posting_to_the_proxys_sign_up(client):
    page = Page(rendered(join_page(client)))
    [form] = page.all("form")
    assert (form["method"], form["action"]) == ("post", "/apps/sms/subscribe")
    names = {attributes.get("name") for attributes in page.all("input") + page.all("select")}
    assert {
        "phone",
        "country",
        "first_name",
        "email",
        "birthday",
        "consent",
        "join_form",
        "locale",
        "disclosure_digest",
    } <= names
    assert "consent_text" not in names  # the server says what was agreed to, never the form
    [consent] = [field for field in page.all("input") if field.get("name") == "consent"]
    assert consent["type"] == "checkbox"
    assert "required" in consent
    assert page.all("script") == []  # works with JavaScript off
    assert not any(name.startswith("on") for _tag, attributes in page.tags for name in attributes)
    assert [button.get("type") for button in page.all("button")] == ["submit"]


def test_the_disclosure_names_the_shop_frequency_rates_help_stop_and_links_the_policies(client, shop):
    page = Page(rendered(join_page(client)))
    text = page.disclosure
    for words in (
        "Alpha",
        "Up to 8 msgs/month",
        "Msg & data rates may apply",
        "Reply HELP for help, STOP to cancel",
        "not a condition of purchase",
        "terms of service",
        "privacy policy",
    ):
        assert words in text
    hrefs = {attributes["href"] for attributes in page.all("a")}
    assert {"/policies/terms-of-service", "/policies/privacy-policy"} <= hrefs
    assert text == consent_text(shop=shop, version="join-v1", language="en")


def test_policy_links_fall_back_to_the_storefront_paths_where_liquid_has_no_policy(client):
    page = Page(rendered(join_page(client), shop_object={}))
    hrefs = {attributes["href"] for attributes in page.all("a")}
    assert {"/policies/terms-of-service", "/policies/privacy-policy"} <= hrefs


def test_every_merchant_value_is_escaped_and_never_run_as_liquid(client, shop):
    shop.name = HOSTILE_SHOP_NAME
    set_settings(
        shop,
        join_headline=HOSTILE_HEADLINE,
        join_incentive="15% off {% if true %}<b>now</b>{% endif %}",
        signup_frequency_text="<i>4</i> msgs/month {{ shop.secret }}",
    )
    html = rendered(join_page(client))
    for tag in ("<script", "<img", "<i>", "<b>"):
        assert tag not in html
    assert "LEAKED" not in html  # Liquid in a merchant's value is printed, not evaluated
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html
    assert "&lt;img src=x onerror=&quot;alert(2)&quot;&gt;" in html
    page = Page(html)
    assert page.headline == HOSTILE_HEADLINE
    assert HOSTILE_SHOP_NAME in page.disclosure
    assert "<i>4</i> msgs/month {{ shop.secret }}" in page.disclosure
    assert "{% if true %}" in html.replace("&#123;", "{").replace("&#125;", "}")


def test_the_merchants_headline_incentive_and_colours_show(client, shop):
    set_settings(
        shop,
        join_headline="Join the club",
        join_incentive="10% off your next order",
        join_button_color="#1A73E8",
        join_button_text_color="#ffffff",
    )
    html = rendered(join_page(client))
    page = Page(html)
    assert page.headline == "Join the club"
    assert "10% off your next order" in html
    [button] = page.all("button")
    assert button["style"] == "background:#1A73E8;color:#ffffff"


def test_countries_are_the_allowed_ones_with_the_shops_first(client, shop):
    set_settings(shop, signup_countries=["GB", "US", "CA"])
    page = Page(rendered(join_page(client)))
    options = page.all("option")
    assert [option["value"] for option in options] == ["US", "CA", "GB"]
    assert "selected" in options[0]


def test_a_shop_without_sign_up_countries_says_sign_up_is_unavailable(client, shop):
    shop.country_code = None
    db.session.commit()
    response = join_page(client)
    assert response.status_code == 403
    assert "Text sign-up isn't available" in response.get_data(as_text=True).replace("&#x27;", "'")


def test_the_join_page_speaks_the_shoppers_language(client, shop):
    response = client.get("/proxy/join?" + proxy_query(), headers={"Accept-Language": "fr-FR"})
    page = Page(rendered(response))
    assert "Des frais de messages et de données peuvent s'appliquer" in page.disclosure
    assert page.disclosure == consent_text(shop=shop, version="join-v1", language="fr")
    [locale] = [field for field in page.all("input") if field.get("name") == "locale"]
    assert locale["value"] == "fr"


def test_a_forged_join_page_signature_is_401(client):
    query = proxy_query().replace("signature=", "signature=0")
    assert client.get("/proxy/join?" + query).status_code == 401
    assert client.get("/proxy/join?" + proxy_query(secret="not-the-app-secret")).status_code == 401


def test_an_unknown_shop_gets_no_join_page(client):
    assert join_page(client, shop="nobody.myshopify.com").status_code == 404


# --- the sign-up the page posts ------------------------------------------------------------------


def post_join(client, data, **headers):
    """Post the form as a shopper's browser does: with the fingerprint of the page it showed."""
    if "disclosure_digest" not in data:
        data = {**data, "disclosure_digest": shown_digest(client, data.get("locale", "en"))}
    return client.post("/proxy/subscribe?" + proxy_query(), data=data, headers=headers)


def shown_digest(client, locale):
    [digest] = [
        field["value"]
        for field in Page(rendered(join_page(client, locale=locale))).all("input")
        if field.get("name") == "disclosure_digest"
    ]
    return digest


JOIN_FORM = {
    "join_form": "join-v1",
    "locale": "en",
    "country": "US",
    "phone": "(415) 555-0142",
    "first_name": "",
    "email": "",
    "birthday": "",
    "consent": "on",
}


def test_a_join_page_sign_up_stores_the_disclosure_shown_not_a_posted_one(client, shop):
    shown = Page(rendered(join_page(client))).disclosure
    response = post_join(client, {**JOIN_FORM, "consent_text": "I agreed to nothing"})
    assert response.status_code == 201
    assert response.mimetype == "application/liquid"
    assert "Almost there" in response.get_data(as_text=True)  # the confirmation page, no JS needed
    [contact] = contacts()
    assert contact.consent_state.value == "pending"
    [event] = db.session.scalars(select(ConsentEvent)).all()
    assert event.consent_text == shown


def test_a_french_join_page_stores_the_french_disclosure(client, shop):
    response = post_join(client, {**JOIN_FORM, "locale": "fr"})
    assert response.status_code == 201
    [event] = db.session.scalars(select(ConsentEvent)).all()
    assert event.consent_text == consent_text(shop=shop, version="join-v1", language="fr")
    assert "Répondez HELP" in event.consent_text


def test_a_page_shown_before_the_wording_changed_is_refused_and_stores_nothing(client, shop):
    """The merchant renames the shop (or edits the frequency) while a shopper has the page open:
    the words the shopper read are no longer the words the server would store."""
    shown = shown_digest(client, "en")
    set_settings(shop, signup_frequency_text="Up to 30 msgs/month")
    response = post_join(client, {**JOIN_FORM, "disclosure_digest": shown}, Accept="application/json")
    assert response.status_code == 409
    assert response.get_json()["error"]["code"] == "disclosure_changed"
    assert "Reload the page" in response.get_json()["error"]["message"]
    assert contacts() == []
    # Reloaded, the page shows (and fingerprints) the new words: the sign-up goes through.
    assert post_join(client, JOIN_FORM).status_code == 201
    [event] = db.session.scalars(select(ConsentEvent)).all()
    assert "Up to 30 msgs/month" in event.consent_text


def test_a_join_form_post_without_the_fingerprint_is_refused(client):
    response = post_join(client, {**JOIN_FORM, "disclosure_digest": ""})
    assert response.status_code == 422
    response = client.post("/proxy/subscribe?" + proxy_query(), data={**JOIN_FORM, "locale": "de"})
    assert response.status_code == 409
    assert response.mimetype == "application/liquid"
    assert "Anmeldebedingungen" in response.get_data(as_text=True)  # the shopper's language, no JS
    assert contacts() == []


def test_the_country_picked_reads_a_national_number(client, shop):
    set_settings(shop, signup_countries=["US", "GB"])
    response = post_join(client, {**JOIN_FORM, "country": "GB", "phone": "07400 123456"})
    assert response.status_code == 201
    [contact] = contacts()
    assert contact_phone(contact) == "+447400123456"


def test_a_country_the_shop_does_not_take_is_refused(client, shop):
    response = post_join(client, {**JOIN_FORM, "country": "GB", "phone": "07400 123456"})
    assert response.status_code == 422
    assert contacts() == []


def test_an_unknown_form_version_is_422_and_stores_nothing(client):
    response = post_join(client, {**JOIN_FORM, "join_form": "join-v0"}, Accept="application/json")
    assert response.status_code == 422
    assert "join_form" in response.get_json()["error"]["details"]["fields"]
    assert contacts() == []


def test_the_optional_fields_when_filled_are_kept(client):
    data = {**JOIN_FORM, "first_name": "Ada", "email": "ada@example.com", "birthday": "1990-05-17"}
    assert post_join(client, data).status_code == 201
    [contact] = contacts()
    assert contact.first_name == "Ada"


def test_every_form_version_has_a_disclosure():
    assert set(JOIN_FORMS) == set(DISCLOSURES)


# --- settings ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"join_button_color": "red"}, "join_button_color"),
        ({"join_button_color": "#12345"}, "join_button_color"),
        ({"join_button_text_color": '#fff;"><script>'}, "join_button_text_color"),
        ({"join_headline": "H" * 81}, "join_headline"),
        ({"join_incentive": "I" * 201}, "join_incentive"),
        ({"signup_frequency_text": "F" * 61}, "signup_frequency_text"),
        ({"join_headline": ""}, "join_headline"),
    ],
)
def test_bad_join_page_settings_are_422_naming_the_field(api, change, field):
    response = api.patch("/api/settings", json=change)
    assert response.status_code == 422
    assert field in response.get_json()["error"]["details"]["fields"]


def test_join_page_settings_round_trip(api):
    changes = {
        "join_headline": "Join us",
        "join_incentive": "10% off",
        "signup_frequency_text": "Up to 4 msgs/month",
        "join_button_color": "#aabbcc",
        "join_button_text_color": "#000000",
    }
    response = api.patch("/api/settings", json=changes)
    assert response.status_code == 200
    assert {key: response.get_json()[key] for key in changes} == changes
    assert {key: api.get("/api/settings").get_json()[key] for key in changes} == changes


def test_the_merchants_frequency_is_in_the_disclosure_and_the_stored_consent(api, client, shop):
    assert api.patch("/api/settings", json={"signup_frequency_text": "Up to 4 msgs/month."}).status_code == 200
    shown = Page(rendered(join_page(client))).disclosure
    assert "Up to 4 msgs/month. Msg & data rates" in shown
    assert post_join(client, JOIN_FORM).status_code == 201
    [event] = db.session.scalars(select(ConsentEvent)).all()
    assert event.consent_text == shown


def test_nothing_in_the_page_source_is_unescaped_liquid_but_ours(client, shop):
    set_settings(shop, join_headline="{{ 'x' }} {% raw %}")
    source = join_page(client).get_data(as_text=True)
    ours = re.findall(r"\{\{.*?\}\}|\{%.*?%\}", source)
    assert all(tag.startswith("{{ shop.") for tag in ours), ours
