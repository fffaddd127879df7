"""/api/campaigns/<id>/ab-test: a campaign's A/B test (services/campaigns/ab_tests.py)."""

from __future__ import annotations

from flask import Response, g, jsonify

from ...schemas.ab_tests import AbTestInSchema, AbTestSchema, WinnerInSchema
from ...services.campaigns import ab_tests, campaigns
from .blueprint import bp
from .common import json_body

ab_test_schema = AbTestSchema()


def _view(campaign_id: int) -> Response:
    return jsonify(ab_test_schema.dump(ab_tests.report(shop=g.shop, campaign_id=campaign_id)))


@bp.get("/campaigns/<int:campaign_id>/ab-test")
def get_ab_test(campaign_id: int) -> Response:
    """The test's settings and status, and each variant's figures with the significance of the
    difference (live until the decision, then the figures it was decided on)."""
    return _view(campaign_id)


@bp.put("/campaigns/<int:campaign_id>/ab-test")
def put_ab_test(campaign_id: int) -> Response:
    """Make the campaign (draft or scheduled) an A/B test, or change its test."""
    campaigns.get_campaign(shop=g.shop, campaign_id=campaign_id)  # another shop's id: 404 before the body
    ab_tests.configure(shop=g.shop, campaign_id=campaign_id, data=json_body(AbTestInSchema()))
    return _view(campaign_id)


@bp.delete("/campaigns/<int:campaign_id>/ab-test")
def delete_ab_test(campaign_id: int) -> tuple[str, int]:
    ab_tests.remove(shop=g.shop, campaign_id=campaign_id)
    return "", 204


@bp.post("/campaigns/<int:campaign_id>/ab-test/winner")
def pick_ab_test_winner(campaign_id: int) -> Response:
    """Send this variant to the rest of the audience; 409 when the test was already decided."""
    campaigns.get_campaign(shop=g.shop, campaign_id=campaign_id)  # another shop's id: 404 before the body
    variant = json_body(WinnerInSchema())["variant"]
    ab_tests.pick_winner(shop=g.shop, campaign_id=campaign_id, variant=variant, actor=f"user:{g.session_token.user_id}")
    return _view(campaign_id)
