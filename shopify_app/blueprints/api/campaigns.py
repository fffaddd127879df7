"""/api/templates and /api/campaigns."""

from __future__ import annotations

import json
import uuid

from flask import Response, g, jsonify, request

from ...models import Message, TestSend
from ...schemas.campaigns import (
    CampaignCreateSchema,
    CampaignSchema,
    CampaignUpdateSchema,
    LaunchSchema,
    ListQuerySchema,
    MessageListQuerySchema,
    MessageSchema,
    PreviewInSchema,
    TemplateInSchema,
    TemplateSchema,
    TemplateUpdateSchema,
    TestSendInSchema,
    TestSendSchema,
)
from ...security.masking import mask_phone
from ...services.campaigns import campaigns, templates, test_sends
from .blueprint import bp
from .common import audit_target, json_body, query_args

template_schema = TemplateSchema()
campaign_schema = CampaignSchema()


@bp.get("/templates")
def list_templates() -> Response:
    return jsonify({"items": template_schema.dump(templates.list_templates(shop=g.shop), many=True)})


@bp.post("/templates")
def create_template() -> tuple[Response, int]:
    template = templates.save_template(shop=g.shop, data=json_body(TemplateInSchema()))
    audit_target("template", template.id)
    return jsonify(template_schema.dump(template)), 201


@bp.get("/templates/<int:template_id>")
def get_template(template_id: int) -> Response:
    return jsonify(template_schema.dump(templates.get_template(shop=g.shop, template_id=template_id)))


@bp.patch("/templates/<int:template_id>")
def update_template(template_id: int) -> Response:
    data = json_body(TemplateUpdateSchema())
    template = templates.get_template(shop=g.shop, template_id=template_id)
    return jsonify(template_schema.dump(templates.save_template(shop=g.shop, data=data, template=template)))


@bp.delete("/templates/<int:template_id>")
def delete_template(template_id: int) -> tuple[str, int]:
    templates.delete_template(shop=g.shop, template_id=template_id)
    return "", 204


@bp.post("/templates/preview")
def preview_template() -> Response:
    return jsonify(templates.preview(shop=g.shop, **json_body(PreviewInSchema())))


def _campaign_view(campaign: object) -> dict[str, object]:
    view = dict(campaign_schema.dump(campaign))
    view["counters"] = campaigns.counters(campaign)  # type: ignore[arg-type]
    view["credits"] = campaigns.credit_figures(campaign)  # type: ignore[arg-type]
    return view


@bp.get("/campaigns")
def list_campaigns() -> Response:
    """A page of campaigns, newest first, each with its messages' `counters` per state (the
    list shows delivered and failed without a request per row)."""
    rows, next_cursor = campaigns.list_campaigns(shop=g.shop, **query_args(ListQuerySchema()))
    figures = campaigns.counters_for([row.id for row in rows])
    items = [{**campaign_schema.dump(row), "counters": figures[row.id]} for row in rows]
    return jsonify({"items": items, "next_cursor": next_cursor})


@bp.post("/campaigns")
def create_campaign() -> tuple[Response, int]:
    campaign = campaigns.create_campaign(shop=g.shop, data=json_body(CampaignCreateSchema()))
    audit_target("campaign", campaign.id)
    return jsonify(_campaign_view(campaign)), 201


@bp.get("/campaigns/<int:campaign_id>")
def get_campaign(campaign_id: int) -> Response:
    return jsonify(_campaign_view(campaigns.get_campaign(shop=g.shop, campaign_id=campaign_id)))


@bp.patch("/campaigns/<int:campaign_id>")
def update_campaign(campaign_id: int) -> Response:
    data = json_body(CampaignUpdateSchema())
    return jsonify(_campaign_view(campaigns.update_campaign(shop=g.shop, campaign_id=campaign_id, data=data)))


@bp.delete("/campaigns/<int:campaign_id>")
def delete_campaign(campaign_id: int) -> tuple[str, int]:
    campaigns.delete_campaign(shop=g.shop, campaign_id=campaign_id)
    return "", 204


@bp.get("/campaigns/<int:campaign_id>/estimate")
def estimate_campaign(campaign_id: int) -> Response:
    campaign = campaigns.get_campaign(shop=g.shop, campaign_id=campaign_id)
    return jsonify(campaigns.estimate(shop=g.shop, campaign=campaign))


@bp.post("/campaigns/<int:campaign_id>/launch")
def launch_campaign(campaign_id: int) -> Response:
    data = json_body(LaunchSchema()) if _has_body() else {}
    campaign = campaigns.launch(shop=g.shop, campaign_id=campaign_id, send_at=data.get("send_at"))
    return jsonify(_campaign_view(campaigns.get_campaign(shop=g.shop, campaign_id=campaign.id)))


@bp.post("/campaigns/<int:campaign_id>/pause")
def pause_campaign(campaign_id: int) -> Response:
    return jsonify(_campaign_view(campaigns.pause(shop=g.shop, campaign_id=campaign_id)))


@bp.post("/campaigns/<int:campaign_id>/resume")
def resume_campaign(campaign_id: int) -> Response:
    return jsonify(_campaign_view(campaigns.resume(shop=g.shop, campaign_id=campaign_id)))


@bp.post("/campaigns/<int:campaign_id>/cancel")
def cancel_campaign(campaign_id: int) -> Response:
    return jsonify(_campaign_view(campaigns.cancel(shop=g.shop, campaign_id=campaign_id)))


@bp.get("/campaigns/<int:campaign_id>/messages")
def list_messages(campaign_id: int) -> Response:
    """Recipients' messages, e.g. `?state=unknown` for the ones an operator must resolve."""
    args = query_args(MessageListQuerySchema())
    rows, next_cursor = campaigns.list_messages(
        shop=g.shop, campaign_id=campaign_id, state=args.get("state"), limit=args["limit"], cursor=args["cursor"]
    )
    return jsonify({"items": MessageSchema(many=True).dump(rows), "next_cursor": next_cursor})


def _has_body() -> bool:
    return bool(request.get_data(cache=True).strip())


@bp.post("/campaigns/<int:campaign_id>/test-send")
def test_send_campaign(campaign_id: int) -> tuple[Response, int]:
    """Send the campaign's text, rendered for a sample shopper, to the merchant's own phone,
    through the send path (services/test_sends.py): 202 with the message's state; 409 for an
    opted-out number, 402 without the credits, 429 past the day's limit. An `Idempotency-Key`
    header makes a retried request answer the first test instead of sending another."""
    campaigns.get_campaign(shop=g.shop, campaign_id=campaign_id)  # another shop's id: 404 before the body
    phone = json_body(TestSendInSchema())["phone"]
    key = (request.headers.get("Idempotency-Key") or "").strip()[:100] or uuid.uuid4().hex
    test, message = test_sends.send_test(shop=g.shop, campaign_id=campaign_id, phone=phone, key=key)
    return jsonify(TestSendSchema().dump(_test_view(test, message, test_sends.daily_usage(g.shop)))), 202


@bp.get("/campaigns/<int:campaign_id>/test-sends")
def list_test_sends(campaign_id: int) -> Response:
    """The campaign's tests, newest first, each with its message's state as it is now."""
    args = query_args(ListQuerySchema())
    rows, next_cursor = test_sends.list_tests(
        shop=g.shop, campaign_id=campaign_id, limit=args["limit"], cursor=args["cursor"]
    )
    usage = test_sends.daily_usage(g.shop)  # the shop's, the same for every row: counted once
    items = [_test_view(test, message, usage) for test, message in rows]
    return jsonify({"items": TestSendSchema(many=True).dump(items), "next_cursor": next_cursor})


def _test_view(test: TestSend, message: Message, usage: tuple[int, int]) -> dict[str, object]:
    used, limit = usage
    return {
        "id": test.id,
        "campaign_id": test.campaign_id,
        "message_id": message.id,
        "phone": mask_phone(json.loads(test.context)["phone"]),
        "state": message.state.value,
        "skip_reason": message.skip_reason,
        "error_code": message.error_code,
        "segments": message.segments,
        "credits": message.credits,
        "sent_at": message.sent_at,
        "delivered_at": message.delivered_at,
        "created_at": test.created_at,
        "daily_limit": limit,
        "sent_today": used,
    }
