"""The hosted join page (`/apps/sms/join`): its consent disclosure, its links and its QR code.

The disclosure is rendered here, on the server, from the shop's name and settings in the
shopper's language; a sign-up from the page names the form's version and stores this text again,
never a text the form posted, so the consent kept is exactly the consent shown. The countries
the form accepts (`allowed_countries`) are decided here too, for sign-up and the theme blocks.
"""

from __future__ import annotations

import hashlib
import io
import string
from dataclasses import dataclass
from typing import Literal

import phonenumbers
import segno
import structlog

from ...config import current_config
from ...errors import Forbidden
from ...models import Shop
from ...storefront_text import say
from ..sending.senders import owned_numbers
from ..shops.settings import default_region, load_settings

log = structlog.get_logger(__name__)

# Form version -> the storefront_text key of the disclosure it shows. A new wording is a new
# version, so a page rendered before a change still stores what it showed.
DISCLOSURES = {"join-v1": "join_disclosure"}
CURRENT_FORM = "join-v1"
LINKS = {"terms": "join_terms", "privacy": "join_privacy"}
Link = Literal["terms", "privacy"]


@dataclass(frozen=True)
class Disclosure:
    """The disclosure as pieces of text, two of them links (terms, privacy); `text` is what it reads."""

    pieces: tuple[tuple[str, Link | None], ...]

    @property
    def text(self) -> str:
        return "".join(piece for piece, _link in self.pieces)

    @property
    def digest(self) -> str:
        """A short fingerprint of the text, posted back by the form that showed it: a sign-up whose
        page showed other words (rendered before the merchant changed them) is refused."""
        return digest(self.text)


def digest(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def shop_name(shop: Shop) -> str:
    return shop.name or shop.domain


def frequency(shop: Shop, language: str) -> str:
    """How often texts come: the merchant's wording, else the storefront's own in the language."""
    chosen = load_settings(shop)["signup_frequency_text"]
    return (chosen.strip().rstrip(".").strip() if chosen else "") or say("join_frequency", language)


def disclosure(*, shop: Shop, language: str, version: str = CURRENT_FORM) -> Disclosure:
    template = say(DISCLOSURES[version], language)  # no values given: the template itself
    values = {"shop": shop_name(shop), "frequency": frequency(shop, language)}
    pieces: list[tuple[str, Link | None]] = []
    for literal, name, _spec, _conversion in string.Formatter().parse(template):
        if literal:
            pieces.append((literal, None))
        if name in LINKS:
            pieces.append((say(LINKS[name], language), name))  # type: ignore[arg-type]
        elif name:
            pieces.append((values[name], None))
    return Disclosure(tuple(pieces))


def consent_text(*, shop: Shop, version: str, language: str) -> str:
    """What a sign-up from the join page (form `version`) stores as the consent it gave."""
    return disclosure(shop=shop, language=language, version=version).text


def allowed_countries(shop: Shop) -> set[str]:
    """Where sign-up texts may go: `signup_countries`, else the home country (`default_country`,
    else the shop's country from Shopify). With none of them every number is foreign, so none is
    accepted: each opt-in text costs the merchant money, foreign ones more (fail closed)."""
    configured = load_settings(shop)["signup_countries"]
    if configured:
        return set(configured)
    region = default_region(shop)
    if region:
        return {region.upper()}
    log.warning("signup_refused_no_countries", shop_id=shop.id)
    raise Forbidden(
        "This shop has not chosen which countries may sign up for texts yet.",
        code="signup_countries_required",
        details={"settings": ["signup_countries", "default_country"]},
    )


def join_url(shop: Shop) -> str:
    """The join page on the shop's storefront (the app proxy forwards it to GET /proxy/join)."""
    return f"https://{shop.domain}{str(current_config()['APP_PROXY_PATH']).rstrip('/')}/join"


def _display(number: str) -> str:
    try:
        parsed = phonenumbers.parse(number, None)
    except phonenumbers.NumberParseException:
        return number  # a short code
    return phonenumbers.format_number(parsed, phonenumbers.PhoneNumberFormat.INTERNATIONAL)


def text_to_join(shop: Shop) -> dict[str, str] | None:
    """ "Text JOIN to <number>": only with a join keyword and a number of the shop's own to text
    (the chosen sender when it is one, else its oldest); an alphanumeric name cannot be texted."""
    settings = load_settings(shop)
    keyword = settings["join_keyword"]
    numbers = owned_numbers(shop_id=shop.id)
    if not keyword or not numbers:
        return None
    number = settings["sender_id"] if settings["sender_id"] in numbers else numbers[0]
    keyword = keyword.upper()
    return {"keyword": keyword, "number": number, "text": f"Text {keyword} to {_display(number)}"}


def signup_links(shop: Shop) -> dict[str, object]:
    return {
        "join_url": join_url(shop),
        "qr_svg_url": "/api/signup/qr.svg",
        "qr_png_url": "/api/signup/qr.png",
        "text_to_join": text_to_join(shop),
    }


def qr_code(shop: Shop, kind: Literal["svg", "png"]) -> bytes:
    """The join page's URL as a QR code (segno; error correction M survives a printed smudge)."""
    buffer = io.BytesIO()
    segno.make(join_url(shop), error="m").save(buffer, kind=kind, scale=10, border=4)
    return buffer.getvalue()
