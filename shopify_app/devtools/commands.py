"""`flask dev ...`: play Shopify and Mitto against a running app, in development only.

Each command is thin: signing is `signing.py`'s, samples are `webhook_samples.py`'s, database
look-ups are `local.py`'s. The ones that send POST to the running app (`--url`, default
SHOPIFY_APP_URL, which is where `make run` serves) and exit 1 unless it answers 2xx.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable, Iterable
from datetime import UTC, datetime
from typing import Any, TypeVar
from urllib.parse import parse_qsl, urlsplit

import click
import requests
from flask import current_app
from flask.cli import AppGroup, with_appcontext

from ..errors import BadRequest
from ..security.shop_domain import normalise_shop_domain
from ..services.billing.credits import balance
from ..services.ops.demo import install_offline
from .local import LocalDataError, provider_message_ids, shop_number
from .signing import (
    ProxyParams,
    encode_session_token,
    proxy_query_string,
    session_token_claims,
    signed_proxy_params,
    webhook_body,
    webhook_headers,
)
from .webhook_samples import BY_TOPIC, sample

DEFAULT_SHOP = "demo-shop.myshopify.com"
SAMPLE_TIMES = ("created_at", "updated_at")
REFUSED = (
    "`flask dev` is for development only: it signs requests with the app's own secrets. APP_ENV=production refuses it."
)
F = TypeVar("F", bound=Callable[..., Any])


@click.group("dev", cls=AppGroup)
@with_appcontext
def dev_group() -> None:
    """Development only: sign requests as Shopify does and play what Shopify and Mitto send.

    Refused with APP_ENV=production. See the README's "Trying it locally"."""
    if current_app.config["APP_ENV"] == "production":
        raise click.ClickException(REFUSED)


def _shop_domain(value: str, *, param_hint: str = "--shop") -> str:
    try:
        return normalise_shop_domain(value)
    except BadRequest:
        raise click.BadParameter(f"{value!r} is not a <handle>.myshopify.com domain", param_hint=param_hint) from None


def shop_option(view: F) -> F:
    return click.option(
        "--shop",
        default=DEFAULT_SHOP,
        show_default=True,
        callback=lambda _ctx, _param, value: _shop_domain(value),
        help="The shop's myshopify domain.",
    )(view)


def url_option(view: F) -> F:
    return click.option(
        "--url", "app_url", default=None, metavar="URL", help="The running app. Default: SHOPIFY_APP_URL."
    )(view)


@dev_group.command("install")
@shop_option
def install(shop: str) -> None:
    """What installing through Shopify leaves behind, without Shopify: the shop, an offline
    token (a development one Shopify never issued) and the trial credits."""
    row, stored = install_offline(domain=shop)
    token = "development offline token stored" if stored else "its offline token kept"
    click.echo(f"{shop} installed (id={row.id}): {token}; credit balance {balance(shop_id=row.id)}")


@dev_group.command("token")
@shop_option
@click.option("--user-id", default="1", show_default=True, help="The staff member (`sub`), the actor in the audit log.")
@click.option(
    "--expires-in",
    type=click.IntRange(1, 24 * 3600),
    default=3600,
    show_default=True,
    help="Seconds. App Bridge's tokens last one minute; a longer one saves asking again.",
)
def token(shop: str, user_id: str, expires_in: int) -> None:
    """Print a session token for SHOP, as App Bridge would send it (Authorization: Bearer ...)."""
    config = current_app.config
    claims = session_token_claims(shop, api_key=config["SHOPIFY_API_KEY"], expires_in=expires_in, user_id=user_id)
    click.echo(encode_session_token(claims, config["SHOPIFY_API_SECRET"]))


@dev_group.command("proxy-url")
@shop_option
@click.option("--path", default=None, help="The app's path the storefront request reaches. Default: /proxy/")
@click.option(
    "--link",
    default=None,
    metavar="URL",
    help="A storefront link from a text (https://<shop>/apps/sms/confirm?t=...): its shop, path and query.",
)
@click.option("--param", "params", multiple=True, metavar="KEY=VALUE", help="A query parameter (repeatable).")
@url_option
def proxy_url(shop: str, path: str | None, link: str | None, params: tuple[str, ...], app_url: str | None) -> None:
    """Print the URL Shopify's app proxy would request for a storefront page, signed (valid
    for SIGNATURE_MAX_AGE_SECONDS, 90 s by default)."""
    extra: ProxyParams = {}
    if link is not None:
        if path is not None:
            raise click.UsageError("Give --path or --link, not both.")
        shop, path, extra = _from_storefront_link(link)
    path = path or "/proxy/"
    if path != "/proxy" and not path.startswith("/proxy/"):
        raise click.BadParameter("the app proxy forwards to the app's /proxy/... paths", param_hint="--path")
    for key, value in _pairs(params, "--param"):
        _add(extra, key, value)
    config = current_app.config
    signed = signed_proxy_params(
        shop_domain=shop, secret=config["SHOPIFY_API_SECRET"], path_prefix=config["APP_PROXY_PATH"], extra=extra
    )
    click.echo(f"{_base_url(app_url)}{path}?{proxy_query_string(signed)}")


def _from_storefront_link(link: str) -> tuple[str, str, ProxyParams]:
    """A link as texted (`https://<shop><APP_PROXY_PATH>/<page>?<query>`) as the proxy forwards it."""
    parts = urlsplit(link.strip())
    prefix = current_app.config["APP_PROXY_PATH"].rstrip("/")
    if parts.path != prefix and not parts.path.startswith(prefix + "/"):
        raise click.BadParameter(f"not a storefront link under {prefix}/", param_hint="--link")
    shop = _shop_domain(parts.hostname or "", param_hint="--link")
    extra: ProxyParams = {}
    for key, value in parse_qsl(parts.query, keep_blank_values=True):
        _add(extra, key, value)
    return shop, "/proxy" + (parts.path[len(prefix) :] or "/"), extra


def _add(params: ProxyParams, key: str, value: str) -> None:
    """Repeated keys become a list, signed as Shopify signs multi-values."""
    if key not in params:
        params[key] = value
        return
    existing = params[key]
    params[key] = [*existing, value] if isinstance(existing, list) else [existing, value]


@dev_group.command("webhook")
@click.argument("topic")
@shop_option
@click.option("--payload", "payload_file", type=click.File("rb"), help="A JSON body instead of the sample (- = stdin).")
@click.option(
    "--set",
    "changes",
    multiple=True,
    metavar="KEY=VALUE",
    help="Change a top-level field of the body (repeatable); VALUE is read as JSON when it is JSON, else as text.",
)
@url_option
def webhook(topic: str, shop: str, payload_file: Any, changes: tuple[str, ...], app_url: str | None) -> None:
    """Send TOPIC's webhook for SHOP, signed with the app's secret, to the running app.

    The body is the topic's sample (shopify_app/devtools/webhook_samples.py, its created_at and
    updated_at made now) unless --payload gives one."""
    if payload_file is not None:
        raw = payload_file.read()
        body = raw if not changes else webhook_body(_with_changes(_json_object(raw), changes))
    elif topic in BY_TOPIC:
        body = webhook_body(_with_changes(_happening_now(sample(topic, shop_domain=shop)), changes))
    else:
        raise click.BadParameter(
            f"no sample for {topic!r}; give --payload, or one of: {', '.join(sorted(BY_TOPIC))}", param_hint="TOPIC"
        )
    config = current_app.config
    headers = webhook_headers(
        topic=topic,
        body=body,
        shop_domain=shop,
        secret=config["SHOPIFY_API_SECRET"],
        api_version=config["SHOPIFY_API_VERSION"],
    )
    _post(f"{_base_url(app_url)}/webhooks/shopify", body=body, headers=headers)


def _json_object(raw: bytes) -> dict[str, Any]:
    try:
        data = json.loads(raw)
    except ValueError:
        raise click.BadParameter("not JSON", param_hint="--payload") from None
    if not isinstance(data, dict):
        raise click.BadParameter("--set needs a JSON object", param_hint="--payload")
    return data


def _happening_now(data: dict[str, Any]) -> dict[str, Any]:
    """A sample as Shopify would send it now: an order placed now counts for the campaign just
    sent (attribution windows), where the sample's fixed date would not."""
    now = datetime.now(UTC).isoformat(timespec="seconds")
    for key in SAMPLE_TIMES:
        if isinstance(data.get(key), str):
            data[key] = now
    return data


def _with_changes(data: dict[str, Any], changes: Iterable[str]) -> dict[str, Any]:
    for key, raw in _pairs(changes, "--set"):
        try:
            data[key] = json.loads(raw)
        except ValueError:
            data[key] = raw
    return data


@dev_group.command("reply")
@click.option("--from", "sender", required=True, metavar="PHONE", help="The shopper's number, E.164 (+1...).")
@click.option("--text", required=True, help="What the shopper texts: STOP, Y, START, HELP, anything.")
@shop_option
@click.option("--to", default=None, metavar="NUMBER", help="The number texted. Default: the shop's first number.")
@url_option
def reply(sender: str, text: str, shop: str, to: str | None, app_url: str | None) -> None:
    """Play a shopper's text to the shop, as Mitto posts it (POST /mitto/inbound/<secret>)."""
    number = to or _local(lambda: shop_number(shop))
    body = {"from": sender, "to": number, "text": text, "messageId": f"dev-{uuid.uuid4()}"}
    _post_to_mitto("inbound", body, app_url)


@dev_group.command("dlr")
@click.option("--message", "message_ids", type=int, multiple=True, help="Our message id (repeatable).")
@click.option("--campaign", "campaign_id", type=int, default=None, help="Every sent message of this campaign.")
@click.option("--status", default="delivered", show_default=True, help="delivered, failed, expired, rejected, ...")
@click.option("--error-code", default=None, help="Mitto's error code, for a failure.")
@url_option
def dlr(
    message_ids: tuple[int, ...], campaign_id: int | None, status: str, error_code: str | None, app_url: str | None
) -> None:
    """Play Mitto's delivery report for sent messages (POST /mitto/dlr/<secret>)."""
    if bool(message_ids) == (campaign_id is not None):
        raise click.UsageError("Give --message ID (repeatable) or --campaign ID.")
    ids = _local(lambda: provider_message_ids(message_ids=message_ids, campaign_id=campaign_id))
    reports = [
        {"messageId": provider_id, "deliveryStatus": status, **({"error": error_code} if error_code else {})}
        for provider_id in ids
    ]
    _post_to_mitto("dlr", reports, app_url)


def _local(call: Callable[[], Any]) -> Any:
    try:
        return call()
    except LocalDataError as exc:
        raise click.ClickException(str(exc)) from None


def _post_to_mitto(route: str, payload: Any, app_url: str | None) -> None:
    secret = current_app.config.get("MITTO_WEBHOOK_SECRET")
    if not secret:
        raise click.ClickException("MITTO_WEBHOOK_SECRET is not set, so the app has no Mitto callbacks")
    url = f"{_base_url(app_url)}/mitto/{route}/{secret}"
    _post(url, body=json.dumps(payload).encode(), headers={})


def _post(url: str, *, body: bytes, headers: dict[str, str]) -> None:
    """POST, print the answer's status and body; exit 1 unless it is 2xx."""
    try:
        response = requests.post(url, data=body, headers={**headers, "Content-Type": "application/json"}, timeout=60)
    except requests.ConnectionError:
        base = f"{urlsplit(url).scheme}://{urlsplit(url).netloc}"
        raise click.ClickException(f"nothing answers at {base}: start the app (make run), or pass --url") from None
    click.echo(f"{response.status_code} {response.text.strip()}")
    if not response.ok:
        raise click.exceptions.Exit(1)


def _base_url(app_url: str | None) -> str:
    return (app_url or current_app.config["SHOPIFY_APP_URL"]).rstrip("/")


def _pairs(items: Iterable[str], option: str) -> list[tuple[str, str]]:
    pairs = []
    for item in items:
        key, sep, value = item.partition("=")
        if not sep or not key:
            raise click.BadParameter(f"{item!r} is not KEY=VALUE", param_hint=option)
        pairs.append((key, value))
    return pairs
