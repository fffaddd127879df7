"""The Shopify Flow extensions under extensions/ parse, use the schema Shopify CLI expects, name
the handles and payload keys the code sends, and point at URLs of the app's own URL (from
shopify.app.toml) that this app serves with POST."""

from __future__ import annotations

import tomllib
from urllib.parse import urlsplit

import pytest

from shopify_app.services.shopify_flow.definitions import ACTIONS, CUSTOMER_ID, TRIGGERS

from .shopify_flow_support import extension_tomls

HANDLE_CHARACTERS = set("abcdefghijklmnopqrstuvwxyz0123456789-")


def extensions_of(kind: str) -> list[dict]:
    return [
        extension
        for config in extension_tomls().values()
        for extension in config["extensions"]
        if extension["type"] == kind
    ]


def app_url(project_root) -> str:
    return tomllib.loads((project_root / "shopify.app.toml").read_text())["application_url"]


def served_with_post(app, url: str) -> bool:
    adapter = app.url_map.bind("sms-blossom.example.com")
    try:
        adapter.match(urlsplit(url).path, method="POST")
    except Exception:
        return False
    return True


def test_every_flow_extension_parses_with_a_unique_valid_handle():
    configs = extension_tomls()
    assert len(configs) == 6
    handles = [extension["handle"] for config in configs.values() for extension in config["extensions"]]
    assert len(handles) == len(set(handles))
    for handle in handles:
        assert len(handle) <= 30, handle
        assert set(handle) <= HANDLE_CHARACTERS, handle
    for config in configs.values():
        for extension in config["extensions"]:
            assert extension["name"]
            assert extension["type"].startswith("flow_")


def test_the_triggers_are_the_ones_the_code_sends_with_the_keys_it_sends():
    declared = {extension["handle"]: extension for extension in extensions_of("flow_trigger")}
    assert set(declared) == set(TRIGGERS)
    for handle, definition in TRIGGERS.items():
        config = next(c for c in extension_tomls().values() if c["extensions"][0]["handle"] == handle)
        fields = config["settings"]["fields"]
        assert fields[0] == {"type": "customer_reference"}  # the payload's `customer_id`
        assert tuple(field["key"] for field in fields[1:]) == definition.fields
        assert declared[handle]["name"] == definition.name
    assert CUSTOMER_ID == "customer_id"


def test_the_actions_require_a_customer_and_post_to_routes_this_app_serves(app, project_root):
    declared = {extension["handle"]: extension for extension in extensions_of("flow_action")}
    assert set(declared) == set(ACTIONS)
    base = app_url(project_root)
    for handle, extension in declared.items():
        url = extension["runtime_url"]
        assert url.startswith(base.rstrip("/") + "/shopify-flow/actions/"), url
        assert served_with_post(app, url), url
        config = next(c for c in extension_tomls().values() if c["extensions"][0]["handle"] == handle)
        fields = config["settings"]["fields"]
        assert fields[0] == {"type": "customer_reference", "required": True}
        assert all(field.get("required") for field in fields)


@pytest.mark.parametrize(("handle", "keys"), [("send-sms", ["message"]), ("add-subscriber-tag", ["tag"])])
def test_each_action_declares_the_properties_its_endpoint_reads(handle, keys):
    config = next(c for c in extension_tomls().values() if c["extensions"][0]["handle"] == handle)
    assert [field["key"] for field in config["settings"]["fields"][1:]] == keys


def test_the_lifecycle_callback_points_at_the_app_url_this_app_serves(app, project_root):
    [callback] = extensions_of("flow_trigger_lifecycle_callback")
    assert callback["url"] == app_url(project_root).rstrip("/") + "/shopify-flow/lifecycle"
    assert served_with_post(app, callback["url"])
