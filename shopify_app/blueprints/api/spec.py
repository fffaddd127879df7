"""What each /api operation takes and answers, for the OpenAPI document (flask-smorest/apispec).

The views parse with the same marshmallow schemas (`json_body`, `query_args`); this table tells
the spec which ones. tests/test_openapi.py fails when an /api route has no entry here, and
schemathesis checks the answers against it.
"""

from __future__ import annotations

from functools import cache
from typing import Any

from marshmallow import Schema, fields

from ...schemas.ab_tests import AbTestInSchema, AbTestSchema, WinnerInSchema
from ...schemas.automations import AutomationRunSchema, AutomationSchema, AutomationUpdateSchema, ReplyInSchema
from ...schemas.billing import BillingOverviewSchema, CreditPackSchema, LedgerEntrySchema, SubscribeSchema
from ...schemas.campaign_cohorts import CohortListSchema
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
from ...schemas.commerce_filters import (
    BackfillStartSchema,
    OrderBackfillSchema,
    ProductQuerySchema,
    SeenProductSchema,
)
from ...schemas.contacts import (
    ConsentEventSchema,
    ContactCreateSchema,
    ContactListQuerySchema,
    ContactMessageSchema,
    ContactSchema,
    ContactUpdateSchema,
    TagsSchema,
)
from ...schemas.discounts import DiscountCreateSchema, DiscountSchema
from ...schemas.flows import (
    FlowCatalogSchema,
    FlowCreateSchema,
    FlowReportSchema,
    FlowRunDetailSchema,
    FlowRunQuerySchema,
    FlowRunSchema,
    FlowSchema,
    FlowSummarySchema,
    FlowTemplateSchema,
    FlowUpdateSchema,
)
from ...schemas.home import HomeSchema
from ...schemas.inbox import InboundSchema, MarkReadInSchema, MarkReadSchema, ReplyResultSchema, ThreadPageSchema
from ...schemas.media import MediaSchema, MediaUploadedSchema
from ...schemas.privacy import CustomerLookupSchema, PrivacyRequestSchema
from ...schemas.reports import AuditEntrySchema, ReportFormatSchema, SummaryQuerySchema
from ...schemas.segments import (
    SegmentCountSchema,
    SegmentCreateSchema,
    SegmentFiltersSchema,
    SegmentSchema,
    SegmentUpdateSchema,
)
from ...schemas.senders import ShopSendersSchema
from ...schemas.settings import ShopSettingsSchema, ShopSettingsUpdateSchema
from ...schemas.shop import SetupSchema, ShopSchema
from ...schemas.signup import SignupLinksSchema
from ...schemas.spend import SpendControlsSchema, SpendSettingsUpdateSchema, UsageCapRaisedSchema, UsageCapRaiseSchema
from ...schemas.transfers import TransferSchema


class ApiErrorBodySchema(Schema):
    code = fields.String(required=True)
    message = fields.String(required=True)
    details = fields.Dict(required=True)


class ApiErrorSchema(Schema):
    """Every error this API answers: `{"error": {"code", "message", "details"}}`."""

    error = fields.Nested(ApiErrorBodySchema, required=True)


@cache
def page_of(item: type[Schema]) -> type[Schema]:
    """`{"items": [item], "next_cursor": str | null}` (cursor-paginated lists)."""
    return Schema.from_dict(
        {"items": fields.List(fields.Nested(item), required=True), "next_cursor": fields.String(allow_none=True)},
        name=item.__name__.removesuffix("Schema") + "PageSchema",
    )


@cache
def list_of(item: type[Schema]) -> type[Schema]:
    """`{"items": [item]}` (short lists, no cursor)."""
    return Schema.from_dict(
        {"items": fields.List(fields.Nested(item), required=True)},
        name=item.__name__.removesuffix("Schema") + "ListSchema",
    )


# endpoint -> body / query schema, success status, success schema (None: documented without one).
# `also_accepts`: older body shapes still loaded (documented with the body as `anyOf`).
OPERATIONS: dict[str, dict[str, Any]] = {
    "api.get_shop": {"ok": (200, ShopSchema)},
    "api.home": {"ok": (200, HomeSchema)},
    "api.get_setup": {"ok": (200, SetupSchema)},
    "api.list_automations": {"ok": (200, list_of(AutomationSchema))},
    "api.get_automation": {"ok": (200, AutomationSchema)},
    "api.update_automation": {"body": AutomationUpdateSchema, "ok": (200, AutomationSchema)},
    "api.list_runs": {"query": ListQuerySchema, "ok": (200, page_of(AutomationRunSchema))},
    "api.overview": {"query": ListQuerySchema, "ok": (200, BillingOverviewSchema)},
    "api.credit_ledger": {"query": ListQuerySchema, "ok": (200, page_of(LedgerEntrySchema))},
    "api.subscribe": {"body": SubscribeSchema, "ok": (201, None)},
    "api.buy_credit_pack": {"body": CreditPackSchema, "ok": (201, None)},
    "api.spend_controls": {"ok": (200, SpendControlsSchema)},
    "api.update_spend_controls": {"body": SpendSettingsUpdateSchema, "ok": (200, SpendControlsSchema)},
    "api.raise_usage_cap": {"body": UsageCapRaiseSchema, "ok": (201, UsageCapRaisedSchema)},
    "api.list_templates": {"ok": (200, list_of(TemplateSchema))},
    "api.create_template": {"body": TemplateInSchema, "ok": (201, TemplateSchema)},
    "api.get_template": {"ok": (200, TemplateSchema)},
    "api.update_template": {"body": TemplateUpdateSchema, "ok": (200, TemplateSchema)},
    "api.delete_template": {"ok": (204, None)},
    "api.preview_template": {"body": PreviewInSchema, "ok": (200, None)},
    "api.list_campaigns": {"query": ListQuerySchema, "ok": (200, page_of(CampaignSchema))},
    "api.create_campaign": {"body": CampaignCreateSchema, "ok": (201, CampaignSchema)},
    "api.get_campaign": {"ok": (200, CampaignSchema)},
    "api.update_campaign": {"body": CampaignUpdateSchema, "ok": (200, CampaignSchema)},
    "api.delete_campaign": {"ok": (204, None)},
    "api.estimate_campaign": {"ok": (200, None)},
    "api.launch_campaign": {"body": LaunchSchema, "optional_body": True, "ok": (200, CampaignSchema)},
    "api.pause_campaign": {"ok": (200, CampaignSchema)},
    "api.resume_campaign": {"ok": (200, CampaignSchema)},
    "api.cancel_campaign": {"ok": (200, CampaignSchema)},
    "api.test_send_campaign": {"body": TestSendInSchema, "ok": (202, TestSendSchema)},
    "api.list_test_sends": {"query": ListQuerySchema, "ok": (200, page_of(TestSendSchema))},
    "api.list_messages": {"query": MessageListQuerySchema, "ok": (200, page_of(MessageSchema))},
    "api.get_ab_test": {"ok": (200, AbTestSchema)},
    "api.put_ab_test": {"body": AbTestInSchema, "ok": (200, AbTestSchema)},
    "api.delete_ab_test": {"ok": (204, None)},
    "api.pick_ab_test_winner": {"body": WinnerInSchema, "ok": (200, AbTestSchema)},
    "api.list_cohorts": {"ok": (200, CohortListSchema)},
    "api.list_contacts": {"query": ContactListQuerySchema, "ok": (200, page_of(ContactSchema))},
    "api.create_contact": {"body": ContactCreateSchema, "ok": (201, ContactSchema), "also": (200,)},
    "api.get_contact": {"ok": (200, ContactSchema)},
    "api.update_contact": {"body": ContactUpdateSchema, "ok": (200, ContactSchema)},
    "api.delete_contact": {"ok": (204, None)},
    "api.add_tags": {"body": TagsSchema, "ok": (200, ContactSchema)},
    "api.remove_tag": {"ok": (200, ContactSchema)},
    "api.consent_events": {"ok": (200, list_of(ConsentEventSchema))},
    "api.contact_messages": {"query": ListQuerySchema, "ok": (200, page_of(ContactMessageSchema))},
    "api.create_import": {"multipart": "import", "ok": (202, TransferSchema), "also": (200, 201)},
    "api.get_import": {"ok": (200, TransferSchema)},
    "api.current_shopify_import": {"ok": (200, TransferSchema), "also": (204,)},
    "api.start_shopify_import": {"ok": (202, TransferSchema), "also": (200,)},
    "api.create_export": {"query": ContactListQuerySchema, "ok": (202, TransferSchema)},
    "api.get_export": {"ok": (200, TransferSchema)},
    "api.download_export": {"ok": (200, None), "content": "text/csv"},
    "api.list_discounts": {"query": ListQuerySchema, "ok": (200, page_of(DiscountSchema))},
    "api.create_discount": {"body": DiscountCreateSchema, "ok": (201, DiscountSchema)},
    "api.get_discount": {"ok": (200, DiscountSchema)},
    "api.upload_media": {"multipart": "media", "ok": (201, MediaUploadedSchema)},
    "api.get_media": {"ok": (200, MediaSchema)},
    "api.list_threads": {"query": ListQuerySchema, "ok": (200, ThreadPageSchema)},
    "api.mark_thread_read": {"body": MarkReadInSchema, "optional_body": True, "ok": (200, MarkReadSchema)},
    "api.thread": {"query": ListQuerySchema, "ok": (200, page_of(InboundSchema))},
    "api.reply_to_contact": {"body": ReplyInSchema, "ok": (202, ReplyResultSchema)},
    "api.list_privacy_requests": {"ok": (200, list_of(PrivacyRequestSchema))},
    "api.download_privacy_export": {"ok": (200, None)},
    "api.request_customer_export": {"body": CustomerLookupSchema, "ok": (202, PrivacyRequestSchema)},
    "api.erase_customer": {"body": CustomerLookupSchema, "ok": (200, PrivacyRequestSchema)},
    "api.campaign_report": {
        "query": ReportFormatSchema,
        "ok": (200, None),
        "content": ("application/json", "text/csv"),
    },
    "api.summary_report": {"query": SummaryQuerySchema, "ok": (200, None), "content": ("application/json", "text/csv")},
    "api.audit_log": {"query": ListQuerySchema, "ok": (200, page_of(AuditEntrySchema))},
    "api.list_segments": {"ok": (200, list_of(SegmentSchema))},
    "api.create_segment": {"body": SegmentCreateSchema, "ok": (201, SegmentSchema)},
    "api.get_segment": {"ok": (200, SegmentSchema)},
    "api.update_segment": {"body": SegmentUpdateSchema, "ok": (200, SegmentSchema)},
    "api.delete_segment": {"ok": (204, None)},
    "api.count_segment": {"ok": (200, None)},
    "api.count_filters": {
        "body": SegmentCountSchema,
        "also_accepts": (SegmentFiltersSchema,),
        "body_description": (
            'The body POST /api/segments takes: {"filters": {...}}, with an optional name that is '
            "ignored. The filters object alone (the second shape) is deprecated but still accepted."
        ),
        "ok": (200, None),
    },
    "api.segment_products": {"query": ProductQuerySchema, "ok": (200, list_of(SeenProductSchema))},
    "api.current_order_backfill": {"ok": (200, OrderBackfillSchema), "also": (204,)},
    "api.start_order_backfill": {
        "body": BackfillStartSchema,
        "optional_body": True,
        "ok": (202, OrderBackfillSchema),
        "also": (200,),
    },
    "api.get_settings": {"ok": (200, ShopSettingsSchema)},
    "api.list_shop_senders": {"ok": (200, ShopSendersSchema)},
    "api.update_settings": {"body": ShopSettingsUpdateSchema, "ok": (200, ShopSettingsSchema)},
    "api.signup_links": {"ok": (200, SignupLinksSchema)},
    "api.signup_qr_svg": {"ok": (200, None), "content": "image/svg+xml"},
    "api.signup_qr_png": {"ok": (200, None), "content": "image/png"},
    "api.list_flows": {"query": ListQuerySchema, "ok": (200, page_of(FlowSummarySchema))},
    "api.flow_catalog": {"ok": (200, FlowCatalogSchema)},
    "api.flow_templates": {"ok": (200, list_of(FlowTemplateSchema))},
    "api.create_flow": {"body": FlowCreateSchema, "ok": (201, FlowSchema)},
    "api.get_flow": {"ok": (200, FlowSchema)},
    "api.update_flow": {"body": FlowUpdateSchema, "ok": (200, FlowSchema)},
    "api.delete_flow": {"ok": (204, None)},
    "api.list_flow_runs": {"query": FlowRunQuerySchema, "ok": (200, page_of(FlowRunSchema))},
    "api.get_flow_run": {"ok": (200, FlowRunDetailSchema)},
    "api.flow_report": {"ok": (200, FlowReportSchema)},
}

# What any operation may answer besides its success (all in the error shape).
ERRORS = {
    400: "Malformed request (not JSON, a bad cursor)",
    401: "Missing or invalid session token",
    402: "Not enough credits",
    404: "Not found, or another shop's",
    409: "Conflict with the current state",
    410: "Gone (an export already downloaded)",
    413: "The upload is too large",
    422: "Validation failed (details.fields names each problem)",
    429: "Rate limited (Retry-After)",
    502: "Shopify refused a billing or discount request",
    503: "A dependency is unavailable",
}


# The multipart bodies: a CSV of contacts, an MMS image (JPEG, PNG or GIF by its bytes, at most 5 MB).
UPLOADS: dict[str, dict[str, Any]] = {
    "import": {
        "type": "object",
        "properties": {
            "file": {"type": "string", "format": "binary"},
            "consent_attestation": {
                "type": "string",
                "enum": ["true", "yes", "on", "1"],
                "description": "The merchant confirms every shopper the file subscribes agreed to SMS marketing.",
            },
        },
        "required": ["file", "consent_attestation"],
    },
    "media": {
        "type": "object",
        "properties": {
            "file": {
                "type": "string",
                "format": "binary",
                "description": "A JPEG, PNG or GIF (by its bytes), at most 5 MB; stored re-encoded, at most 1 MB.",
            }
        },
        "required": ["file"],
    },
}


def _content(schema: type[Schema] | None, types: str | tuple[str, ...] = "application/json") -> dict[str, Any]:
    types = (types,) if isinstance(types, str) else types
    return {kind: ({"schema": schema} if schema is not None and kind == "application/json" else {}) for kind in types}


def operation_doc(endpoint: str) -> dict[str, Any]:
    """The OpenAPI operation fragment for one endpoint (merged into smorest's manual doc)."""
    entry = OPERATIONS[endpoint]
    status, schema = entry["ok"]
    content = entry.get("content", "application/json")
    responses: dict[str, Any] = {}
    for code in (status, *entry.get("also", ())):
        responses[str(code)] = (
            {"description": "Success"}
            if code == 204
            else {
                "description": "Success",
                "content": _content(schema, content),
            }
        )
    for code, description in ERRORS.items():
        responses[str(code)] = {"description": description, "content": _content(ApiErrorSchema)}
    doc: dict[str, Any] = {"responses": responses, "security": [{"sessionToken": []}]}
    if "body" in entry:
        body = {"anyOf": [entry["body"], *entry["also_accepts"]]} if "also_accepts" in entry else entry["body"]
        doc["requestBody"] = {
            "required": not entry.get("optional_body", False),
            "content": {"application/json": {"schema": body}},
        }
        if "body_description" in entry:
            doc["requestBody"]["description"] = entry["body_description"]
    if "multipart" in entry:
        upload = UPLOADS[entry["multipart"]]
        doc["requestBody"] = {"required": True, "content": {"multipart/form-data": {"schema": upload}}}
    if "query" in entry:
        doc["parameters"] = [{"in": "query", "schema": entry["query"]}]
    return doc
