"""/api/senders: the numbers the operator assigned to this shop, for the merchant to choose from."""

from __future__ import annotations

from flask import Response, g, jsonify

from ...schemas.senders import ShopSendersSchema
from ...services.sending.shop_senders import owned_senders
from .blueprint import bp


@bp.get("/senders")
def list_shop_senders() -> Response:
    return jsonify(ShopSendersSchema().dump(owned_senders(shop=g.shop)))
