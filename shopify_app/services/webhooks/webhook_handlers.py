"""What each Shopify webhook topic does. Every handler is idempotent: a job may run twice."""

from __future__ import annotations

from typing import Any

from sqlalchemy import update

from ...extensions import db
from ...models import Shop, WebhookEvent
from ...models.types import utcnow
from ..automations import automations, commerce, stock
from ..billing import billing
from ..campaigns import campaigns
from ..contacts import shopify_customers, shopify_import
from ..privacy import privacy
from ..shops import storefront_sync
from .topics import handles


@handles("app/uninstalled")
def app_uninstalled(*, shop: Shop | None, payload: dict[str, Any], event: WebhookEvent) -> None:
    """Mark the shop uninstalled, forget its tokens and stop its campaigns; its data stays until
    `shop/redact` (a reinstall within 48 hours finds it)."""
    if shop is None:
        return
    campaigns.stop_all_for_uninstall(shop=shop)
    automations.stop_all_automations(shop=shop)  # off, pending runs and queued texts cancelled
    shopify_import.stop_for_uninstall(shop=shop)
    db.session.execute(
        update(Shop)
        .where(Shop.id == shop.id)
        .values(
            uninstalled_at=utcnow(),
            access_token_ciphertext=None,
            access_token_expires_at=None,
            refresh_token_ciphertext=None,
            refresh_token_expires_at=None,
            # Shopify cancels an uninstalled app's subscription; never keep granting its plan.
            subscription_status="CANCELLED",
        )
    )


@handles("app/scopes_update")
def scopes_updated(*, shop: Shop | None, payload: dict[str, Any], event: WebhookEvent) -> None:
    current = payload.get("current")
    if shop is not None and isinstance(current, list):
        shop.scopes = ",".join(str(scope) for scope in current)


@handles("shop/update")
def shop_updated(*, shop: Shop | None, payload: dict[str, Any], event: WebhookEvent) -> None:
    if shop is None:
        return
    shown_before = (shop.name, shop.country_code)  # what the theme blocks show of the shop
    if isinstance(payload.get("name"), str):
        shop.name = payload["name"]
    email = payload.get("customer_email") or payload.get("email")
    if isinstance(email, str) and "@" in email:
        shop.email = email
    if isinstance(payload.get("iana_timezone"), str) and payload["iana_timezone"]:
        shop.timezone = payload["iana_timezone"]
    if isinstance(payload.get("currency"), str):
        shop.currency = payload["currency"][:3]
    if isinstance(payload.get("country_code"), str) and len(payload["country_code"]) == 2:
        shop.country_code = payload["country_code"].upper()
    if isinstance(payload.get("plan_display_name"), str):
        shop.plan = payload["plan_display_name"]
    if (shop.name, shop.country_code) != shown_before:
        # The disclosure names the shop; the country picker starts at its country.
        storefront_sync.schedule_sync_after_commit(shop)


@handles("customers/create", "customers/update")
def customer_changed(*, shop: Shop | None, payload: dict[str, Any], event: WebhookEvent) -> None:
    if shop is not None:
        shopify_customers.upsert_customer(shop=shop, payload=payload)


@handles("customers_marketing_consent/update")
def marketing_consent_changed(*, shop: Shop | None, payload: dict[str, Any], event: WebhookEvent) -> None:
    if shop is not None:
        shopify_customers.marketing_consent_update(shop=shop, payload=payload)


@handles("orders/create")
def order_created(*, shop: Shop | None, payload: dict[str, Any], event: WebhookEvent) -> None:
    if shop is not None and (order := commerce.record_order(shop=shop, payload=payload)) is not None:
        automations.on_order(shop=shop, order=order)


@handles("orders/paid")
def order_paid(*, shop: Shop | None, payload: dict[str, Any], event: WebhookEvent) -> None:
    if shop is not None:
        commerce.order_paid(shop=shop, payload=payload)


@handles("orders/updated")
def order_updated(*, shop: Shop | None, payload: dict[str, Any], event: WebhookEvent) -> None:
    if shop is not None:
        commerce.update_order(shop=shop, payload=payload)


@handles("fulfillments/create", "fulfillments/update")
def fulfillment_changed(*, shop: Shop | None, payload: dict[str, Any], event: WebhookEvent) -> None:
    if shop is not None:
        commerce.fulfillment_changed(shop=shop, payload=payload)


@handles("checkouts/create", "checkouts/update")
def checkout_changed(*, shop: Shop | None, payload: dict[str, Any], event: WebhookEvent) -> None:
    if shop is not None and (checkout := commerce.record_checkout(shop=shop, payload=payload)) is not None:
        automations.on_checkout(shop=shop, checkout=checkout)


@handles("inventory_levels/update")
def inventory_level_changed(*, shop: Shop | None, payload: dict[str, Any], event: WebhookEvent) -> None:
    if shop is not None:
        stock.level_changed(shop=shop, payload=payload)


@handles("app_subscriptions/update")
def subscription_changed(*, shop: Shop | None, payload: dict[str, Any], event: WebhookEvent) -> None:
    if shop is not None:
        billing.subscription_updated(shop=shop, payload=payload)


@handles("app_purchases_one_time/update")
def purchase_changed(*, shop: Shop | None, payload: dict[str, Any], event: WebhookEvent) -> None:
    if shop is not None:
        billing.purchase_updated(shop=shop, payload=payload)


@handles("customers/data_request")
def customer_data_request(*, shop: Shop | None, payload: dict[str, Any], event: WebhookEvent) -> None:
    if shop is not None:
        privacy.data_request(shop=shop, payload=payload)


@handles("customers/redact")
def customer_redact(*, shop: Shop | None, payload: dict[str, Any], event: WebhookEvent) -> None:
    if shop is not None:
        privacy.redact_customer(shop=shop, payload=payload)


@handles("shop/redact")
def shop_redact(*, shop: Shop | None, payload: dict[str, Any], event: WebhookEvent) -> None:
    if shop is not None:
        privacy.redact_shop(shop_id=shop.id, keep_event_id=event.id)
