"""Short links: every allowed URL in a message becomes `SHOPIFY_APP_URL/r/<code>`, per message.

A link may point only to the shop's own domain, a host the shop listed (`link_hosts`) or a
host the operator allows for everyone (`SHORT_LINK_HOSTS`); others are left as written and
`/r/<code>` refuses to redirect anywhere else (400), so the service is never an open redirect.
Links to the app proxy (unsubscribe, preferences) are not shortened: they carry their own
signed tokens and are not marketing clicks. Clicks store time and user agent, and a keyed hash
of the address, never the address.
"""

from __future__ import annotations

import re
import secrets
from collections.abc import Callable, Iterable
from typing import Any
from urllib.parse import urlsplit

import structlog
from sqlalchemy import Connection, select, update

from ...bulk import bulk_insert
from ...config import current_config
from ...errors import BadRequest, NotFound
from ...extensions import db
from ...models import Click, Contact, Shop, ShortLink
from ...models.types import utcnow
from ...security.crypto import aad_for, keyring
from ..campaigns import report_cache
from ..pixel.browse_links import with_browse_token
from ..shops.settings import load_settings

log = structlog.get_logger(__name__)

URL = re.compile(r"https?://[^\s<>\"']+")
TRAILING = ".,;:!?)]}'\""
CODE_BYTES = 6  # 8 URL-safe characters: 2^48 codes


def _base() -> str:
    return str(current_config()["SHOPIFY_APP_URL"]).rstrip("/") + "/r/"


def short_url_length() -> int:
    return len(_base()) + len(secrets.token_urlsafe(CODE_BYTES))


def allowed_hosts(shop: Shop) -> set[str]:
    configured = str(current_config().get("SHORT_LINK_HOSTS") or "")
    hosts = {h.strip().lower() for h in configured.split(",") if h.strip()}
    hosts.update(h.lower() for h in load_settings(shop)["link_hosts"])
    hosts.add(shop.domain.lower())
    hosts.add(_host(str(current_config()["SHOPIFY_APP_URL"])))  # the app's own pages: an MMS image's link
    return hosts


def _host(url: str) -> str:
    try:
        return (urlsplit(url).hostname or "").lower()
    except ValueError:
        return ""


def _shortenable(url: str, hosts: set[str]) -> bool:
    try:
        parts = urlsplit(url)
        host = (parts.hostname or "").lower()
        url.encode("utf-8")  # a lone surrogate can be neither sealed nor sent
    except ValueError:  # a malformed URL ("http://[", a bad port), UnicodeEncodeError: left as written
        return False
    proxy = str(current_config()["APP_PROXY_PATH"]).rstrip("/")
    return parts.scheme == "https" and host in hosts and not parts.path.startswith(proxy + "/")


def _urls(text: str) -> Iterable[tuple[int, int, str]]:
    for match in URL.finditer(text):
        url = match.group(0).rstrip(TRAILING)
        yield match.start(), match.start() + len(url), url


def shorten(
    text: str, *, shop: Shop, hosts: set[str], campaign_id: int, message_id: int, contact_id: int | None
) -> tuple[str, list[dict[str, Any]]]:
    """`text` with each shortenable URL replaced, and the link rows to insert (url sealed)."""
    if "://" not in text:  # no URL (most texts): skip the scan and the per-text setup
        return text, []
    return shorten_runs(
        [(text, True)], shop=shop, hosts=hosts, campaign_id=campaign_id, message_id=message_id, contact_id=contact_id
    )


def shorten_runs(
    runs: Iterable[tuple[str, bool]],
    *,
    shop: Shop,
    hosts: set[str],
    campaign_id: int,
    message_id: int,
    contact_id: int | None,
) -> tuple[str, list[dict[str, Any]]]:
    """The text of `runs` (`templating.render_runs`: (text, may hold links)) joined, each
    shortenable URL of a run that may hold links replaced; the others (a shopper's name) are
    kept as written. The link rows to insert (url sealed)."""
    rows: list[dict[str, Any]] = []
    pieces: list[str] = []
    now = utcnow()
    aad = aad_for(table="short_links", column="url", shop_id=shop.id)
    for text, may_link in runs:
        position = 0
        for start, end, url in _urls(text) if may_link and "://" in text else ():
            if not _shortenable(url, hosts):
                continue
            code = secrets.token_urlsafe(CODE_BYTES)
            pieces += [text[position:start], _base() + code]
            position = end
            rows.append(
                {
                    "code": code,
                    "shop_id": shop.id,
                    "campaign_id": campaign_id,
                    "message_id": message_id,
                    "contact_id": contact_id,
                    "url_ciphertext": keyring().encrypt(url, aad=aad),
                    "created_at": now,
                }
            )
        pieces.append(text[position:])
    return "".join(pieces), rows


def estimation_body(body: str, *, shop: Shop) -> str:
    """`body` with each URL a send would shorten replaced by as many "x" as the longer of it and
    a short link: the estimate stays an upper bound, and a shop name inside the URL does not
    count as the name the message must carry (the short link will not show it)."""
    hosts = allowed_hosts(shop)
    short = short_url_length()
    result, position = [], 0
    for start, end, url in _urls(body):
        if _shortenable(url, hosts):
            result += [body[position:start], "x" * max(short, len(url))]
            position = end
    return "".join(result) + body[position:]


def store(rows: list[dict[str, Any]], *, connection: Connection | None = None) -> None:
    if rows:
        bulk_insert(ShortLink.__table__, rows, connection=connection)


# Who hears of a click (Shopify Flow's trigger): packages above sending register with
# `when_clicked`, since this module cannot import them. Each runs in the click's transaction.
_click_listeners: dict[str, Callable[[Click, ShortLink], None]] = {}


def when_clicked(listener: Callable[[Click, ShortLink], None]) -> Callable[[Click, ShortLink], None]:
    """Decorator: `listener(click, link)` runs inside `follow`, before its commit (the click flushed)."""
    _click_listeners[f"{listener.__module__}.{listener.__qualname__}"] = listener
    return listener


def follow(*, code: str, user_agent: str | None, ip: str | None) -> str:
    """Record a click on `code` and return where to send the shopper (400 if not allowed); a
    contact's link to the shop's storefront carries the contact's browse token (pixel/browse_links.py)."""
    link = db.session.scalar(select(ShortLink).where(ShortLink.code == code))
    if link is None:
        raise NotFound("This link does not exist.", code="link_not_found")
    shop = db.session.get(Shop, link.shop_id)
    url = link.url
    if shop is None or not url or _host(url) not in allowed_hosts(shop) or not url.startswith("https://"):
        log.warning("short_link_target_refused", shop_id=link.shop_id, link_id=link.id)
        raise BadRequest("This link points somewhere it may not.", code="link_target_not_allowed")
    now = utcnow()
    click = Click(
        shop_id=link.shop_id,
        short_link_id=link.id,
        campaign_id=link.campaign_id,
        message_id=link.message_id,
        contact_id=link.contact_id,
        clicked_at=now,
        user_agent=(user_agent or None) and user_agent[:255],
        ip_hash=keyring().blind_index(ip, kind="ip", shop_id=link.shop_id) if ip else None,
    )
    db.session.add(click)
    if link.contact_id is not None:
        db.session.execute(
            update(Contact).where(Contact.id == link.contact_id).values(last_clicked_at=now),
            execution_options={"synchronize_session": False},
        )
    if _click_listeners:
        db.session.flush()
        for listener in _click_listeners.values():
            listener(click, link)
    db.session.commit()
    report_cache.invalidate(link.shop_id)
    return with_browse_token(url, shop=shop, contact_id=link.contact_id)
