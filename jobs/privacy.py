"""Privacy jobs."""

from __future__ import annotations

from shopify_app.services.privacy import privacy

from . import job


@job("default")
def build_merchant_export(request_id: int) -> str:
    request = privacy.build_merchant_export(request_id=request_id)
    return "built" if request is not None else "skipped"
