"""Shopify Flow's calls to us: the trigger lifecycle callback and our actions' runs.

Both are signed like webhooks (`X-Shopify-Hmac-SHA256`: base64 HMAC-SHA256 of the raw body with
the app's secret), checked before anything is parsed; the shop is the payload's
`shopify_domain`, which the signature covers. An action run is recorded once and answered 200
at once (Flow waits 10 s, then retries for 24 hours); its job does the work. When the job
cannot be enqueued the answer is 503, so Flow retries and the retry enqueues it.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any, TypeVar, cast

import structlog
from flask import Blueprint, Response, jsonify, request
from redis.exceptions import RedisError

from ..errors import BadRequest, ServiceUnavailable, Unauthorized
from ..inputs import parse_json
from ..schemas.shopify_flow import AddTagActionSchema, LifecycleSchema, SendSmsActionSchema
from ..security.decorators import api_secrets
from ..security.hmac import webhook_hmac_is_valid
from ..security.shop_domain import normalise_shop_domain
from ..services.shopify_flow import actions, lifecycle
from ..services.shopify_flow.definitions import ADD_SUBSCRIBER_TAG, SEND_SMS
from ..tenancy import enter_shop

bp = Blueprint("shopify_flow", __name__)
log = structlog.get_logger(__name__)
F = TypeVar("F", bound=Callable[..., Any])


def flow_verified(view: F) -> F:
    """A request from Shopify Flow: the raw body's HMAC first, then the body as a JSON object."""

    @functools.wraps(view)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        body = request.get_data(cache=True)
        if not webhook_hmac_is_valid(body, request.headers.get("X-Shopify-Hmac-Sha256"), secrets=api_secrets()):
            raise Unauthorized("Shopify Flow HMAC verification failed.", code="invalid_hmac")
        try:
            payload = parse_json(body)
        except ValueError:
            raise BadRequest("The body is not JSON.", code="invalid_json") from None
        if not isinstance(payload, dict):
            raise BadRequest("The body must be a JSON object.", code="invalid_json")
        return view(payload, *args, **kwargs)

    return cast(F, wrapper)


@bp.post("/shopify-flow/lifecycle")
@flow_verified
def trigger_lifecycle(payload: dict[str, Any]) -> Response:
    data = LifecycleSchema().load(payload)
    shop = lifecycle.installed_shop(normalise_shop_domain(data["shopify_domain"]))
    enter_shop(shop.id)
    outcome = lifecycle.record_callback(
        shop=shop,
        definition_id=data["flow_trigger_definition_id"],
        enabled=data["has_enabled_flow"],
        at=data["timestamp"],
    )
    return jsonify({"status": outcome})


@bp.post("/shopify-flow/actions/send-sms")
@flow_verified
def send_sms(payload: dict[str, Any]) -> Response:
    return _accept(SEND_SMS, SendSmsActionSchema().load(payload))


@bp.post("/shopify-flow/actions/add-subscriber-tag")
@flow_verified
def add_subscriber_tag(payload: dict[str, Any]) -> Response:
    return _accept(ADD_SUBSCRIBER_TAG, AddTagActionSchema().load(payload))


def _accept(handle: str, data: dict[str, Any]) -> Response:
    shop = lifecycle.installed_shop(normalise_shop_domain(data["shopify_domain"]))
    enter_shop(shop.id)
    action_id, status = actions.record_action(
        shop=shop, handle=handle, action_run_id=data["action_run_id"], properties=data["properties"]
    )
    if status == "accepted" or actions.needs_run(action_id):
        try:
            actions.enqueue(shop_id=shop.id, action_id=action_id)
        except RedisError:
            log.warning("shopify_flow_enqueue_failed", shop_id=shop.id, action_id=action_id)
            raise ServiceUnavailable("The action is recorded but could not be queued; retry.") from None
    return jsonify({"status": status})
