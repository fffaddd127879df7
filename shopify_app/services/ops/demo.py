"""The demo shop for local development (`flask seed-demo`, `make seed`): every screen and report
has something to show, and `/api` works with a session token and no Shopify behind it.

What it holds: an offline token that never expires (so no token exchange is tried), the trial
credits, a fictional +1 number, ~50 fictional contacts in mixed consent states with tags and
US/CA/GB/DE numbers, two segments, a template, a finished campaign with delivery reports,
clicks and an attributed order (services/demo_history.py), the welcome automation on, and an
inbox conversation. The numbers are ranges set aside for fiction: 555-01xx in North America,
Ofcom's London drama range 020 7946 0xxx, the Bundesnetzagentur's Berlin 030 23125 xxx.

Nothing is sent and no one is called: the campaign and the inbox reply are written as the send
path would have left them. Each piece is found by a natural key (the domain, a phone number, a
name, an idempotency key, a provider message id) and created only when missing, never changed
once there: running it again adds nothing, and what the merchant changed since stays changed.
Refused in production.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import structlog
from sqlalchemy import func, select, update

from ...config import current_config
from ...errors import Conflict
from ...extensions import db
from ...models import (
    Automation,
    AutomationKind,
    Campaign,
    CampaignKind,
    Click,
    ConsentEvent,
    ConsentSource,
    ConsentState,
    Contact,
    InboundMessage,
    Message,
    Order,
    Segment,
    Shop,
    Template,
)
from ...models.types import utcnow
from ...schemas.segments import SegmentFiltersSchema
from ...tenancy import privileged
from ..automations import automations
from ..billing import credits
from ..campaigns import report_cache
from ..campaigns.segments import save_segment
from ..campaigns.templates import save_template
from ..contacts.contacts import ConsentChange, apply_consent, create_or_merge, find_by_phone, is_suppressed, parse_phone
from ..sending import senders
from ..shops.shops import upsert_demo_shop
from ..shops.tokens import has_usable_offline_token
from . import demo_history

log = structlog.get_logger(__name__)

DEMO_DOMAIN = "demo-shop.myshopify.com"
DEMO_NUMBER = "+12015550100"  # fictional (555-01xx): the demo shop may text +1 numbers
NEWSLETTER_SEGMENT = "Newsletter subscribers"


class DemoRefused(Exception):
    """Seeding would put fictional data and a fake token into a real installation."""


@dataclass(frozen=True)
class Person:
    """A fictional contact and what happens to them in the demo's story."""

    phone: str
    first_name: str
    last_name: str
    tags: tuple[str, ...]
    story: str  # subscribed | pending | left_before (opted out before the campaign) | left_after
    source: ConsentSource


_FIRST = (
    "Ava Liam Mia Noah Emma Lucas Zoë Mateo Chloé Ethan Olivia Leo Amara Jack Sofia Omar Isla Hugo "
    "Priya Finn Lena Jonas Nora Elias Maya"
)
_LAST = (
    "Walker Chen Patel Nguyen Garcia Müller Smith Brown Rossi Kim Tremblay Roy Evans Hughes Schmidt "
    "Fischer Wright Lopez Martin Clarke Weber Singh Cohen Dubois Novak"
)
FIRST_NAMES, LAST_NAMES = tuple(_FIRST.split()), tuple(_LAST.split())
# (how many, E.164 of the n-th one): fictional ranges only (see the module's docstring).
COUNTRIES = (
    (24, lambda n: f"+1{('201', '212', '415')[n % 3]}5550{101 + n}"),
    (10, lambda n: f"+1{('416', '604')[n % 2]}5550{131 + n}"),
    (9, lambda n: f"+4420794600{11 + n}"),
    (7, lambda n: f"+493023125{101 + n}"),
)
SOURCES = (ConsentSource.PROXY_FORM, ConsentSource.IMPORT, ConsentSource.ADMIN, ConsentSource.SHOPIFY)
CONSENT_TEXT = "Yes, send me recurring marketing texts. Consent is not a condition of purchase. Reply STOP to opt out."


def _story(i: int) -> str:
    if i % 10 == 3:
        return "pending"
    if i % 10 == 7:
        return "left_before"
    return "left_after" if i in (5, 15, 25) else "subscribed"


def _tags(i: int) -> tuple[str, ...]:
    rules = (
        ("newsletter", i % 7 != 6),
        ("vip", i % 5 == 0),
        ("returning", i % 3 == 0),
        ("instagram", i % 4 == 1),
        ("wholesale", i % 9 == 8),
    )
    return tuple(tag for tag, applies in rules if applies)


def people() -> list[Person]:
    """The demo's contacts, always the same 50."""
    phones = [number(n) for count, number in COUNTRIES for n in range(count)]
    return [
        Person(
            phone=phone,
            first_name=FIRST_NAMES[i % len(FIRST_NAMES)],
            last_name=LAST_NAMES[(i * 7) % len(LAST_NAMES)],
            tags=_tags(i),
            story=_story(i),
            source=SOURCES[i % len(SOURCES)],
        )
        for i, phone in enumerate(phones)
    ]


def _inbox_people() -> tuple[str, str]:
    """Who texts the shop: a Canadian subscriber (asks about shipping there) and an American one."""
    subscribers = [person.phone for person in people() if person.story == "subscribed"]
    asker = next(phone for phone in subscribers if phone.startswith(("+1416", "+1604")))
    return asker, next(phone for phone in subscribers if phone.startswith("+1") and phone != asker)


# --- the whole seed ----------------------------------------------------------------------------


def seed(*, domain: str = DEMO_DOMAIN) -> DemoSummary:
    """Create what is missing of the demo shop; returns what it holds now."""
    if current_config()["APP_ENV"] == "production":
        raise DemoRefused(
            "seed-demo is refused with APP_ENV=production: it installs a shop with a fake offline "
            "token and fictional contacts."
        )
    with privileged():  # creating a tenant and its first rows, like an install
        shop = _shop(domain)
        created = _contacts(shop, launched_at=utcnow() - demo_history.CAMPAIGN_AGE)
        _segments(shop)
        template = _template(shop)
        demo_history.finished_campaign(shop, template=template, segment=_segment_named(shop, NEWSLETTER_SEGMENT))
        _opt_outs_after_the_campaign(created)
        _automations(shop)
        owner = senders.owner_of(DEMO_NUMBER)
        if owner is not None and owner.id == shop.id:  # shoppers text the shop at its number
            asker, other = _inbox_people()
            demo_history.inbox_conversation(shop, number=DEMO_NUMBER, asker=asker, other=other)
        report_cache.invalidate(shop.id)
        summary = summarise(shop)
    log.info("demo_shop_seeded", shop_id=shop.id, contacts_created=len(created))
    return summary


# Stored as the shop's offline token by `install_offline`. Shopify never issued it, so every
# Admin API call made with it fails (the README's "What needs a real store").
DEV_OFFLINE_TOKEN = "shpat_development_only_not_issued_by_shopify"  # noqa: S105 (public on purpose)


def install_offline(*, domain: str) -> tuple[Shop, bool]:
    """What installing the app leaves behind, without Shopify: the shop (a new one in the US,
    as Shopify's shop details would have said), an offline token (kept when one is usable) and
    the trial credits, granted once per shop as a real install does. Returns the shop and
    whether a token was stored."""
    shop = db.session.scalar(select(Shop).where(Shop.domain == domain))
    if shop is None:
        name = domain.removesuffix(".myshopify.com").replace("-", " ").title()
        shop = Shop(
            domain=domain, name=name, country_code="US", currency="USD", timezone="America/New_York", settings={}
        )
        db.session.add(shop)
    if shop.installed_at is None or shop.uninstalled_at is not None:
        shop.installed_at = utcnow()
    shop.uninstalled_at = None
    db.session.flush()
    stored = not has_usable_offline_token(shop)
    if stored:
        shop.access_token = DEV_OFFLINE_TOKEN
        shop.access_token_expires_at = None
        shop.refresh_token_ciphertext = None
        shop.refresh_token_expires_at = None
        shop.scopes = current_config()["SHOPIFY_SCOPES"]
        shop.needs_reauth = False
    trial = current_config()["TRIAL_CREDITS"]
    if trial:
        credits.grant(shop_id=shop.id, amount=trial, key="grant:trial", note="Trial credits")
    db.session.commit()
    return shop, stored


def _shop(domain: str) -> Shop:
    upsert_demo_shop(domain=domain)
    shop, _ = install_offline(domain=domain)
    try:
        senders.assign(number=DEMO_NUMBER, shop_domain=shop.domain, note="demo: fictional number")
    except Conflict:
        log.warning("demo_number_taken", shop_id=shop.id)
    return shop


# --- contacts ------------------------------------------------------------------------------------


@dataclass
class Created:
    contact: Contact
    person: Person


def _contacts(shop: Shop, *, launched_at: datetime) -> list[Created]:
    """The people not yet in the shop, with the consent history their story says, dated before
    the campaign (so they were subscribers when it went out). A number that opted out and was
    deleted stays suppressed: it is not brought back."""
    created: list[Created] = []
    for i, person in enumerate(people()):
        phone = parse_phone(shop, person.phone)
        if find_by_phone(shop=shop, e164=phone.e164) is not None or is_suppressed(shop=shop, e164=phone.e164):
            continue
        data = {"first_name": person.first_name, "last_name": person.last_name, "tags": list(person.tags)}
        state = ConsentState.PENDING if person.story == "pending" else ConsentState.SUBSCRIBED
        consent = ConsentChange(state=state, source=person.source, consent_text=CONSENT_TEXT)
        contact, _new = create_or_merge(shop=shop, phone=phone, data=data, consent=consent)
        joined = launched_at - timedelta(days=30) + timedelta(hours=11 * i)
        moments = [joined]
        if person.story == "left_before":
            left = ConsentChange(state=ConsentState.UNSUBSCRIBED, source=ConsentSource.UNSUBSCRIBE_LINK)
            apply_consent(contact, left)
            moments.append(launched_at - timedelta(days=2))
        db.session.commit()
        _date_history(contact, moments)
        created.append(Created(contact, person))
    return created


def _date_history(contact: Contact, moments: list[datetime]) -> None:
    """Move a new contact's creation and consent events to `moments` (oldest first)."""
    events = db.session.scalars(
        select(ConsentEvent.id).where(ConsentEvent.contact_id == contact.id).order_by(ConsentEvent.id)
    ).all()
    for event_id, moment in zip(events, moments, strict=False):
        db.session.execute(update(ConsentEvent).where(ConsentEvent.id == event_id).values(occurred_at=moment))
    values: dict[str, Any] = {"created_at": moments[0], "updated_at": moments[-1]}
    if contact.consented_at is not None:
        values["consented_at"] = moments[0]
    if contact.unsubscribed_at is not None:
        values["unsubscribed_at"] = moments[-1]
    db.session.execute(
        update(Contact).where(Contact.id == contact.id).values(**values),
        execution_options={"synchronize_session": False},
    )
    db.session.commit()
    db.session.expire(contact)


def _opt_outs_after_the_campaign(created: list[Created]) -> None:
    """A few recipients leave after the campaign, through its unsubscribe link (the report's
    opt-outs); only contacts made in this run, so a merchant's re-subscribe stays."""
    for item in created:
        if item.person.story == "left_after":
            apply_consent(
                item.contact, ConsentChange(state=ConsentState.UNSUBSCRIBED, source=ConsentSource.UNSUBSCRIBE_LINK)
            )
    db.session.commit()


# --- segments, template, automations -------------------------------------------------------------

SEGMENTS = (
    (NEWSLETTER_SEGMENT, {"consent_state": "subscribed", "tags_any": ["newsletter"]}),
    ("VIPs in North America", {"tags_any": ["vip"], "country_codes": ["US", "CA"]}),
)
TEMPLATE_NAME = "Spring sale"
TEMPLATE_BODY = (
    "Hi {{first_name}}! Our spring sale is on: 20% off everything this weekend. https://{domain}/collections/spring"
)


def _segment_named(shop: Shop, name: str) -> Segment | None:
    return db.session.scalar(select(Segment).where(Segment.shop_id == shop.id, Segment.name == name))


def _segments(shop: Shop) -> None:
    for name, raw in SEGMENTS:
        if _segment_named(shop, name) is None:
            save_segment(shop=shop, data={"name": name, "filters": SegmentFiltersSchema().load(raw)})


def _template(shop: Shop) -> Template:
    template = db.session.scalar(select(Template).where(Template.shop_id == shop.id, Template.name == TEMPLATE_NAME))
    if template is None:
        body = TEMPLATE_BODY.replace("{domain}", shop.domain)
        template = save_template(shop=shop, data={"name": TEMPLATE_NAME, "body": body})
    return template


def _automations(shop: Shop) -> None:
    """The automations, with welcome on the first time only: one the merchant turned off stays off.
    After the contacts, so the seeded subscribers are not welcomed."""
    first_time = not db.session.scalar(
        select(func.count()).where(Automation.shop_id == shop.id, Automation.kind.in_(automations.LISTED))
    )
    rows = automations.ensure_automations(shop)
    if first_time:
        welcome = next(row for row in rows if row.kind == AutomationKind.WELCOME)
        automations.update_automation(shop=shop, automation_id=welcome.id, data={"enabled": True})


# --- what it holds -------------------------------------------------------------------------------


@dataclass(frozen=True)
class DemoSummary:
    shop_id: int
    domain: str
    number: str | None
    contacts: dict[str, int]
    segments: int
    templates: int
    campaigns: int
    messages: int
    clicks: int
    orders: int
    automations_enabled: int
    inbox_threads: int
    credits: int

    def lines(self) -> list[str]:
        states = ", ".join(f"{count} {state}" for state, count in sorted(self.contacts.items()))
        return [
            f"demo shop ready: {self.domain} (id {self.shop_id})",
            f"  number: {self.number or f'none ({DEMO_NUMBER} belongs to another shop: no +1 texts, no inbox)'}",
            f"  contacts: {sum(self.contacts.values())} ({states})",
            f"  segments: {self.segments}, templates: {self.templates}, campaigns: {self.campaigns}",
            f"  messages: {self.messages}, clicks: {self.clicks}, orders: {self.orders}",
            f"  automations on: {self.automations_enabled}, inbox threads: {self.inbox_threads}",
            f"  credits: {self.credits}",
            'next: `make run`, then README.md "Trying it locally" (`.venv/bin/flask --app shopify_app dev token`)',
        ]


def _count(model: Any, *conditions: Any) -> int:
    return int(db.session.scalar(select(func.count()).select_from(model).where(*conditions)) or 0)


def summarise(shop: Shop) -> DemoSummary:
    by_state = db.session.execute(
        select(Contact.consent_state, func.count()).where(Contact.shop_id == shop.id).group_by(Contact.consent_state)
    ).all()
    numbers = senders.owned_numbers(shop_id=shop.id)
    threads = db.session.scalar(
        select(func.count(func.distinct(InboundMessage.contact_id))).where(
            InboundMessage.shop_id == shop.id, InboundMessage.contact_id.is_not(None)
        )
    )
    return DemoSummary(
        shop_id=shop.id,
        domain=shop.domain,
        number=DEMO_NUMBER if DEMO_NUMBER in numbers else None,
        contacts={ConsentState(state).value: int(count) for state, count in by_state},
        segments=_count(Segment, Segment.shop_id == shop.id),
        templates=_count(Template, Template.shop_id == shop.id),
        campaigns=_count(Campaign, Campaign.shop_id == shop.id, Campaign.kind == CampaignKind.BROADCAST),
        messages=_count(Message, Message.shop_id == shop.id),
        clicks=_count(Click, Click.shop_id == shop.id),
        orders=_count(Order, Order.shop_id == shop.id),
        automations_enabled=_count(
            Automation, Automation.shop_id == shop.id, Automation.enabled, Automation.kind.in_(automations.LISTED)
        ),
        inbox_threads=int(threads or 0),
        credits=credits.balance(shop_id=shop.id),
    )
