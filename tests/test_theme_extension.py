"""The theme app extension (extensions/sms-blossom-theme): its blocks rendered with python-liquid
as the storefront renders them (tests/theme_liquid.py), fed the app-data metafields the app
wrote to the loopback Shopify. Every block is a plain form POSTing to the app proxy, shows the
server's own disclosure (so the consent stored is the consent shown), escapes every merchant
value, and has a schema Shopify can read."""

from __future__ import annotations

import re
import tomllib
from html.parser import HTMLParser
from pathlib import Path

import pytest
from sqlalchemy import select

from shopify_app.extensions import db
from shopify_app.models import ConsentEvent
from shopify_app.services.contacts.join_page import consent_text
from shopify_app.services.shops import storefront_sync

from .conftest import open_shop, settle_jobs
from .shopify_signing import proxy_query
from .test_signup_proxy import contacts
from .theme_liquid import BLOCKS, EXTENSION, render_block, schema_of, stand_in_product, translate, translations

SHOP = "alpha.myshopify.com"
HOSTILE = '<script>alert(1)</script> & "quotes" {{ shop.secret }}'


@pytest.fixture
def storefront(make_app, fake_shopify):
    """An installed shop whose Admin API is the loopback fake, its metafields written."""
    app = make_app(SHOPIFY_ADMIN_BASE_URL=fake_shopify.admin_base_url)
    with app.app_context():
        api, shop = open_shop(app, SHOP, fake_shopify=fake_shopify)
        storefront_sync.schedule_sync(shop)
        settle_jobs(app)
        yield app, api, shop


def written(fake) -> dict:
    return fake.app_metafields(SHOP)


class Page(HTMLParser):
    """Tags with their attributes, and the text inside elements of a given class."""

    def __init__(self, html: str):
        super().__init__(convert_charrefs=True)
        self.tags: list[tuple[str, dict[str, str | None]]] = []
        self.texts: dict[str, str] = {}
        self._open: list[str | None] = []
        self.feed(html)

    def handle_starttag(self, tag, attrs):
        attributes = dict(attrs)
        self.tags.append((tag, attributes))
        if tag in ("input", "meta", "link", "br"):
            return
        classes = (attributes.get("class") or "").split()
        self._open.append(next((name for name in classes if name.startswith("sms-blossom__")), None))

    def handle_endtag(self, tag):
        if tag not in ("input", "meta", "link", "br") and self._open:
            self._open.pop()

    def handle_data(self, data):
        for name in {name for name in self._open if name}:
            self.texts[name] = self.texts.get(name, "") + data

    def all(self, tag):
        return [attributes for name, attributes in self.tags if name == tag]

    def field(self, name):
        [found] = [attributes for attributes in self.all("input") if attributes.get("name") == name]
        return found


def rendered(name: str, fake, **options) -> Page:
    options.setdefault("product", stand_in_product(available=False))
    return Page(render_block(name, metafields=written(fake), **options))


# --- the extension's files -----------------------------------------------------------------------


def test_the_extension_is_a_theme_extension_with_a_name_and_handle():
    config = tomllib.loads((EXTENSION / "shopify.extension.toml").read_text(encoding="utf-8"))
    assert config["type"] == "theme"
    assert config["handle"] == "sms-blossom-theme"
    assert config["name"]
    assert sorted(path.stem for path in (EXTENSION / "blocks").glob("*.liquid")) == sorted(BLOCKS)


@pytest.mark.parametrize("name", BLOCKS)
def test_every_block_schema_is_json_naming_its_assets_and_settings(name):
    schema = schema_of(name)
    assert schema["name"]
    assert schema["stylesheet"] == "sms-blossom.css"
    assert schema["javascript"] == "sms-blossom.js"
    for asset in (schema["stylesheet"], schema["javascript"]):
        assert (EXTENSION / "assets" / asset).is_file()
    ids = [setting["id"] for setting in schema["settings"]]
    assert len(ids) == len(set(ids))
    assert {"headline", "incentive", "button_color", "button_text_color"} <= set(ids)


def test_the_popup_is_an_app_embed_on_the_body_and_the_others_are_section_blocks():
    assert schema_of("signup-popup")["target"] == "body"
    assert {setting["id"] for setting in schema_of("signup-popup")["settings"]} >= {"delay_seconds", "exit_intent"}
    assert schema_of("signup-form")["target"] == "section"
    assert schema_of("back-in-stock")["target"] == "section"
    assert schema_of("back-in-stock")["enabled_on"] == {"templates": ["product"]}


def test_every_translation_key_the_liquid_uses_is_in_the_default_locale():
    sources = [path.read_text(encoding="utf-8") for path in EXTENSION.glob("*/*.liquid")]
    keys = {key for source in sources for key in re.findall(r"'([a-z_.]+)'\s*\|\s*t\b", source)}
    assert keys
    for key in keys:
        assert translate(key)


def keys_of(tree, prefix=""):
    return {
        key
        for name, value in tree.items()
        for key in (keys_of(value, f"{prefix}{name}.") if isinstance(value, dict) else {f"{prefix}{name}"})
    }


def test_every_storefront_language_translates_every_key_of_the_default_locale():
    """The blocks speak the languages the disclosure does (storefront_text.LANGUAGES)."""
    from shopify_app.storefront_text import LANGUAGES

    default = keys_of(translations("en"))
    for language in LANGUAGES[1:]:
        path = EXTENSION / "locales" / f"{language}.json"
        assert path.is_file(), path.name
        assert keys_of(translations(language)) == default, language
        assert all(translate(key, language) != translate(key) for key in default), language


def test_the_assets_stay_small():
    for path in (EXTENSION / "assets").iterdir():
        assert path.stat().st_size < 10_000, path.name


# --- the blocks as the storefront renders them ---------------------------------------------------


ACTIONS = {"signup-form": "subscribe", "signup-popup": "subscribe", "back-in-stock": "back-in-stock"}


@pytest.mark.parametrize(("name", "action"), ACTIONS.items())
def test_every_block_is_a_plain_form_posting_to_the_app_proxy(storefront, fake_shopify, name, action):
    page = rendered(name, fake_shopify)
    [form] = page.all("form")
    assert (form["method"], form["action"]) == ("post", f"/apps/sms/{action}")
    assert page.field("join_form")["value"] == "join-v1"
    assert page.field("locale")["value"] == "en"
    consent = page.field("consent")
    assert (consent["type"], "required" in consent) == ("checkbox", True)
    names = {attributes.get("name") for attributes in page.all("input") + page.all("select")}
    assert "consent_text" not in names  # the server says what was agreed to, never the form
    assert not any(name.startswith("on") for _tag, attributes in page.tags for name in attributes)
    assert [option["value"] for option in page.all("option")] == ["US"]


@pytest.mark.parametrize("name", BLOCKS)
def test_the_disclosure_shown_is_the_servers_text_for_the_shop(storefront, fake_shopify, name):
    _app, _api, shop = storefront
    page = rendered(name, fake_shopify)
    shown = page.texts["sms-blossom__disclosure"]
    assert shown == consent_text(shop=shop, version="join-v1", language="en")
    assert "Alpha" in shown
    assert "Msg & data rates may apply" in shown
    hrefs = {attributes["href"] for attributes in page.all("a")}
    assert {"/policies/terms-of-service", "/policies/privacy-policy"} <= hrefs


def test_a_sign_up_from_the_block_stores_the_text_it_showed(storefront, fake_shopify):
    app, _api, _shop = storefront
    page = rendered("signup-form", fake_shopify)
    form = {name: page.field(name)["value"] for name in ("join_form", "locale", "disclosure_digest")}
    form |= {"country": "US", "phone": "(415) 555-0142", "consent": "on", "consent_text": "I agreed to nothing"}
    response = app.test_client().post("/proxy/subscribe?" + proxy_query(shop=SHOP), data=form)
    assert response.status_code == 201
    [event] = db.session.scalars(select(ConsentEvent)).all()
    assert event.consent_text == page.texts["sms-blossom__disclosure"]


def test_a_block_showing_words_the_merchant_has_since_changed_is_refused(storefront, fake_shopify):
    """A theme page cached (or metafields not yet rewritten) while the merchant changes the
    frequency: the block's fingerprint no longer matches, nothing is stored; once the metafields
    carry the new words the block's sign-up goes through and stores them."""
    app, api, _shop = storefront
    before = rendered("signup-form", fake_shopify)
    form = {name: before.field(name)["value"] for name in ("join_form", "locale", "disclosure_digest")}
    form |= {"country": "US", "phone": "4155550142", "consent": "on"}
    assert api.patch("/api/settings", json={"signup_frequency_text": "Up to 30 msgs/month"}).status_code == 200
    client = app.test_client()
    response = client.post(
        "/proxy/subscribe?" + proxy_query(shop=SHOP), data=form, headers={"Accept": "application/json"}
    )
    assert response.status_code == 409
    assert response.get_json()["error"]["code"] == "disclosure_changed"
    assert contacts() == []
    settle_jobs(app)  # the metafields job rewrites the blocks' words
    after = rendered("signup-form", fake_shopify)
    assert "Up to 30 msgs/month" in after.texts["sms-blossom__disclosure"]
    form["disclosure_digest"] = after.field("disclosure_digest")["value"]
    assert client.post("/proxy/subscribe?" + proxy_query(shop=SHOP), data=form).status_code == 201
    [event] = db.session.scalars(select(ConsentEvent)).all()
    assert event.consent_text == after.texts["sms-blossom__disclosure"]


def test_a_french_storefront_shows_and_stores_the_french_disclosure(storefront, fake_shopify):
    app, _api, shop = storefront
    page = rendered("signup-popup", fake_shopify, locale="fr-CA")
    assert page.field("locale")["value"] == "fr"
    shown = page.texts["sms-blossom__disclosure"]
    assert shown == consent_text(shop=shop, version="join-v1", language="fr")
    form = {name: page.field(name)["value"] for name in ("join_form", "locale", "disclosure_digest")}
    form |= {"country": "US", "phone": "4155550142", "consent": "on"}
    assert app.test_client().post("/proxy/subscribe?" + proxy_query(shop=SHOP), data=form).status_code == 201
    [event] = db.session.scalars(select(ConsentEvent)).all()
    assert event.consent_text == shown


def test_a_german_storefront_labels_the_form_in_german(storefront, fake_shopify):
    page = rendered("signup-form", fake_shopify, locale="de-DE")
    assert page.texts["sms-blossom__label"] == "Handynummer"
    assert page.texts["sms-blossom__submit"].strip() == "Anmelden"
    assert "Antworten Sie HELP" in page.texts["sms-blossom__disclosure"]
    assert page.field("locale")["value"] == "de"


def test_a_storefront_language_the_app_does_not_speak_falls_back_to_english(storefront, fake_shopify):
    page = rendered("signup-form", fake_shopify, locale="ja")
    assert page.field("locale")["value"] == "en"


def test_every_merchant_value_is_escaped_in_every_block(storefront, fake_shopify):
    app, api, shop = storefront
    shop.name = HOSTILE
    db.session.commit()
    changes = {"join_headline": HOSTILE[:80], "join_incentive": HOSTILE, "signup_frequency_text": "<i>4</i> a month"}
    assert api.patch("/api/settings", json=changes).status_code == 200
    settle_jobs(app)
    settings = {"button_color": '#000;"><script>x</script>', "button_text_color": "red' onclick='x"}
    for name in BLOCKS:
        product = stand_in_product(available=False, title=HOSTILE)
        html = render_block(name, metafields=written(fake_shopify), settings=settings, product=product)
        for tag in ("<script>alert", "<i>", "<script>x"):
            assert tag not in html, name
        assert "onclick='x" not in html
        page = Page(html)
        assert HOSTILE in page.texts["sms-blossom__disclosure"]
        assert "<i>4</i> a month" in page.texts["sms-blossom__disclosure"]
        assert not any(attr.startswith("on") for _tag, attributes in page.tags for attr in attributes)
        if name == "back-in-stock":
            assert page.field("product_title")["value"] == HOSTILE
        else:
            assert page.texts["sms-blossom__headline"] == HOSTILE[:80]
            assert page.texts["sms-blossom__incentive"] == HOSTILE
    # and the block's own settings, which the theme editor lets a merchant type
    page = Page(render_block("signup-form", metafields=written(fake_shopify), settings={"headline": HOSTILE}))
    assert page.texts["sms-blossom__headline"] == HOSTILE


def test_block_settings_win_and_blank_ones_fall_back_to_the_apps_settings(storefront, fake_shopify):
    app, api, _shop = storefront
    changes = {"join_headline": "Join the club", "join_incentive": "10% off", "join_button_color": "#1a73e8"}
    assert api.patch("/api/settings", json=changes).status_code == 200
    settle_jobs(app)
    page = rendered("signup-form", fake_shopify)
    assert page.texts["sms-blossom__headline"] == "Join the club"
    assert page.texts["sms-blossom__incentive"] == "10% off"
    [button] = page.all("button")
    assert button["style"] == "background:#1a73e8;"
    own = {"headline": "Our list", "incentive": "Free shipping"} | {
        "button_color": "#000000",
        "button_text_color": "#ffffff",
    }
    page = rendered("signup-form", fake_shopify, settings=own)
    assert (page.texts["sms-blossom__headline"], page.texts["sms-blossom__incentive"]) == ("Our list", "Free shipping")
    [button] = page.all("button")
    assert button["style"] == "background:#000000;color:#ffffff;"


def test_without_a_headline_anywhere_the_block_names_the_shop(storefront, fake_shopify):
    page = rendered("signup-form", fake_shopify)
    assert page.texts["sms-blossom__headline"] == "Get texts from Alpha"
    assert "sms-blossom__incentive" not in page.texts
    [button] = page.all("button")
    assert "style" not in button


@pytest.mark.parametrize("name", BLOCKS)
def test_blocks_show_nothing_before_the_app_wrote_its_metafields(name):
    html = render_block(name, metafields=None, product=stand_in_product(available=False))
    assert "<form" not in html


def test_blocks_show_nothing_when_no_country_may_sign_up(storefront, fake_shopify):
    app, _api, shop = storefront
    shop.country_code = None
    db.session.commit()
    storefront_sync.schedule_sync(shop)
    settle_jobs(app)
    assert written(fake_shopify)["settings"]["countries"] == []
    product = stand_in_product(available=False)
    for name in BLOCKS:
        assert "<form" not in render_block(name, metafields=written(fake_shopify), product=product)


def test_the_popup_is_a_hidden_modal_dialog_labelled_by_its_heading(storefront, fake_shopify):
    page = rendered("signup-popup", fake_shopify, settings={"delay_seconds": 3, "exit_intent": False})
    [popup] = [attributes for attributes in page.all("div") if "data-sms-blossom-popup" in attributes]
    assert "hidden" in popup
    assert (popup["data-delay"], popup["data-exit-intent"]) == ("3", "false")
    [dialog] = [attributes for attributes in page.all("div") if attributes.get("role") == "dialog"]
    assert dialog["aria-modal"] == "true"
    [heading] = page.all("h2")
    assert dialog["aria-labelledby"] == heading["id"]
    close = [b for b in page.all("button") if "data-sms-blossom-close" in b]
    assert close[0]["aria-label"] == "Close"


def test_back_in_stock_posts_the_current_variant_and_hides_for_an_available_one(storefront, fake_shopify):
    page = rendered("back-in-stock", fake_shopify, product=stand_in_product(available=False, variant_id=77))
    assert page.field("variant_id")["value"] == "77"
    [block] = [attributes for attributes in page.all("div") if "data-sms-blossom-stock" in attributes]
    assert "hidden" not in block
    page = rendered("back-in-stock", fake_shopify, product=stand_in_product(available=True, variant_id=77))
    [block] = [attributes for attributes in page.all("div") if "data-sms-blossom-stock" in attributes]
    assert "hidden" in block
    assert "<form" not in render_block("back-in-stock", metafields=written(fake_shopify), product=None)


def test_a_back_in_stock_request_from_the_block_stores_the_text_it_showed(storefront, fake_shopify):
    app, _api, _shop = storefront
    page = rendered("back-in-stock", fake_shopify)
    fields = ("join_form", "locale", "disclosure_digest", "variant_id", "product_title")
    form = {name: page.field(name)["value"] for name in fields}
    form |= {"country": "US", "phone": "4155550142", "consent": "on"}
    response = app.test_client().post("/proxy/back-in-stock?" + proxy_query(shop=SHOP), data=form)
    assert response.status_code == 201, response.get_data(as_text=True)
    [event] = db.session.scalars(select(ConsentEvent)).all()
    assert event.consent_text == page.texts["sms-blossom__disclosure"]
    assert len(contacts()) == 1


def test_the_readme_and_app_toml_agree_on_the_proxy_path():
    toml = tomllib.loads((Path(EXTENSION).parents[1] / "shopify.app.toml").read_text(encoding="utf-8"))
    assert f"/{toml['app_proxy']['prefix']}/{toml['app_proxy']['subpath']}" == "/apps/sms"
