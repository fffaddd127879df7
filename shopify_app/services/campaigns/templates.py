"""Saved message templates, the live preview, and the sample discount code a preview or a test
send shows."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from ...errors import Conflict, ValidationFailed
from ...extensions import db
from ...models import Discount, DiscountKind, Shop, Template
from ..sending.rendering import TemplateError, render, validate_template
from ..sending.templating import compliant_text, segment_info
from ..shops.owned import owned
from .audience import unsubscribe_url

SAMPLE_CODE_SUFFIX = "-TESTCODE"  # a per-recipient code's shape, plainly not a real one


def _checked(body: str) -> str:
    try:
        validate_template(body)
    except TemplateError as exc:
        raise ValidationFailed(details={"fields": {"body": [exc.message]}}) from None
    return body


def get_template(*, shop: Shop, template_id: int) -> Template:
    return owned(Template, shop=shop, row_id=template_id, what="template")


def referenced_template(*, shop: Shop, template_id: int) -> Template:
    """A template a campaign or automation names: another shop's or a missing one is a 422 on
    `template_id` (the request is wrong, the resource it addresses exists)."""
    template = db.session.scalar(select(Template).where(Template.id == template_id, Template.shop_id == shop.id))
    if template is None:
        raise ValidationFailed(details={"fields": {"template_id": ["No such template."]}})
    return template


def list_templates(*, shop: Shop) -> list[Template]:
    return list(db.session.scalars(select(Template).where(Template.shop_id == shop.id).order_by(Template.name)))


def save_template(*, shop: Shop, data: Mapping[str, Any], template: Template | None = None) -> Template:
    template = template or Template(shop_id=shop.id)
    if "name" in data:
        template.name = data["name"]
    if "body" in data:
        template.body = _checked(data["body"])
    db.session.add(template)
    try:
        db.session.commit()
    except IntegrityError:
        db.session.rollback()
        raise Conflict(
            "A template with this name exists.", code="template_name_taken", details={"fields": {"name": ["Taken."]}}
        ) from None
    return template


def delete_template(*, shop: Shop, template_id: int) -> None:
    db.session.delete(get_template(shop=shop, template_id=template_id))
    db.session.commit()


def preview(
    *, shop: Shop, body: str, first_name: str, last_name: str, discount_code: str, discount_id: int | None = None
) -> dict[str, Any]:
    """What a recipient would receive: rendered, with shop name and opt-out, and its cost
    (encoding, characters, segments). `discount_id`: the code a test send of a campaign with
    that discount would show (422 on `discount_id` for another shop's or a missing one)."""
    if discount_id is not None:
        discount_code = _sample_code(shop, discount_id)
    shop_name = shop.name or shop.domain
    values = {
        "first_name": first_name,
        "last_name": last_name,
        "shop_name": shop_name,
        "discount_code": discount_code,
        "unsubscribe_url": unsubscribe_url(shop=shop, contact_id=0),
    }
    text = compliant_text(render(_checked(body), values), shop_name=shop_name)
    info = segment_info(text)
    return {"text": text, "encoding": info.encoding, "characters": info.characters, "segments": info.segments}


def _sample_code(shop: Shop, discount_id: int) -> str:
    discount = db.session.scalar(select(Discount).where(Discount.id == discount_id, Discount.shop_id == shop.id))
    if discount is None:
        raise ValidationFailed(details={"fields": {"discount_id": ["No such discount."]}})
    return sample_code(discount)


def sample_code(discount: Discount) -> str:
    """The code a preview or a test send shows: a shared code as it is, a per-recipient one as
    PREFIX-TESTCODE (the preview's and services/campaigns/test_sends.py's one rule)."""
    return discount.code if discount.kind == DiscountKind.SHARED else discount.code.upper() + SAMPLE_CODE_SUFFIX
