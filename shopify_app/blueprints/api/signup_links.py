"""/api/signup: where shoppers join (the hosted join page's URL, its QR code, Text JOIN to ...)."""

from __future__ import annotations

from flask import Response, g, jsonify

from ...schemas.signup import SignupLinksSchema
from ...services.contacts import join_page
from .blueprint import bp

QR_TYPES = {"svg": "image/svg+xml", "png": "image/png"}


@bp.get("/signup/links")
def signup_links() -> Response:
    return jsonify(SignupLinksSchema().dump(join_page.signup_links(g.shop)))


def _qr(kind: str) -> Response:
    response = Response(join_page.qr_code(g.shop, kind), mimetype=QR_TYPES[kind])  # type: ignore[arg-type]
    response.headers["Content-Disposition"] = f'attachment; filename="sms-join-qr.{kind}"'
    return response


@bp.get("/signup/qr.svg")
def signup_qr_svg() -> Response:
    return _qr("svg")


@bp.get("/signup/qr.png")
def signup_qr_png() -> Response:
    return _qr("png")
