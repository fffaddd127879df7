"""The embedded admin API: every route behind a verified session token, shop from its `dest`.

`bp` and the checks every route goes through are blueprint.py; each module here registers its
routes on it, and importing this package imports them all.
"""

from __future__ import annotations

from . import (  # noqa: F401  (routes register on bp)
    ab_tests,
    automations,
    billing,
    campaign_cohorts,
    campaigns,
    commerce_segments,
    contacts,
    discounts,
    flows,
    home,
    inbox,
    media,
    privacy,
    reports,
    segments,
    senders,
    settings,
    signup_links,
    spend,
    transfers,
)
from .blueprint import AUDITED_METHODS, NOT_AUDITED, bp

__all__ = ["AUDITED_METHODS", "NOT_AUDITED", "bp"]
