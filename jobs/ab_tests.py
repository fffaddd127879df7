"""A/B tests of campaigns: the periodic decision of the tests whose wait has ended."""

from __future__ import annotations

from shopify_app.services.campaigns import ab_tests

from . import job


@job("campaigns", cross_shop=True)
def decide_due() -> int:
    return ab_tests.decide_due()
