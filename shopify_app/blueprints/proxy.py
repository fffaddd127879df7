"""Storefront requests through the Shopify app proxy (`/apps/sms/...` -> `/proxy/...`).

Every route is behind the proxy signature; the shop comes from the signed query. A storefront
`<form>` gets a Liquid page (rendered by Shopify inside the theme) in which every value a
shopper supplied is escaped for HTML and for Liquid; JSON clients get JSON.
"""

from __future__ import annotations

import html
from typing import Any

from flask import Blueprint, Response, current_app, g, jsonify, make_response, request
from marshmallow import ValidationError

from ..errors import AppError, BadRequest, ValidationFailed, error_response
from ..extensions import db
from ..schemas.signup import BackInStockSchema, SignupSchema
from ..security.decorators import app_proxy_verified
from ..security.link_tokens import Purpose, link_url, make_link_token, read_link_token
from ..services import signup, stock
from ..services.contacts import contact_phone
from ..services.phones import mask_phone

bp = Blueprint("proxy", __name__, url_prefix="/proxy")
LIQUID = "application/liquid"


def liquid_escape(value: object) -> str:
    """HTML-escape, then neutralise Liquid delimiters so Shopify renders the text literally."""
    return html.escape(str(value), quote=True).replace("{", "&#123;").replace("}", "&#125;")


def wants_json() -> bool:
    return request.is_json or request.accept_mimetypes.best_match(["application/json", "text/html"]) == (
        "application/json"
    )


def render(status: int, *, title: str, message: str, data: dict[str, Any], form: str = "") -> Response:
    if wants_json():
        response = jsonify(data)
        response.status_code = status
        return response
    body = f'<div class="sms-blossom"><h2>{liquid_escape(title)}</h2><p>{liquid_escape(message)}</p>{form}</div>'
    response = make_response(body, status)
    response.mimetype = LIQUID
    return response


def storefront_ip() -> str | None:
    """The shopper's IP: the X-Forwarded-For entry Shopify's proxy appended, behind our own
    TRUSTED_PROXY_COUNT load-balancer hops (entries further left are client-supplied)."""
    hops = current_app.config["TRUSTED_PROXY_COUNT"]
    forwarded = [part.strip() for part in request.headers.get("X-Forwarded-For", "").split(",") if part.strip()]
    if len(forwarded) >= hops + 1:
        return forwarded[-(hops + 1)]
    return request.remote_addr


@bp.errorhandler(AppError)
def proxy_error(exc: AppError) -> Response:
    if wants_json():
        return error_response(exc.status, exc.code, exc.message, exc.details, exc.headers)
    fields_ = exc.details.get("fields", {}) if isinstance(exc.details, dict) else {}
    problems = " ".join(" ".join(map(str, messages)) for messages in fields_.values()) or exc.message
    response = render(exc.status, title="Sorry", message=problems, data={})
    for name, value in exc.headers.items():
        response.headers[name] = value
    return response


@bp.errorhandler(ValidationError)
def proxy_validation_error(exc: ValidationError) -> Response:
    messages = exc.messages if isinstance(exc.messages, dict) else {"_schema": exc.messages}
    return proxy_error(ValidationFailed("Please check the form.", details={"fields": messages}))


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
    result = signup.sign_up(shop=shop, form=form, ip=storefront_ip(), user_agent=request.user_agent.string)
    if result.state.value == "subscribed":
        return render(
            200, title="You're subscribed", message="This number already gets our texts.", data={"status": "subscribed"}
        )
    return render(
        201,
        title="Almost there",
        message="We texted you a link: reply Y or tap it to confirm your subscription.",
        data={"status": "pending"},
    )


def _form_payload() -> dict[str, Any]:
    payload = request.get_json(silent=True) if request.is_json else request.form.to_dict()
    if not isinstance(payload, dict):
        raise BadRequest("The sign-up must be a form or a JSON object.", code="invalid_body")
    return payload


@bp.post("/back-in-stock")
@app_proxy_verified
def back_in_stock() -> Response:
    """Text me when this variant is back: consent as for a sign-up (a new number confirms by
    double opt-in first), then one text when stock returns."""
    form = BackInStockSchema().load(_form_payload())
    shop = signup.installed_shop(g.shop_domain)
    result = signup.sign_up(shop=shop, form=form, ip=storefront_ip(), user_agent=request.user_agent.string)
    created = stock.request_notification(
        shop=shop, contact=result.contact, variant_id=form["variant_id"], product_title=form["product_title"]
    )
    db.session.commit()
    pending = result.state.value != "subscribed"
    return render(
        201 if created else 200,
        title="We'll text you",
        message=(
            "We texted you a link: confirm your subscription and we'll tell you when it's back."
            if pending
            else "We'll text you once when it's back in stock."
        ),
        data={"status": "waiting", "subscription": result.state.value},
    )


@bp.get("/confirm")
@app_proxy_verified
def confirm_page() -> Response:
    """A page with one button: link scanners and previews fetch GET URLs, so GET alone never
    subscribes (consent must be the shopper's own act)."""
    return _button_page(
        "confirm", title="Confirm your subscription", question="Get our marketing texts at {}?", label="Confirm"
    )


@bp.post("/confirm")
@app_proxy_verified
def confirm() -> Response:
    shop = signup.installed_shop(g.shop_domain)
    claims = read_link_token("confirm", request.args.get("t"))
    contact = signup.confirm(shop=shop, claims=claims, ip=storefront_ip(), user_agent=request.user_agent.string)
    return render(
        200,
        title="Subscribed",
        message="Thanks! You will now receive our texts.",
        data={"status": contact.consent_state.value},
    )


def _button_form(purpose: Purpose, token: str | None, *, label: str) -> str:
    """A form POSTing back to the same signed link (Shopify's proxy signs the query again)."""
    action = link_url(purpose, liquid_escape(token))
    return f'<form method="post" action="{action}"><button type="submit">{liquid_escape(label)}</button></form>'


def _button_page(purpose: Purpose, *, title: str, question: str, label: str) -> Response:
    """The GET of a texted link: the shopper's masked number, and one button that POSTs back to
    the same signed link, which alone acts."""
    shop = signup.installed_shop(g.shop_domain)
    token = request.args.get("t")
    contact = signup.contact_for_preferences(shop=shop, claims=read_link_token(purpose, token))
    phone = mask_phone(contact_phone(contact))
    return render(
        200,
        title=title,
        message=question.format(phone),
        data={"phone": phone, "consent_state": contact.consent_state.value},
        form=_button_form(purpose, token, label=label),
    )


@bp.get("/unsubscribe")
@app_proxy_verified
def unsubscribe_page() -> Response:
    """A page with one button: link previews fetch GET URLs, so GET alone never unsubscribes."""
    return _button_page("unsubscribe", title="Unsubscribe", question="Stop marketing texts to {}?", label="Unsubscribe")


@bp.post("/unsubscribe")
@app_proxy_verified
def unsubscribe() -> Response:
    shop = signup.installed_shop(g.shop_domain)
    claims = read_link_token("unsubscribe", request.args.get("t"))
    contact = signup.unsubscribe(shop=shop, claims=claims, ip=storefront_ip(), user_agent=request.user_agent.string)
    return render(
        200,
        title="Unsubscribed",
        message="You will not receive marketing texts from us any more.",
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
        title="Your text preferences",
        message=f"{phone} is {state}.",
        data={"phone": phone, "consent_state": state, "unsubscribe_url": link},
        form=f'<a href="{liquid_escape(link)}">Unsubscribe</a>' if state != "unsubscribed" else "",
    )
