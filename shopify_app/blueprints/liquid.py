"""Liquid pages for the storefront: Shopify renders what the app proxy answers as
`application/liquid` inside the shop's theme.

Every value that is not ours (a shopper's input, the merchant's headline, the shop's name) goes
through `liquid_escape`: escaped for HTML, with Liquid's braces turned into entities so Shopify
prints them rather than running them. The only Liquid evaluated is written here, as constants.
"""

from __future__ import annotations

import html
from dataclasses import dataclass

import phonenumbers

from ..services.contacts.join_page import Disclosure

# The shop's policy pages: Shopify's policy objects where the merchant wrote them, else the
# fixed storefront paths (which Shopify answers with the policy or its own page).
POLICY_URLS = {
    "terms": "{{ shop.terms_of_service.url | default: '/policies/terms-of-service' }}",
    "privacy": "{{ shop.privacy_policy.url | default: '/policies/privacy-policy' }}",
}
# Mobile first: one column, full-width controls, large enough to tap; no script anywhere.
STYLE = (
    "<style>"
    ".sms-join{max-width:32rem;margin:0 auto;padding:1rem}"
    ".sms-join__field{display:flex;flex-direction:column;gap:.25rem;margin:0 0 1rem}"
    ".sms-join__field input,.sms-join__field select{width:100%;min-height:2.75rem;font-size:1rem}"
    ".sms-join__phone{display:grid;grid-template-columns:minmax(6rem,auto) 1fr;gap:.5rem}"
    ".sms-join__consent{display:flex;gap:.5rem;align-items:flex-start;margin:0 0 1rem;font-size:.875rem}"
    ".sms-join__consent input{min-width:1.25rem;min-height:1.25rem;margin-top:.15rem}"
    ".sms-join__submit{width:100%;min-height:2.75rem}"
    "</style>"
)


def liquid_escape(value: object) -> str:
    """HTML-escape, then neutralise Liquid delimiters so Shopify renders the text literally."""
    return html.escape(str(value), quote=True).replace("{", "&#123;").replace("}", "&#125;")


@dataclass(frozen=True)
class JoinPage:
    """What the join page shows; every string here is plain text (escaped when rendered)."""

    action: str  # the storefront path of POST /proxy/subscribe
    form_version: str
    language: str
    headline: str
    incentive: str | None
    countries: tuple[str, ...]  # the allowed ones, the default first
    labels: dict[str, str]  # country, phone, first_name, email, birthday, button
    disclosure: Disclosure
    button_color: str | None  # #rrggbb (settings schema), else the theme's button
    button_text_color: str | None


def _country_options(countries: tuple[str, ...]) -> str:
    options = []
    for index, code in enumerate(countries):
        calling = phonenumbers.country_code_for_region(code)
        label = f"{code} +{calling}" if calling else code
        selected = " selected" if index == 0 else ""
        options.append(f'<option value="{liquid_escape(code)}"{selected}>{liquid_escape(label)}</option>')
    return "".join(options)


def _disclosure_html(disclosure: Disclosure) -> str:
    parts = []
    for text, link in disclosure.pieces:
        if link is None:
            parts.append(liquid_escape(text))
        else:
            parts.append(f'<a href="{POLICY_URLS[link]}" target="_blank" rel="noopener">{liquid_escape(text)}</a>')
    return "".join(parts)


def _field(name: str, label: str, control: str) -> str:
    return f'<div class="sms-join__field"><label for="sms-join-{name}">{liquid_escape(label)}</label>{control}</div>'


def _button_style(page: JoinPage) -> str:
    colours = {"background": page.button_color, "color": page.button_text_color}
    style = ";".join(f"{prop}:{colour}" for prop, colour in colours.items() if colour)
    return f' style="{liquid_escape(style)}"' if style else ""


def render_join_page(page: JoinPage) -> str:
    """The join page as Liquid: a plain form POSTing to the sign-up, working with JavaScript off."""
    labels = page.labels
    incentive = f'<p class="sms-join__incentive">{liquid_escape(page.incentive)}</p>' if page.incentive else ""
    phone = (
        '<div class="sms-join__phone">'
        f'<select id="sms-join-country" name="country" autocomplete="country" '
        f'aria-label="{liquid_escape(labels["country"])}">{_country_options(page.countries)}</select>'
        '<input id="sms-join-phone" name="phone" type="tel" inputmode="tel" autocomplete="tel-national" '
        'maxlength="40" required></div>'
    )
    return (
        f'<div class="sms-blossom sms-join" lang="{liquid_escape(page.language)}">{STYLE}'
        f'<h2 class="sms-join__headline">{liquid_escape(page.headline)}</h2>{incentive}'
        f'<form method="post" action="{liquid_escape(page.action)}" class="sms-join__form">'
        f'<input type="hidden" name="join_form" value="{liquid_escape(page.form_version)}">'
        f'<input type="hidden" name="locale" value="{liquid_escape(page.language)}">'
        f'<input type="hidden" name="disclosure_digest" value="{liquid_escape(page.disclosure.digest)}">'
        + _field("phone", labels["phone"], phone)
        + _field(
            "first_name",
            labels["first_name"],
            '<input id="sms-join-first_name" name="first_name" autocomplete="given-name" maxlength="100">',
        )
        + _field("email", labels["email"], '<input id="sms-join-email" name="email" type="email" autocomplete="email">')
        + _field(
            "birthday",
            labels["birthday"],
            '<input id="sms-join-birthday" name="birthday" type="date" autocomplete="bday">',
        )
        + '<div class="sms-join__consent">'
        '<input id="sms-join-consent" name="consent" type="checkbox" value="on" required>'
        f'<label for="sms-join-consent" class="sms-join__disclosure">{_disclosure_html(page.disclosure)}</label>'
        "</div>"
        f'<button type="submit" class="button sms-join__submit"{_button_style(page)}>'
        f"{liquid_escape(labels['button'])}</button>"
        "</form></div>"
    )
