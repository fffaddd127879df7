"""`GET /r/<code>`: the short links texted to shoppers. Public (a shopper's phone follows it),
so it reveals nothing: unknown code 404, a target outside the allowed hosts 400."""

from __future__ import annotations

from flask import Blueprint, Response, redirect, request

from ..services.sending import links

bp = Blueprint("links", __name__)


@bp.get("/r/<string:code>")
def follow(code: str) -> Response:
    # ProxyFix (TRUSTED_PROXY_COUNT) has already put the client's address in remote_addr.
    target = links.follow(code=code[:32], user_agent=request.user_agent.string, ip=request.remote_addr)
    response = redirect(target, code=302)
    response.headers["Cache-Control"] = "no-store"  # every click counts, none is cached
    response.headers["Referrer-Policy"] = "no-referrer"
    return response
