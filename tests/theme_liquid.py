"""The theme app extension (extensions/sms-blossom-theme) rendered as Shopify's storefront renders
it, with python-liquid and stand-ins for what Shopify provides: `{% schema %}` (read as JSON and
left out of the page), the `asset_url` and `t` filters (the extension's locales/en.default.json),
and the objects a block sees (`app.metafields`, `block`, `shop`, `request`, `product`).

Used by the Liquid tests (tests/test_theme_extension.py) and the browser's storefront stand-in
(tests/browser/storefront.py).
"""

from __future__ import annotations

import json
import re
from functools import cache
from pathlib import Path
from typing import Any

from liquid import Environment, FileSystemLoader

ROOT = Path(__file__).resolve().parents[1]
EXTENSION = ROOT / "extensions" / "sms-blossom-theme"
BLOCKS = ("signup-form", "signup-popup", "back-in-stock")
ASSET_PREFIX = "/cdn/extensions/sms-blossom-theme/assets/"
_SCHEMA = re.compile(r"\{%-?\s*schema\s*-?%\}(.*?)\{%-?\s*endschema\s*-?%\}", re.S)
# What Shopify's Liquid knows of a shop with its policies written.
LIQUID_SHOP = {
    "name": "Alpha",
    "terms_of_service": {"url": "/policies/terms-of-service"},
    "privacy_policy": {"url": "/policies/privacy-policy"},
}


def block_source(name: str) -> str:
    return (EXTENSION / "blocks" / f"{name}.liquid").read_text(encoding="utf-8")


def schema_of(name: str) -> dict[str, Any]:
    """The block's `{% schema %}`, parsed (json.loads raises on anything that is not JSON)."""
    [raw] = _SCHEMA.findall(block_source(name))
    return json.loads(raw)


@cache
def translations(language: str = "en") -> dict[str, Any]:
    """A storefront language's locale file (`<lang>.json`), else the default (`en.default.json`)."""
    path = EXTENSION / "locales" / f"{language}.json"
    if not path.is_file():
        path = EXTENSION / "locales" / "en.default.json"
    return json.loads(path.read_text(encoding="utf-8"))


def translate(key: str, language: str = "en", **values: Any) -> str:
    """Shopify's `t` filter: a dotted key of the storefront language's locale (Shopify falls back
    to the default locale key by key; a key missing there too is an error here, where Shopify
    would print "translation missing")."""
    found: Any = translations(language)
    default: Any = translations("en")
    for part in key.split("."):
        found = found.get(part) if isinstance(found, dict) else None
        default = default[part]
    found = found if isinstance(found, str) else default
    assert isinstance(found, str), key
    for name, value in values.items():
        found = found.replace("{{ " + name + " }}", str(value))
    return found


def asset_url(name: str) -> str:
    assert (EXTENSION / "assets" / name).is_file(), name
    return ASSET_PREFIX + name


@cache
def environment(language: str = "en") -> Environment:
    """One environment per storefront language: its `t` reads that language's locale file."""
    env = Environment(loader=FileSystemLoader(EXTENSION / "snippets", ext=".liquid"))
    env.filters["t"] = lambda key, **values: translate(key, language, **values)
    env.filters["asset_url"] = asset_url
    return env


def app_object(metafields: dict[str, Any] | None) -> dict[str, Any]:
    """`app` as a block sees it: `app.metafields.sms_blossom.<key>.value` is the parsed JSON."""
    owned = {key: {"value": value} for key, value in (metafields or {}).items()}
    return {"metafields": {"sms_blossom": owned}}


def render_block(
    name: str,
    *,
    metafields: dict[str, Any] | None,
    settings: dict[str, Any] | None = None,
    block_id: str = "b1",
    shop: dict[str, Any] | None = None,
    locale: str = "en",
    product: dict[str, Any] | None = None,
) -> str:
    source = _SCHEMA.sub("", block_source(name))
    defaults = {setting["id"]: setting.get("default") for setting in schema_of(name)["settings"]}
    block = {"id": block_id, "settings": {**defaults, **(settings or {})}, "shopify_attributes": ""}
    return (
        environment(locale.split("-")[0].lower())
        .from_string(source)
        .render(
            app=app_object(metafields),
            block=block,
            shop=LIQUID_SHOP if shop is None else shop,
            request={"locale": {"iso_code": locale}},
            product=product,
        )
    )


def stand_in_product(*, available: bool, variant_id: int = 4242, title: str = "Linen shirt") -> dict[str, Any]:
    variant = {"id": variant_id, "available": available, "title": "M"}
    other = {"id": variant_id + 1, "available": not available, "title": "L"}
    return {
        "title": title,
        "handle": "linen-shirt",
        "variants": [variant, other],
        "selected_or_first_available_variant": variant,
    }
