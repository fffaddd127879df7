"""The web pixel extension's files (extensions/sms-blossom-pixel) in the Shopify CLI layout:
the toml parses and declares a strict web pixel with its privacy needs and the two settings
the app sets at install; the app asks for the scopes a pixel needs. Its code runs in Chromium
in tests/browser/test_pixel_browser.py."""

from __future__ import annotations

import json
import re
import tomllib

import pytest


@pytest.fixture
def extension(project_root):
    return project_root / "extensions/sms-blossom-pixel"


def test_the_toml_declares_a_strict_web_pixel_with_privacy_and_settings(extension):
    toml = tomllib.loads((extension / "shopify.extension.toml").read_text(encoding="utf-8"))
    assert (toml["type"], toml["runtime_context"], toml["handle"]) == (
        "web_pixel_extension",
        "strict",
        "sms-blossom-pixel",
    )
    privacy = toml["customer_privacy"]
    assert (privacy["analytics"], privacy["marketing"], privacy["preferences"]) == (True, True, False)
    assert privacy["sale_of_data"] in ("enabled", "disabled")
    assert toml["settings"]["type"] == "object"
    fields = toml["settings"]["fields"]
    assert set(fields) == {"endpoint", "shopDomain"}
    assert all(field["type"] == "single_line_text_field" for field in fields.values())


def test_the_package_and_entry_point_use_shopifys_pixel_library(extension):
    package = json.loads((extension / "package.json").read_text(encoding="utf-8"))
    assert "@shopify/web-pixels-extension" in package["dependencies"]
    source = (extension / "src/index.js").read_text(encoding="utf-8")
    assert "import {register} from '@shopify/web-pixels-extension';" in source
    assert "register(({analytics, browser, init, settings})" in source
    assert "analytics.subscribe('product_viewed'" in source


def test_the_pixel_reads_no_personal_fields(extension):
    code = "\n".join(
        line
        for line in (extension / "src/index.js").read_text(encoding="utf-8").splitlines()
        if not line.lstrip().startswith("//")
    )
    for name in ("email", "phone", "firstName", "lastName", "address", "document.cookie"):
        assert not re.search(rf"\b{re.escape(name)}\b", code), name


def test_the_app_asks_for_the_pixel_scopes(project_root):
    app_toml = tomllib.loads((project_root / "shopify.app.toml").read_text(encoding="utf-8"))
    scopes = app_toml["access_scopes"]["scopes"].split(",")
    assert {"write_pixels", "read_customer_events"} <= set(scopes)
