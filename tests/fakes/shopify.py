"""A loopback fake of Shopify's OAuth token endpoint and Admin GraphQL API.

Real HTTP on 127.0.0.1 (so timeouts, refused connections and retries are exercised for real),
with knobs for the failures Shopify produces: 429 with Retry-After, 5xx, THROTTLED, slow
answers, revoked tokens. Every URL is under `/shops/<shop>`, so `admin_base_url` stands in for
`https://{shop}`.

    fake = FakeShopify(api_key=..., api_secret=...).start()
    ...
    fake.stop()

Standalone, for benchmarks: `python -m tests.fakes.shopify --port 0 --shop alpha.myshopify.com`
prints the base URL (and an access token per --shop) and serves until Ctrl-C.
"""

from __future__ import annotations

import argparse
import hmac
import json
import os
import re
import secrets
import threading
import time
from collections import deque
from typing import Any

import jwt
from werkzeug.exceptions import HTTPException
from werkzeug.routing import Map, Rule
from werkzeug.serving import BaseWSGIServer, WSGIRequestHandler, make_server
from werkzeug.wrappers import Request, Response

from ._lifecycle import LoopbackServer

# Spelled out again, not imported from the client: the fake mirrors Shopify, so a typo there fails.
TOKEN_EXCHANGE_GRANT = "urn:ietf:params:oauth:grant-type:token-exchange"
ID_TOKEN_TYPE = "urn:ietf:params:oauth:token-type:id_token"
OFFLINE_ACCESS_TOKEN_TYPE = "urn:shopify:params:oauth:token-type:offline-access-token"
SCOPE = "read_customers,write_customers"
REFRESH_TOKEN_LIFETIME = 7776000
INVALID_TOKEN_MESSAGE = "[API] Invalid API key or access token (unrecognized login or wrong password)"

_URLS = Map(
    [
        Rule("/shops/<shop>/admin/oauth/access_token", methods=["POST"], endpoint="oauth"),
        Rule("/shops/<shop>/admin/api/<version>/graphql.json", methods=["POST"], endpoint="graphql"),
        # A finished bulk operation's JSONL, as Shopify's signed storage URL serves it (no token).
        Rule("/bulk/<int:number>.jsonl", methods=["GET"], endpoint="bulk_download"),
    ]
)


class _QuietRequestHandler(WSGIRequestHandler):
    """No access log line per request: tests and benchmarks read `FakeShopify.requests`."""

    def log_request(self, code: int | str = "-", size: int | str = "-") -> None:
        return None


def _json(payload: Any, status: int = 200, headers: dict[str, str] | None = None) -> Response:
    return Response(json.dumps(payload), status=status, headers=headers, content_type="application/json")


# Operations asked for without arguments (`currentAppInstallation { id }`), matched by name alone.
_NO_ARGUMENTS = frozenset({"currentAppInstallation", "webPixel"})


class FakeShopify(LoopbackServer):
    token_lifetime: int = 86400
    refuse_token_exchange: bool = False

    def __init__(self, *, api_key: str, api_secret: str) -> None:
        super().__init__()
        self.api_key = api_key
        self.api_secret = api_secret
        self.shops: dict[str, dict[str, Any]] = {}
        self.access_tokens: dict[str, str] = {}  # access token -> shop
        self.refresh_tokens: dict[str, str] = {}  # refresh token -> shop
        self.requests: list[dict[str, Any]] = []
        self._codes: dict[str, str] = {}  # unused authorization code -> shop
        self._access_of_refresh: dict[str, str] = {}  # refresh token -> the access token issued with it
        self._access_expires_at: dict[str, float] = {}  # expiring access token -> monotonic deadline
        self._failures: dict[str, deque[tuple[int, str | None]]] = {"oauth": deque(), "graphql": deque()}
        self._delays: dict[str, deque[float]] = {"oauth": deque(), "graphql": deque()}
        self._throttles: deque[float] = deque()
        self._graphql_errors: deque[list[dict[str, Any]]] = deque()
        self.inventory_items: dict[str, dict[str, Any]] = {}
        self.products: dict[tuple[str, str], dict[str, Any]] = {}  # (shop, product gid) -> product node
        self._next_id = 1000
        self.subscriptions: dict[str, dict[str, Any]] = {}
        self.purchases: dict[str, dict[str, Any]] = {}
        self.usage_caps: dict[str, float] = {}
        self.cap_requests: dict[str, float] = {}  # line item -> the cap asked for, not yet approved
        self.usage_records: dict[str, dict[str, Any]] = {}
        self.discount_codes: dict[tuple[str, str], str] = {}
        self.discounts: dict[str, dict[str, Any]] = {}
        self.customers: dict[str, dict[str, Any]] = {}  # gid -> {"shop", "phone", "smsMarketingConsent"}
        self.customer_calls: list[tuple[str, dict[str, Any]]] = []  # (operation, variables), answered
        self._user_errors: dict[str, deque[list[dict[str, Any]]]] = {}
        # Bulk operations: gid -> {"shop", "status", "polls_left", "error_code", "lines", "query"}.
        self.bulk_operations: dict[str, dict[str, Any]] = {}
        self.bulk_jsonl: dict[str, list[str]] = {}  # shop -> the JSONL lines its next export holds
        self.bulk_downloads: list[dict[str, Any]] = []  # {"number", "status", "token_sent"}
        self._bulk_failures: deque[str] = deque()  # error codes the next operations end FAILED with
        self._download_failures: deque[int] = deque()
        # App-data metafields by owner (the app installation's gid) -> (namespace, key) -> metafield.
        self.metafields: dict[str, dict[tuple[str, str], dict[str, Any]]] = {}
        self.metafield_calls: list[list[dict[str, Any]]] = []  # metafieldsSet inputs, answered
        self.orders: dict[str, list[dict[str, Any]]] = {}  # shop -> order nodes (GraphQL shape), oldest first
        self.web_pixels: dict[str, dict[str, Any]] = {}  # shop -> its app's pixel {"id", "settings"}
        self.web_pixel_calls: list[tuple[str, dict[str, Any]]] = []  # (operation, variables), answered
        self.order_queries: list[dict[str, Any]] = []  # `orders(...)` variables, answered
        # Shopify Flow: the trigger handles the app's extensions declare (empty: any handle), and
        # every `flowTriggerReceive` answered without userErrors, as {"shop", "handle", "payload"}.
        self.flow_trigger_handles: set[str] = set()
        self.flow_triggers: list[dict[str, Any]] = []
        self._lock = threading.RLock()

    # -- lifecycle (LoopbackServer) -----------------------------------------------------------

    name = "fake-shopify"

    def _make_server(self, port: int) -> BaseWSGIServer:
        return make_server("127.0.0.1", port, self.wsgi_app, threaded=True, request_handler=_QuietRequestHandler)

    @property
    def admin_base_url(self) -> str:
        return f"http://127.0.0.1:{self.require_port()}/shops/{{shop}}"

    # -- state and knobs ---------------------------------------------------------------------

    def add_shop(self, shop: str, **details: Any) -> None:
        handle = shop.split(".", 1)[0]
        with self._lock:
            self.shops[shop] = {
                "name": handle.replace("-", " ").title(),
                "email": f"owner@{handle}.example",
                "currencyCode": "EUR",
                "ianaTimezone": "Europe/Athens",
                "countryCodeV2": "GR",
                "plan": "Basic",
                **details,
            }

    def add_inventory_item(self, item_id: int, *, variant_id: int, product_title: str, handle: str) -> None:
        """What `inventoryItem(id:)` answers for the item (variant, its product)."""
        with self._lock:
            self.inventory_items[f"gid://shopify/InventoryItem/{item_id}"] = {
                "id": f"gid://shopify/InventoryItem/{item_id}",
                "variant": {
                    "id": f"gid://shopify/ProductVariant/{variant_id}",
                    "legacyResourceId": str(variant_id),
                    "product": {"title": product_title, "handle": handle, "onlineStoreUrl": None},
                },
            }

    def add_product(
        self,
        shop: str,
        product_id: int,
        *,
        title: str,
        handle: str,
        status: str = "ACTIVE",
        published: bool = True,
        online_store_url: str | None = None,
    ) -> None:
        """What `product(id:)` answers for the shop's product: unpublished (not on the online
        store) means no `publishedAt` and no `onlineStoreUrl`, as Shopify answers it."""
        gid = f"gid://shopify/Product/{product_id}"
        with self._lock:
            self.products[(shop, gid)] = {
                "id": gid,
                "title": title,
                "handle": handle,
                "status": status,
                "publishedAt": "2026-01-05T10:00:00Z" if published else None,
                "onlineStoreUrl": online_store_url if published else None,
            }

    # -- billing and discounts (mutations behave like Shopify's, userErrors included) -------------

    def _gid(self, kind: str) -> str:
        self._next_id += 1
        return f"gid://shopify/{kind}/{self._next_id}"

    def _operations(self) -> dict[str, Any]:
        return {
            "appSubscriptionCreate": self._subscription_create,
            "appPurchaseOneTimeCreate": self._purchase_create,
            "appUsageRecordCreate": self._usage_record_create,
            "appSubscriptionLineItemUpdate": self._line_item_update,
            "codeDiscountNodeByCode": self._discount_by_code,
            "discountCodeBasicCreate": self._discount_create,
            "discountRedeemCodeBulkAdd": self._discount_codes_add,
            "inventoryItem": lambda _shop, variables: self.inventory_items.get(str(variables.get("id", ""))),
            "customerSmsMarketingConsentUpdate": self._consent_update,
            "customerCreate": self._customer_create,
            "customers": self._customers,
            "bulkOperationRunQuery": self._bulk_run_query,
            "currentBulkOperation": self._current_bulk_operation,
            "node": self._node,
            "metafieldsSet": self._metafields_set,
            "orders": self._orders,
            "currentAppInstallation": lambda shop, _variables: {"id": self.app_installation_id(shop)},
            "webPixelCreate": self._web_pixel_create,
            "webPixelUpdate": self._web_pixel_update,
            "webPixel": lambda shop, _variables: self._web_pixel_of(shop),
            "flowTriggerReceive": self._flow_trigger_receive,
            # Last: "product(" only after every other name, so no other query is taken for it.
            "product": lambda shop, variables: self.products.get((shop, str(variables.get("id", "")))),
        }

    def _flow_trigger_receive(self, shop: str, variables: dict[str, Any]) -> dict[str, Any]:
        """Starts the shop's workflows for `handle` (recorded); userErrors like Shopify's for an
        unknown handle, a payload that is not an object, or when queued by `user_errors_next`."""
        if errors := self._take_user_errors("flowTriggerReceive"):
            return {"userErrors": errors}
        handle, payload = variables.get("handle"), variables.get("payload")
        if not isinstance(handle, str) or (self.flow_trigger_handles and handle not in self.flow_trigger_handles):
            return {"userErrors": [{"field": ["handle"], "message": "Invalid handle"}]}
        if not isinstance(payload, dict):
            return {"userErrors": [{"field": ["payload"], "message": "Invalid payload"}]}
        self.flow_triggers.append({"shop": shop, "handle": handle, "payload": payload})
        return {"userErrors": []}

    # -- bulk operations (created -> running -> completed with a JSONL url, or failed) ------------

    bulk_polls_until_done: int = 2  # `node(id:)` answers CREATED, RUNNING..., then the end state

    def fail_next_bulk_operation(self, error_code: str = "INTERNAL_SERVER_ERROR") -> None:
        """The next bulk operation started ends FAILED with this `errorCode`."""
        with self._lock:
            self._bulk_failures.append(error_code)

    def fail_next_bulk_download(self, status: int = 403, times: int = 1) -> None:
        """The next downloads of a JSONL answer `status` (an expired signed link)."""
        with self._lock:
            self._download_failures.extend([status] * times)

    def _export_lines(self, shop: str) -> list[str]:
        """What a customers export holds: `bulk_jsonl[shop]` when set, else the shop's customers."""
        if shop in self.bulk_jsonl:
            return list(self.bulk_jsonl[shop])
        return [
            json.dumps({"id": gid, "phone": c["phone"], "smsMarketingConsent": c["smsMarketingConsent"]})
            for gid, c in self.customers.items()
            if c["shop"] == shop
        ]

    def _bulk_run_query(self, shop: str, variables: dict[str, Any]) -> dict[str, Any]:
        if errors := self._take_user_errors("bulkOperationRunQuery"):
            return {"bulkOperation": None, "userErrors": errors}
        running = [
            gid
            for gid, op in self.bulk_operations.items()
            if op["shop"] == shop and op["status"] in ("CREATED", "RUNNING")
        ]
        if running:
            message = f"A bulk query operation for this app and shop is already in progress: {running[0]}."
            return {
                "bulkOperation": None,
                "userErrors": [{"field": None, "message": message, "code": "OPERATION_IN_PROGRESS"}],
            }
        gid = self._gid("BulkOperation")
        self.bulk_operations[gid] = {
            "shop": shop,
            "status": "CREATED",
            "polls_left": self.bulk_polls_until_done,
            "error_code": self._bulk_failures.popleft() if self._bulk_failures else None,
            "lines": self._export_lines(shop),
            "query": str(variables.get("query", "")),
        }
        return {"bulkOperation": {"id": gid, "status": "CREATED"}, "userErrors": []}

    def _bulk_view(self, gid: str) -> dict[str, Any]:
        op = self.bulk_operations[gid]
        done = op["status"] == "COMPLETED" and op["lines"]
        url = f"http://127.0.0.1:{self.require_port()}/bulk/{gid.rsplit('/', 1)[1]}.jsonl" if done else None
        return {
            "id": gid,
            "status": op["status"],
            "errorCode": op["error_code"] if op["status"] == "FAILED" else None,
            "objectCount": str(len(op["lines"])) if op["status"] == "COMPLETED" else "0",
            "url": url,
            "query": op["query"],
        }

    def _node(self, shop: str, variables: dict[str, Any]) -> dict[str, Any] | None:
        """`node(id:)` of a bulk operation: each look moves it on, CREATED -> RUNNING -> the end."""
        gid = str(variables.get("id", ""))
        op = self.bulk_operations.get(gid)
        if op is None or op["shop"] != shop:
            return None
        if op["status"] in ("CREATED", "RUNNING"):
            if op["polls_left"] > 0:
                op["polls_left"] -= 1
                op["status"] = "RUNNING"
            else:
                op["status"] = "FAILED" if op["error_code"] else "COMPLETED"
        return self._bulk_view(gid)

    def _current_bulk_operation(self, shop: str, variables: dict[str, Any]) -> dict[str, Any] | None:
        mine = [gid for gid, op in self.bulk_operations.items() if op["shop"] == shop]
        return self._bulk_view(mine[-1]) if mine else None

    def _bulk_download(self, request: Request, number: int) -> Response:
        op = self.bulk_operations.get(f"gid://shopify/BulkOperation/{number}")
        status = self._download_failures.popleft() if self._download_failures else 200
        if op is None or op["status"] != "COMPLETED":
            status = 404
        token_sent = "X-Shopify-Access-Token" in request.headers
        self.bulk_downloads.append({"number": number, "status": status, "token_sent": token_sent})
        if status != 200:
            return Response("<Error><Code>AccessDenied</Code></Error>", status=status, content_type="application/xml")
        lines = list(op["lines"])
        return Response((line + "\n" for line in lines), content_type="application/jsonl")

    # -- the app installation and its app-data metafields -----------------------------------------

    def app_installation_id(self, shop: str) -> str:
        """The gid of this app's installation on `shop` (stable per shop, as Shopify's is)."""
        return f"gid://shopify/AppInstallation/{sum(shop.encode()) + 7000}"

    def app_metafields(self, shop: str, namespace: str = "sms_blossom") -> dict[str, Any]:
        """key -> parsed value of the metafields `shop`'s installation owns, as Liquid's `.value`."""
        owned = self.metafields.get(self.app_installation_id(shop), {})
        return {key: metafield["parsed"] for (space, key), metafield in owned.items() if space == namespace}

    def _metafields_set(self, shop: str, variables: dict[str, Any]) -> dict[str, Any]:
        """`metafieldsSet`: all or nothing, as Shopify's; only this shop's installation may own them."""
        inputs = list(variables.get("metafields") or [])
        self.metafield_calls.append(inputs)
        if errors := self._take_user_errors("metafieldsSet"):
            return {"metafields": [], "userErrors": errors}
        written = []
        for index, item in enumerate(inputs):
            error = self._metafield_error(shop, item)
            if error:
                return {"metafields": [], "userErrors": [{"field": ["metafields", str(index)], **error}]}
            written.append(item)
        for item in written:
            value = item["value"]
            parsed = json.loads(value) if item.get("type") == "json" else value
            owned = self.metafields.setdefault(item["ownerId"], {})
            owned[(item["namespace"], item["key"])] = {**item, "parsed": parsed}
        return {"metafields": [{"namespace": i["namespace"], "key": i["key"]} for i in written], "userErrors": []}

    def _metafield_error(self, shop: str, item: dict[str, Any]) -> dict[str, str] | None:
        if item.get("ownerId") != self.app_installation_id(shop):
            return {"message": "Owner does not exist", "code": "INVALID"}
        if not item.get("namespace") or not item.get("key") or not item.get("type"):
            return {"message": "Namespace, key and type are required", "code": "BLANK"}
        if item.get("type") == "json":
            try:
                json.loads(str(item.get("value")))
            except ValueError:
                return {"message": "Value is invalid JSON", "code": "INVALID_VALUE"}
        return None

    # -- orders (the backfill's paginated search) ------------------------------------------------

    def add_order(
        self,
        shop: str,
        *,
        order_id: int,
        created_at: str,
        total: str = "10.00",
        customer_id: int | None = None,
        phone: str | None = None,
        products: tuple[tuple[int, str], ...] = (),
        codes: tuple[str, ...] = (),
    ) -> None:
        """An order as `orders(query:)` answers it; `created_at` as Shopify writes it (UTC, Z)."""
        customer = {"legacyResourceId": str(customer_id), "phone": phone} if customer_id else None
        items = [{"title": title, "product": {"legacyResourceId": str(pid)}} for pid, title in products]
        node = {
            "legacyResourceId": str(order_id),
            "createdAt": created_at,
            "phone": None if customer else phone,
            "customer": customer,
            "totalPriceSet": {"shopMoney": {"amount": total, "currencyCode": "USD"}},
            "discountCodes": list(codes),
            "lineItems": {"nodes": items},
        }
        with self._lock:
            self.orders.setdefault(shop, []).append(node)
            self.orders[shop].sort(key=lambda order: order["createdAt"])

    def _orders(self, shop: str, variables: dict[str, Any]) -> dict[str, Any]:
        """`orders(first:, after:, query: "created_at:>='...' AND created_at:<'...'")`; the cursor
        is the position after the page's last order."""
        self.order_queries.append(dict(variables))
        query = str(variables.get("query", ""))
        low = re.search(r"created_at:>='([^']+)'", query)
        high = re.search(r"created_at:<'([^']+)'", query)
        nodes = [
            node
            for node in self.orders.get(shop, [])
            if (low is None or node["createdAt"] >= low.group(1))
            and (high is None or node["createdAt"] < high.group(1))
        ]
        start = int(variables.get("after") or 0)
        page = nodes[start : start + int(variables.get("first") or 50)]
        end = start + len(page)
        return {"nodes": page, "pageInfo": {"hasNextPage": end < len(nodes), "endCursor": str(end) if page else None}}

    # -- web pixels (one per app and shop; settings validated like the extension's toml) -----------

    PIXEL_SETTINGS = frozenset({"endpoint", "shopDomain"})

    def _web_pixel_of(self, shop: str) -> dict[str, Any] | None:
        pixel = self.web_pixels.get(shop)
        return {"id": pixel["id"], "settings": json.dumps(pixel["settings"])} if pixel else None

    def _pixel_settings_error(self, variables: dict[str, Any]) -> dict[str, Any] | None:
        raw = (variables.get("webPixel") or {}).get("settings")
        try:
            settings = json.loads(raw) if isinstance(raw, str) else raw
        except ValueError:
            settings = None
        if not isinstance(settings, dict) or set(settings) != self.PIXEL_SETTINGS:
            return {"field": ["webPixel", "settings"], "message": "Invalid settings", "code": "INVALID_SETTINGS"}
        if not all(isinstance(value, str) and value for value in settings.values()):
            return {"field": ["webPixel", "settings"], "message": "Invalid settings", "code": "INVALID_SETTINGS"}
        return None

    def _web_pixel_create(self, shop: str, variables: dict[str, Any]) -> dict[str, Any]:
        self.web_pixel_calls.append(("webPixelCreate", variables))
        if errors := self._take_user_errors("webPixelCreate"):
            return {"userErrors": errors, "webPixel": None}
        if error := self._pixel_settings_error(variables):
            return {"userErrors": [error], "webPixel": None}
        if shop in self.web_pixels:
            taken = {"field": ["webPixel"], "message": "Web pixel already exists", "code": "TAKEN"}
            return {"userErrors": [taken], "webPixel": None}
        settings = json.loads(variables["webPixel"]["settings"])
        self.web_pixels[shop] = {"id": self._gid("WebPixel"), "settings": settings}
        return {"userErrors": [], "webPixel": self._web_pixel_of(shop)}

    def _web_pixel_update(self, shop: str, variables: dict[str, Any]) -> dict[str, Any]:
        self.web_pixel_calls.append(("webPixelUpdate", variables))
        if errors := self._take_user_errors("webPixelUpdate"):
            return {"userErrors": errors, "webPixel": None}
        pixel = self.web_pixels.get(shop)
        if pixel is None or pixel["id"] != variables.get("id"):
            missing = {"field": ["id"], "message": "Web pixel not found", "code": "NOT_FOUND"}
            return {"userErrors": [missing], "webPixel": None}
        if error := self._pixel_settings_error(variables):
            return {"userErrors": [error], "webPixel": None}
        pixel["settings"] = json.loads(variables["webPixel"]["settings"])
        return {"userErrors": [], "webPixel": self._web_pixel_of(shop)}

    # -- customers and their SMS consent --------------------------------------------------------

    def add_customer(self, shop: str, *, phone: str | None, state: str = "NOT_SUBSCRIBED") -> str:
        """A Shopify customer of `shop` (its gid), as a checkout or the merchant would make."""
        with self._lock:
            gid = self._gid("Customer")
            consent = {"marketingState": state, "marketingOptInLevel": None, "consentUpdatedAt": None}
            self.customers[gid] = {"shop": shop, "phone": phone, "smsMarketingConsent": consent}
            return gid

    def user_errors_next(self, operation: str, errors: list[dict[str, Any]], times: int = 1) -> None:
        """The next `times` calls of `operation` answer these userErrors and change nothing."""
        with self._lock:
            self._user_errors.setdefault(operation, deque()).extend([errors] * times)

    def _take_user_errors(self, operation: str) -> list[dict[str, Any]] | None:
        queued = self._user_errors.get(operation)
        return queued.popleft() if queued else None

    def _customers(self, shop: str, variables: dict[str, Any]) -> dict[str, Any]:
        """`customers(first:, query: "phone:+1...")`: only the phone search is understood."""
        self.customer_calls.append(("customers", variables))
        query = str(variables.get("query", ""))
        phone = query.removeprefix("phone:").strip().strip('"') if query.startswith("phone:") else None
        found = [
            {"id": gid}
            for gid, customer in self.customers.items()
            if customer["shop"] == shop and phone and customer["phone"] == phone
        ]
        return {"nodes": found[:1]}

    def _consent_update(self, shop: str, variables: dict[str, Any]) -> dict[str, Any]:
        self.customer_calls.append(("customerSmsMarketingConsentUpdate", variables))
        if errors := self._take_user_errors("customerSmsMarketingConsentUpdate"):
            return {"customer": None, "userErrors": errors}
        payload = variables.get("input") or {}
        customer = self.customers.get(str(payload.get("customerId", "")))
        if customer is None or customer["shop"] != shop:
            error = {"field": ["input", "customerId"], "message": "Customer not found", "code": "INVALID"}
            return {"customer": None, "userErrors": [error]}
        consent = payload.get("smsMarketingConsent") or {}
        state = consent.get("marketingState")
        if state not in ("SUBSCRIBED", "UNSUBSCRIBED", "PENDING"):
            error = {"field": ["input", "smsMarketingConsent"], "message": "Invalid state", "code": "INVALID"}
            return {"customer": None, "userErrors": [error]}
        customer["smsMarketingConsent"] = {
            "marketingState": state,
            "marketingOptInLevel": consent.get("marketingOptInLevel"),
            "consentUpdatedAt": consent.get("consentUpdatedAt"),
        }
        gid = str(payload["customerId"])
        return {"customer": {"id": gid, "smsMarketingConsent": customer["smsMarketingConsent"]}, "userErrors": []}

    def _customer_create(self, shop: str, variables: dict[str, Any]) -> dict[str, Any]:
        self.customer_calls.append(("customerCreate", variables))
        if errors := self._take_user_errors("customerCreate"):
            return {"customer": None, "userErrors": errors}
        payload = variables.get("input") or {}
        phone = payload.get("phone")
        if phone and any(c["shop"] == shop and c["phone"] == phone for c in self.customers.values()):
            error = {"field": ["phone"], "message": "Phone has already been taken", "code": "TAKEN"}
            return {"customer": None, "userErrors": [error]}
        gid = self.add_customer(shop, phone=phone)
        if consent := payload.get("smsMarketingConsent"):
            self.customers[gid]["smsMarketingConsent"] = {
                "marketingState": consent.get("marketingState"),
                "marketingOptInLevel": consent.get("marketingOptInLevel"),
                "consentUpdatedAt": consent.get("consentUpdatedAt"),
            }
        return {"customer": {"id": gid}, "userErrors": []}

    def _subscription_create(self, shop: str, variables: dict[str, Any]) -> dict[str, Any]:
        subscription_id = self._gid("AppSubscription")
        line_items = []
        for item in variables.get("lineItems", []):
            plan = item.get("plan", {})
            kind = "AppUsagePricing" if "appUsagePricingDetails" in plan else "AppRecurringPricing"
            line_items.append(
                {"id": self._gid("AppSubscriptionLineItem"), "plan": {"pricingDetails": {"__typename": kind}}}
            )
            if kind == "AppUsagePricing":
                cap = plan["appUsagePricingDetails"]["cappedAmount"]["amount"]
                self.usage_caps[line_items[-1]["id"]] = float(cap)
        self.subscriptions[subscription_id] = {"shop": shop, "variables": variables, "lineItems": line_items}
        return {
            "appSubscription": {"id": subscription_id, "status": "PENDING", "lineItems": line_items},
            "confirmationUrl": f"https://{shop}/admin/charges/confirm?id={subscription_id.rsplit('/', 1)[1]}",
            "userErrors": [],
        }

    def _purchase_create(self, shop: str, variables: dict[str, Any]) -> dict[str, Any]:
        purchase_id = self._gid("AppPurchaseOneTime")
        self.purchases[purchase_id] = {"shop": shop, "variables": variables}
        return {
            "appPurchaseOneTime": {"id": purchase_id, "status": "PENDING"},
            "confirmationUrl": f"https://{shop}/admin/charges/confirm_purchase?id={purchase_id.rsplit('/', 1)[1]}",
            "userErrors": [],
        }

    def _usage_record_create(self, shop: str, variables: dict[str, Any]) -> dict[str, Any]:
        key = variables.get("idempotencyKey")
        if key and key in self.usage_records:
            return {"appUsageRecord": {"id": self.usage_records[key]["id"]}, "userErrors": []}
        line_item = variables.get("subscriptionLineItemId")
        amount = float(variables["price"]["amount"])
        used = sum(r["amount"] for r in self.usage_records.values() if r["line_item"] == line_item)
        if line_item not in self.usage_caps:
            return {
                "appUsageRecord": None,
                "userErrors": [{"field": ["subscriptionLineItemId"], "message": "Not found"}],
            }
        if used + amount > self.usage_caps[line_item] + 1e-9:
            error = {"field": ["price"], "message": "Total price exceeds balance remaining"}
            return {"appUsageRecord": None, "userErrors": [error]}
        record = {"id": self._gid("AppUsageRecord"), "line_item": line_item, "amount": amount}
        self.usage_records[key or record["id"]] = record
        return {"appUsageRecord": {"id": record["id"]}, "userErrors": []}

    def _line_item_update(self, shop: str, variables: dict[str, Any]) -> dict[str, Any]:
        """A usage line item's new cap waits for the merchant's approval (`approve_cap`)."""
        line_item = str(variables.get("id"))
        amount = float(variables["cappedAmount"]["amount"])
        if line_item not in self.usage_caps:
            error = {"field": ["id"], "message": "Not found"}
        elif amount <= self.usage_caps[line_item]:
            error = {"field": ["cappedAmount"], "message": "The capped amount must be greater than the current one"}
        else:
            self.cap_requests[line_item] = amount
            subscription = next(
                gid for gid, sub in self.subscriptions.items() if any(i["id"] == line_item for i in sub["lineItems"])
            )
            return {
                "appSubscription": {"id": subscription},
                "confirmationUrl": f"https://{shop}/admin/charges/confirm_update?id={line_item.rsplit('/', 1)[1]}",
                "userErrors": [],
            }
        return {"appSubscription": None, "confirmationUrl": None, "userErrors": [error]}

    def approve_cap(self, line_item: str) -> float:
        """The merchant approved the asked cap: Shopify now charges up to it. Returns it."""
        with self._lock:
            self.usage_caps[line_item] = self.cap_requests.pop(line_item)
            return self.usage_caps[line_item]

    def _discount_by_code(self, shop: str, variables: dict[str, Any]) -> dict[str, Any] | None:
        node = self.discount_codes.get((shop, str(variables.get("code", "")).upper()))
        return {"id": node} if node else None

    def _discount_create(self, shop: str, variables: dict[str, Any]) -> dict[str, Any]:
        details = variables.get("basicCodeDiscount", {})
        code = str(details.get("code", "")).upper()
        if (shop, code) in self.discount_codes:
            error = {"field": ["basicCodeDiscount", "code"], "code": "TAKEN", "message": "Code must be unique."}
            return {"codeDiscountNode": None, "userErrors": [error]}
        node = self._gid("DiscountCodeNode")
        self.discount_codes[(shop, code)] = node
        self.discounts[node] = {"shop": shop, "details": details, "codes": [code]}
        return {"codeDiscountNode": {"id": node}, "userErrors": []}

    def _discount_codes_add(self, shop: str, variables: dict[str, Any]) -> dict[str, Any]:
        node = variables.get("discountId")
        if node not in self.discounts:
            return {"bulkCreation": None, "userErrors": [{"field": ["discountId"], "message": "Discount not found"}]}
        codes = [str(item.get("code", "")).upper() for item in variables.get("codes", [])]
        if len(codes) > 250:
            return {"bulkCreation": None, "userErrors": [{"field": ["codes"], "message": "Too many codes (250 max)"}]}
        for code in codes:
            self.discount_codes.setdefault((shop, code), node)
            self.discounts[node]["codes"].append(code)
        return {"bulkCreation": {"id": self._gid("DiscountRedeemCodeBulkCreation")}, "userErrors": []}

    def issue_code(self, shop: str) -> str:
        """A one-time authorization code, as Shopify appends to the OAuth redirect."""
        self._ensure_shop(shop)
        code = secrets.token_hex(16)
        with self._lock:
            self._codes[code] = shop
        return code

    def issue_access_token(self, shop: str, *, expiring: bool = False) -> str:
        """A valid access token for `shop` without going through OAuth (tests, benchmarks)."""
        self._ensure_shop(shop)
        with self._lock:
            return self._issue_tokens(shop, expiring=expiring)["access_token"]

    def revoke_tokens(self, shop: str) -> None:
        with self._lock:
            for tokens in (self.access_tokens, self.refresh_tokens):
                for token in [token for token, owner in tokens.items() if owner == shop]:
                    del tokens[token]

    def fail_next(self, path_kind: str, status: int, times: int = 1, *, retry_after: str | None = None) -> None:
        """The next `times` requests of that kind answer `status` without touching any state."""
        with self._lock:
            self._failures[path_kind].extend([(status, retry_after)] * times)

    def throttle_next(self, times: int = 1, *, restore_rate: float = 1000.0) -> None:
        with self._lock:
            self._throttles.extend([restore_rate] * times)

    def graphql_errors_next(self, errors: list[dict[str, Any]], times: int = 1) -> None:
        """The next `times` authorised GraphQL calls answer 200 {"data": null, "errors": errors}."""
        with self._lock:
            self._graphql_errors.extend([errors] * times)

    def delay_next(self, path_kind: str, seconds: float, times: int = 1) -> None:
        """Handle the request (a code is consumed, a token rotated), then wait before answering."""
        with self._lock:
            self._delays[path_kind].extend([seconds] * times)

    def requests_of(self, kind: str) -> list[dict[str, Any]]:
        with self._lock:
            return [entry for entry in self.requests if entry["kind"] == kind]

    # -- WSGI --------------------------------------------------------------------------------

    def wsgi_app(self, environ: dict[str, Any], start_response: Any) -> Any:
        request = Request(environ)
        try:
            endpoint, args = _URLS.bind_to_environ(environ).match()
        except HTTPException as exc:
            return exc(environ, start_response)
        if endpoint == "bulk_download":
            with self._lock:
                response = self._bulk_download(request, args["number"])
            return response(environ, start_response)
        kind, shop = endpoint, args["shop"]
        body = self._body(request)
        with self._lock:
            delay = self._delays[kind].popleft() if self._delays[kind] else 0.0
            response = self._injected_failure(kind)
            if response is None:
                response = self._oauth(shop, body) if kind == "oauth" else self._graphql(shop, request, body)
            grant_type = body.get("grant_type") if kind == "oauth" else None
            self.requests.append(
                {"kind": kind, "shop": shop, "grant_type": grant_type, "status": response.status_code, "body": body}
            )
        if delay:
            time.sleep(delay)
        return response(environ, start_response)

    @staticmethod
    def _body(request: Request) -> dict[str, Any]:
        if request.mimetype == "application/json":
            parsed = request.get_json(silent=True)
            return parsed if isinstance(parsed, dict) else {}
        return request.form.to_dict()

    def _injected_failure(self, kind: str) -> Response | None:
        if not self._failures[kind]:
            return None
        status, retry_after = self._failures[kind].popleft()
        headers = {"Retry-After": retry_after} if retry_after is not None else None
        if status >= 500:
            html = f"<html><body><h1>{status}</h1><p>There was a problem loading this page.</p></body></html>"
            return Response(html, status=status, headers=headers, content_type="text/html")
        return _json({"errors": "Exceeded 2 calls per second for api client."}, status, headers)

    # -- OAuth -------------------------------------------------------------------------------

    def _oauth(self, shop: str, body: dict[str, Any]) -> Response:
        client_ok = hmac.compare_digest(str(body.get("client_id", "")), self.api_key)
        secret_ok = hmac.compare_digest(str(body.get("client_secret", "")), self.api_secret)
        if not (client_ok and secret_ok):
            return _json({"error": "invalid_client", "error_description": "Client authentication failed"}, 401)
        grant_type = body.get("grant_type")
        if grant_type == TOKEN_EXCHANGE_GRANT:
            error = self._token_exchange_error(shop, body)
        elif grant_type == "refresh_token":
            error = self._redeem_refresh_token(shop, body)
        elif grant_type is None and "code" in body:
            if self._codes.get(str(body["code"])) != shop:
                description = "The authorization code was not found or was already used"
                return _json({"error": "invalid_request", "error_description": description}, 400)
            del self._codes[str(body["code"])]
            error = None
        else:
            error = "unsupported_grant_type"
        if error:
            return _json({"error": error}, 400)
        self._ensure_shop(shop)
        expiring = grant_type == "refresh_token" or str(body.get("expiring")) in ("1", "true", "True")
        return _json(self._issue_tokens(shop, expiring=expiring))

    def _token_exchange_error(self, shop: str, body: dict[str, Any]) -> str | None:
        if body.get("subject_token_type") != ID_TOKEN_TYPE:
            return "invalid_request"
        if body.get("requested_token_type") != OFFLINE_ACCESS_TOKEN_TYPE:
            return "invalid_request"
        if self.refuse_token_exchange:
            return "invalid_subject_token"
        try:
            claims = jwt.decode(
                str(body.get("subject_token", "")),
                self.api_secret,
                algorithms=["HS256"],
                audience=self.api_key,
                leeway=10,
                options={"require": ["exp", "nbf", "iat", "aud", "dest"]},
            )
        except jwt.PyJWTError:
            return "invalid_subject_token"
        return None if claims["dest"] == f"https://{shop}" else "invalid_subject_token"

    def _redeem_refresh_token(self, shop: str, body: dict[str, Any]) -> str | None:
        """The error, or None once the old refresh token and its access token are invalidated."""
        refresh_token = str(body.get("refresh_token", ""))
        if self.refresh_tokens.get(refresh_token) != shop:
            return "invalid_grant"
        del self.refresh_tokens[refresh_token]
        self.access_tokens.pop(self._access_of_refresh.pop(refresh_token, ""), None)
        return None

    def _issue_tokens(self, shop: str, *, expiring: bool) -> dict[str, Any]:
        """Called with the lock held."""
        access_token = f"shpat_{secrets.token_hex(16)}"
        self.access_tokens[access_token] = shop
        if not expiring:
            return {"access_token": access_token, "scope": SCOPE}
        refresh_token = f"shprt_{secrets.token_hex(16)}"
        self.refresh_tokens[refresh_token] = shop
        self._access_of_refresh[refresh_token] = access_token
        self._access_expires_at[access_token] = time.monotonic() + self.token_lifetime
        return {
            "access_token": access_token,
            "scope": SCOPE,
            "expires_in": self.token_lifetime,
            "refresh_token": refresh_token,
            "refresh_token_expires_in": REFRESH_TOKEN_LIFETIME,
        }

    def _ensure_shop(self, shop: str) -> None:
        if shop not in self.shops:
            self.add_shop(shop)

    # -- GraphQL -----------------------------------------------------------------------------

    def _graphql(self, shop: str, request: Request, body: dict[str, Any]) -> Response:
        token = request.headers.get("X-Shopify-Access-Token", "")
        expires_at = self._access_expires_at.get(token, float("inf"))
        if self.access_tokens.get(token) != shop or time.monotonic() > expires_at:
            return _json({"errors": INVALID_TOKEN_MESSAGE}, 401)
        if self._throttles:
            restore_rate = self._throttles.popleft()
            throttled = {"message": "Throttled", "extensions": {"code": "THROTTLED"}}
            return _json({"errors": [throttled], "extensions": _cost(10, None, 0, restore_rate)})
        if self._graphql_errors:
            return _json({"data": None, "errors": self._graphql_errors.popleft()})
        query = str(body.get("query", ""))
        variables = body.get("variables") or {}
        for operation, handler in self._operations().items():
            if operation + "(" in query or (operation in _NO_ARGUMENTS and operation in query):
                with self._lock:
                    data = handler(shop, variables)
                return _json({"data": {operation: data}, "extensions": _cost(10, 10, 990, 100.0)})
        if "shop {" not in query and "shop{" not in query:
            return _json({"data": {}, "extensions": _cost(1, 1, 999, 100.0)})
        details = {"name": shop.split(".", 1)[0], **self.shops.get(shop, {})}
        data = {
            "shop": {
                "name": details.get("name"),
                "email": details.get("email"),
                "currencyCode": details.get("currencyCode"),
                "ianaTimezone": details.get("ianaTimezone"),
                "billingAddress": {"countryCodeV2": details.get("countryCodeV2")},
                "plan": {"displayName": details.get("plan")},
            }
        }
        return _json({"data": data, "extensions": _cost(1, 1, 999, 100.0)})


def _cost(requested: int, actual: int | None, available: float, restore_rate: float) -> dict[str, Any]:
    throttle = {"maximumAvailable": 1000.0, "currentlyAvailable": available, "restoreRate": restore_rate}
    return {"cost": {"requestedQueryCost": requested, "actualQueryCost": actual, "throttleStatus": throttle}}


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description="Serve a fake Shopify on 127.0.0.1 until Ctrl-C.")
    parser.add_argument("--port", type=int, default=0, help="0 picks a free port")
    parser.add_argument("--api-key", default=os.environ.get("SHOPIFY_API_KEY", "dev-api-key"))
    parser.add_argument("--api-secret", default=os.environ.get("SHOPIFY_API_SECRET"))
    parser.add_argument("--shop", action="append", default=[], help="add this shop and print an access token")
    args = parser.parse_args(argv)
    if args.api_secret is None:
        from shopify_app.config import DEV_API_SECRET

        args.api_secret = DEV_API_SECRET
    fake = FakeShopify(api_key=args.api_key, api_secret=args.api_secret).start(port=args.port)
    print(fake.admin_base_url, flush=True)
    for shop in args.shop:
        print(f"{shop} {fake.issue_access_token(shop)}", flush=True)
    try:
        threading.Event().wait()
    except KeyboardInterrupt:
        pass
    finally:
        fake.stop()


if __name__ == "__main__":
    main()
