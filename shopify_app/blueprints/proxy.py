"""Storefront requests through the Shopify app proxy (`/apps/sms/...` -> `/proxy/...`).

Every route is behind the proxy signature; the shop comes from the signed query. A storefront
`<form>` gets a Liquid page (rendered by Shopify inside the theme) in which every value a
shopper supplied is escaped for HTML and for Liquid; JSON clients get JSON. What a shopper reads
comes from `storefront_text` in the form's language: an error is one plain sentence per field
(never a schema's developer wording), in the page and in the JSON error shape alike.
"""

from __future__ import annotations

from typing import Any

from flask import Blueprint, Response, current_app, g, jsonify, make_response, request
from marshmallow import ValidationError

from ..errors import AppError, BadRequest, Conflict, ValidationFailed, error_response
from ..extensions import db
from ..models import Shop
from ..schemas.signup import BackInStockSchema, SignupSchema
from ..security.decorators import app_proxy_verified
from ..security.link_tokens import Purpose, link_url, make_link_token, read_link_token
from ..services.automations import stock
from ..services.contacts import join_page, signup
from ..services.contacts.contacts import contact_phone
from ..services.contacts.phones import mask_phone
from ..services.shops.settings import default_region, load_settings
from ..storefront_text import choose_language, say
from .liquid import JoinPage, liquid_escape, render_join_page

bp = Blueprint("proxy", __name__, url_prefix="/proxy")
LIQUID = "application/liquid"
LANGUAGE_KEY = "sms_blossom.storefront_language"


def wants_json() -> bool:
    return request.is_json or request.accept_mimetypes.best_match(["application/json", "text/html"]) == (
        "application/json"
    )


def _raw_form() -> dict[str, Any]:
    """The posted fields as sent, for choosing the language and naming problems; {} for a body
    that is not a form or a JSON object (or that the door refused)."""
    try:
        payload = request.get_json(silent=True) if request.is_json else request.form.to_dict()
    except AppError:
        return {}
    return payload if isinstance(payload, dict) else {}


def language() -> str:
    """The shopper's language (storefront_text.choose_language), chosen once per request: kept
    in the request's environ, since `g` lives as long as the app context, which can span
    several requests."""
    if LANGUAGE_KEY not in request.environ:
        locale = _raw_form().get("locale") or request.args.get("locale")
        request.environ[LANGUAGE_KEY] = choose_language(locale, request.headers.get("Accept-Language"))
    return str(request.environ[LANGUAGE_KEY])


def render(status: int, *, title: str, message: str, data: dict[str, Any], form: str = "") -> Response:
    if wants_json():
        response = jsonify(data)
        response.status_code = status
        return _in_language(response)
    body = (
        f'<div class="sms-blossom" lang="{language()}"><h2>{liquid_escape(title)}</h2>'
        f"<p>{liquid_escape(message)}</p>{form}</div>"
    )
    response = make_response(body, status)
    response.mimetype = LIQUID
    return _in_language(response)


def _in_language(response: Response) -> Response:
    response.headers["Content-Language"] = language()
    response.vary.add("Accept-Language")
    return response


def storefront_ip() -> str | None:
    """The shopper's IP: the X-Forwarded-For entry Shopify's proxy appended, behind our own
    TRUSTED_PROXY_COUNT load-balancer hops (entries further left are client-supplied)."""
    hops = current_app.config["TRUSTED_PROXY_COUNT"]
    forwarded = [part.strip() for part in request.headers.get("X-Forwarded-For", "").split(",") if part.strip()]
    if len(forwarded) >= hops + 1:
        return forwarded[-(hops + 1)]
    return request.remote_addr


# Problems a shopper can fix, by field; any other field is the theme's (or a bot's) doing.
FIELD_PROBLEMS = {
    "consent": "consent_required",
    "email": "email_invalid",
    "birthday": "birthday_invalid",
    "first_name": "name_invalid",
    "last_name": "name_invalid",
    "variant_id": "product_invalid",
    "product_title": "product_invalid",
}
# Every other refusal on these routes, by error code.
CODE_PROBLEMS = {
    "rate_limited": "too_many_attempts",
    "signup_countries_required": "signup_unavailable",
    "shop_not_found": "signup_unavailable",
    "invalid_link": "link_invalid",
    "contact_not_found": "link_invalid",
    "invalid_signature": "page_expired",
    "stale_signature": "page_expired",
    "duplicate_params": "page_expired",
    "invalid_body": "form_invalid",
    "invalid_input": "form_invalid",
    "invalid_json": "form_invalid",
    "disclosure_changed": "disclosure_changed",
}


def _field_problem(name: str, messages: object) -> str:
    if name != "phone":
        return FIELD_PROBLEMS.get(name, "form_invalid")
    if not str(_raw_form().get("phone") or "").strip():
        return "phone_required"
    if isinstance(messages, list) and signup.COUNTRY_REFUSED in messages:
        return "phone_country"
    return "phone_invalid"


def plain_fields(fields_: dict[str, Any]) -> dict[str, list[str]]:
    """{field: [the developer's messages]} -> {field: [one plain sentence in the shopper's language]}."""
    return {str(name): [say(_field_problem(str(name), messages), language())] for name, messages in fields_.items()}


@bp.errorhandler(AppError)
def proxy_error(exc: AppError) -> Response:
    fields_ = exc.details.get("fields") if isinstance(exc.details, dict) else None
    if isinstance(fields_, dict) and fields_:
        problems = plain_fields(fields_)
        details = {**exc.details, "fields": problems}
        title = say("check_form_title", language())
        message = " ".join(dict.fromkeys(sentence for sentences in problems.values() for sentence in sentences))
    else:
        details = exc.details
        title = say("sorry_title", language())
        message = say(CODE_PROBLEMS.get(exc.code, "something_wrong"), language())
    if wants_json():
        return _in_language(error_response(exc.status, exc.code, message, details, exc.headers))
    response = render(exc.status, title=title, message=message, data={})
    for name, value in exc.headers.items():
        response.headers[name] = value
    return response


@bp.errorhandler(ValidationError)
def proxy_validation_error(exc: ValidationError) -> Response:
    messages = exc.messages if isinstance(exc.messages, dict) else {"_schema": exc.messages}
    return proxy_error(ValidationFailed(details={"fields": messages}))


@bp.get("/", strict_slashes=False)
@app_proxy_verified
def ping() -> Response:
    """Lets a merchant (or the CLI) confirm the proxy is wired: answers with the signed shop."""
    return jsonify({"status": "ok", "shop": g.shop_domain})


@bp.post("/subscribe")
@app_proxy_verified
def subscribe() -> Response:
    form = SignupSchema().load(_form_payload())
    shop = signup.installed_shop(g.shop_domain)
    _consent_as_shown(form, shop)
    result = signup.sign_up(shop=shop, form=form, ip=storefront_ip(), user_agent=request.user_agent.string)
    if result.state.value == "subscribed":
        return render(
            200,
            title=say("subscribed_title", language()),
            message=say("already_subscribed", language()),
            data={"status": "subscribed"},
        )
    return render(
        201, title=say("pending_title", language()), message=say("pending", language()), data={"status": "pending"}
    )


def _consent_as_shown(form: dict[str, Any], shop: Shop) -> None:
    """A form from the join page stores the disclosure that page showed (rendered again here for
    the shop, the form's version and language), never a consent_text it posted. The page posts
    the fingerprint of the words it showed: a page rendered before the merchant changed them (or
    the shop's name) is refused, so the stored consent never differs from the consent shown."""
    if form["join_form"] is None:
        return
    shown = join_page.disclosure(shop=shop, version=form["join_form"], language=language())
    if form["disclosure_digest"] != shown.digest:
        raise Conflict(
            "The sign-up terms changed after this page was shown; reload it and sign up again.",
            code="disclosure_changed",
        )
    form["consent_text"] = shown.text


def _form_payload() -> dict[str, Any]:
    payload = request.get_json(silent=True) if request.is_json else request.form.to_dict()
    if not isinstance(payload, dict):
        raise BadRequest("The sign-up must be a form or a JSON object.", code="invalid_body")
    return payload


@bp.get("/join")
@app_proxy_verified
def join() -> Response:
    """The hosted join page (`/apps/sms/join`), rendered by Shopify inside the shop's theme."""
    shop = signup.installed_shop(g.shop_domain)
    allowed = signup.allowed_countries(shop)  # none chosen: the page says sign-up is unavailable
    home = (default_region(shop) or "").upper()
    countries = ([home] if home in allowed else []) + sorted(allowed - {home})
    settings = load_settings(shop)
    lang = language()
    page = JoinPage(
        action=f"{current_app.config['APP_PROXY_PATH'].rstrip('/')}/subscribe",
        form_version=join_page.CURRENT_FORM,
        language=lang,
        headline=settings["join_headline"] or say("join_headline", lang, shop=join_page.shop_name(shop)),
        incentive=settings["join_incentive"],
        countries=tuple(countries),
        labels={
            name: say(f"join_{name}" if name == "button" else f"join_{name}_label", lang)
            for name in ("country", "phone", "first_name", "email", "birthday", "button")
        },
        disclosure=join_page.disclosure(shop=shop, language=lang),
        button_color=settings["join_button_color"],
        button_text_color=settings["join_button_text_color"],
    )
    response = make_response(render_join_page(page), 200)
    response.mimetype = LIQUID
    return _in_language(response)


@bp.post("/back-in-stock")
@app_proxy_verified
def back_in_stock() -> Response:
    """Text me when this variant is back: consent as for a sign-up (a new number confirms by
    double opt-in first), then one text when stock returns."""
    form = BackInStockSchema().load(_form_payload())
    shop = signup.installed_shop(g.shop_domain)
    _consent_as_shown(form, shop)
    result = signup.sign_up(shop=shop, form=form, ip=storefront_ip(), user_agent=request.user_agent.string)
    created = stock.request_notification(
        shop=shop, contact=result.contact, variant_id=form["variant_id"], product_title=form["product_title"]
    )
    db.session.commit()
    pending = result.state.value != "subscribed"
    return render(
        201 if created else 200,
        title=say("stock_title", language()),
        message=say("stock_pending" if pending else "stock_waiting", language()),
        data={"status": "waiting", "subscription": result.state.value},
    )


@bp.get("/confirm")
@app_proxy_verified
def confirm_page() -> Response:
    """A page with one button: link scanners and previews fetch GET URLs, so GET alone never
    subscribes (consent must be the shopper's own act)."""
    return _button_page("confirm")


@bp.post("/confirm")
@app_proxy_verified
def confirm() -> Response:
    shop = signup.installed_shop(g.shop_domain)
    claims = read_link_token("confirm", request.args.get("t"))
    contact = signup.confirm(shop=shop, claims=claims, ip=storefront_ip(), user_agent=request.user_agent.string)
    return render(
        200,
        title=say("confirmed_title", language()),
        message=say("confirmed", language()),
        data={"status": contact.consent_state.value},
    )


def _button_form(purpose: Purpose, token: str | None, *, label: str) -> str:
    """A form POSTing back to the same signed link (Shopify's proxy signs the query again)."""
    action = link_url(purpose, liquid_escape(token))
    return f'<form method="post" action="{action}"><button type="submit">{liquid_escape(label)}</button></form>'


def _button_page(purpose: Purpose) -> Response:
    """The GET of a texted link: the shopper's masked number, and one button that POSTs back to
    the same signed link, which alone acts (`<purpose>_title`, `_question`, `_button` in the
    storefront text)."""
    shop = signup.installed_shop(g.shop_domain)
    token = request.args.get("t")
    contact = signup.contact_for_preferences(shop=shop, claims=read_link_token(purpose, token))
    phone = mask_phone(contact_phone(contact))
    return render(
        200,
        title=say(f"{purpose}_title", language()),
        message=say(f"{purpose}_question", language(), phone=phone),
        data={"phone": phone, "consent_state": contact.consent_state.value},
        form=_button_form(purpose, token, label=say(f"{purpose}_button", language())),
    )


@bp.get("/unsubscribe")
@app_proxy_verified
def unsubscribe_page() -> Response:
    """A page with one button: link previews fetch GET URLs, so GET alone never unsubscribes."""
    return _button_page("unsubscribe")


@bp.post("/unsubscribe")
@app_proxy_verified
def unsubscribe() -> Response:
    shop = signup.installed_shop(g.shop_domain)
    claims = read_link_token("unsubscribe", request.args.get("t"))
    contact = signup.unsubscribe(shop=shop, claims=claims, ip=storefront_ip(), user_agent=request.user_agent.string)
    return render(
        200,
        title=say("unsubscribed_title", language()),
        message=say("unsubscribed", language()),
        data={"status": contact.consent_state.value},
    )


@bp.get("/preferences")
@app_proxy_verified
def preferences() -> Response:
    shop = signup.installed_shop(g.shop_domain)
    contact = signup.contact_for_preferences(shop=shop, claims=read_link_token("preferences", request.args.get("t")))
    unsubscribe_token = make_link_token("unsubscribe", contact_id=contact.id, shop_id=shop.id)
    state = contact.consent_state.value
    link = link_url("unsubscribe", unsubscribe_token)
    phone = mask_phone(contact_phone(contact))
    return render(
        200,
        title=say("preferences_title", language()),
        message=say(f"preferences_{state}", language(), phone=phone),
        data={"phone": phone, "consent_state": state, "unsubscribe_url": link},
        form=(
            f'<a href="{liquid_escape(link)}">{liquid_escape(say("unsubscribe_button", language()))}</a>'
            if state != "unsubscribed"
            else ""
        ),
    )
