"""Session tokens and the Bearer header on a fixed clock, without an app: the leeway edges, the
claims ShopifyAPI checks, the algorithms it refuses, and the header's spelling."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

import jwt
import pytest
from structlog.testing import capture_logs

from shopify_app import errors
from shopify_app.security.session_token import RETRY_HEADER, bearer_token, verify_session_token

API_KEY = "api-key-123"
SECRET = "current-secret-0123456789abcdef0123456789"
OLD_SECRET = "previous-secret-0123456789abcdef012345678"
SHOP = "alpha.myshopify.com"
NOW = 1_800_000_000  # every token below is judged at this instant


@pytest.fixture(autouse=True)
def fixed_clock(monkeypatch: pytest.MonkeyPatch) -> None:
    class Frozen(datetime):
        @classmethod
        def now(cls, tz: Any = None) -> datetime:  # PyJWT reads the time as datetime.now(tz=utc)
            return datetime.fromtimestamp(NOW, tz)

    monkeypatch.setattr(jwt.api_jwt, "datetime", Frozen)


def token(*, secret: str = SECRET, algorithm: str = "HS256", drop: tuple[str, ...] = (), **claims: Any) -> str:
    payload: dict[str, Any] = {
        "iss": f"https://{SHOP}/admin",
        "dest": f"https://{SHOP}",
        "aud": API_KEY,
        "sub": "42",
        "exp": NOW + 60,
        "nbf": NOW,
        "iat": NOW,
        "jti": str(uuid.uuid4()),
        "sid": "session-7",
        **claims,
    }
    for name in drop:
        del payload[name]
    return jwt.encode(payload, secret, algorithm=algorithm)


def verify(raw: str, secrets: tuple[str, ...] = (SECRET,)) -> Any:
    return verify_session_token(raw, api_key=API_KEY, secrets=list(secrets))


def refused(raw: str, secrets: tuple[str, ...] = (SECRET,), *, reason: str | None = None) -> errors.Unauthorized:
    """Assert a 401 that asks App Bridge for a new token, logged with `reason` (not the token)."""
    with capture_logs() as logs, pytest.raises(errors.Unauthorized) as caught:
        verify(raw, secrets)
    rejections = [entry for entry in logs if entry["event"] == "session_token_rejected"]
    if reason is not None:
        assert rejections == [{"event": "session_token_rejected", "reason": reason, "log_level": "info"}]
    assert not raw or raw not in repr(logs)
    assert caught.value.message == "The session token is invalid or expired."
    assert caught.value.code == "invalid_session_token"
    assert caught.value.headers == RETRY_HEADER == {"X-Shopify-Retry-Invalid-Session-Request": "1"}
    assert not raw or raw not in str(caught.value.message)
    return caught.value


def test_a_valid_token_names_the_shop_the_user_and_the_session() -> None:
    raw = token()
    verified = verify(raw)
    assert verified.shop_domain == SHOP
    assert verified.user_id == "42"
    assert verified.session_id == "session-7"
    assert verified.raw == raw
    assert verified.claims["aud"] == API_KEY


def test_a_numeric_sid_is_read_as_text_and_a_numeric_sub_is_refused() -> None:
    assert verify(token(sid=7)).session_id == "7"
    refused(token(sub=42))  # PyJWT requires `sub` to be a string


# --- The clock: 10 s of leeway each way, judged at NOW ------------------------------------------


@pytest.mark.parametrize(("exp", "ok"), [(NOW - 9, True), (NOW - 10, False), (NOW - 11, False), (NOW + 1, True)])
def test_exp_is_allowed_up_to_but_not_at_ten_seconds_past(exp: int, ok: bool) -> None:
    if ok:
        assert verify(token(exp=exp)).shop_domain == SHOP
    else:
        refused(token(exp=exp))


@pytest.mark.parametrize(("nbf", "ok"), [(NOW + 10, True), (NOW + 11, False), (NOW - 3600, True)])
def test_nbf_is_allowed_up_to_ten_seconds_ahead(nbf: int, ok: bool) -> None:
    if ok:
        assert verify(token(nbf=nbf)).shop_domain == SHOP
    else:
        refused(token(nbf=nbf))


def test_iat_more_than_ten_seconds_ahead_is_refused() -> None:
    assert verify(token(iat=NOW + 10)).shop_domain == SHOP
    refused(token(iat=NOW + 11))


@pytest.mark.parametrize("claim", ["exp", "nbf", "iss", "dest", "sub", "jti", "sid"])
def test_a_token_without_a_required_claim_is_refused(claim: str) -> None:
    refused(token(drop=(claim,)))


# --- Who signed it, for whom, with what ---------------------------------------------------------


def test_the_previous_secret_is_tried_after_the_current_one() -> None:
    assert verify(token(secret=OLD_SECRET), (SECRET, OLD_SECRET)).shop_domain == SHOP
    assert verify(token(secret=SECRET), (SECRET, OLD_SECRET)).shop_domain == SHOP
    refused(token(secret=OLD_SECRET), (SECRET,), reason="InvalidSignatureError")
    refused(
        token(secret="someone-else-0123456789abcdef0123456789"), (SECRET, OLD_SECRET), reason="InvalidSignatureError"
    )
    refused(token(), (), reason="InvalidSignatureError")


def test_an_expired_token_is_refused_whichever_secret_signed_it() -> None:
    refused(token(exp=NOW - 60), (SECRET, OLD_SECRET), reason="ExpiredSignatureError")
    refused(token(secret=OLD_SECRET, exp=NOW - 60), (SECRET, OLD_SECRET), reason="ExpiredSignatureError")


@pytest.mark.parametrize("claim", ["exp", "nbf"])
def test_a_token_without_exp_or_nbf_is_refused_as_missing_expiry(claim: str) -> None:
    # PyJWT checks these only when present: without them a token would never expire.
    refused(token(drop=(claim,)), reason="MissingExpiry")


def test_a_rejection_not_wrapped_by_pyjwt_is_logged_under_its_own_name() -> None:
    refused(token(iss="https://beta.myshopify.com/admin"), reason="MismatchedHostsError")


@pytest.mark.parametrize(
    ("aud", "ok"),
    [(API_KEY, True), ([API_KEY, "other"], True), (["other"], False), ("other", False), ("", False)],
)
def test_the_audience_must_be_or_include_our_api_key(aud: Any, ok: bool) -> None:
    if ok:
        assert verify(token(aud=aud)).shop_domain == SHOP
    else:
        refused(token(aud=aud))


@pytest.mark.parametrize(
    "claims",
    [
        {"iss": "https://beta.myshopify.com/admin"},  # another shop issued it
        {"iss": "https://evil.com/admin", "dest": "https://evil.com"},
        {"iss": "https://alpha.myshopify.com.evil.com/admin", "dest": "https://alpha.myshopify.com.evil.com"},
        {"dest": "https://beta.myshopify.com"},
        {"dest": "alpha.myshopify.com", "iss": "alpha.myshopify.com/admin"},  # no scheme: no host
    ],
)
def test_iss_and_dest_must_name_the_same_shop_domain(claims: dict[str, str]) -> None:
    refused(token(**claims))


@pytest.mark.parametrize("algorithm", ["HS384", "HS512"])
def test_only_hs256_is_accepted(algorithm: str) -> None:
    refused(token(algorithm=algorithm))


def test_an_unsigned_token_is_refused() -> None:
    unsigned = jwt.encode(jwt.decode(token(), options={"verify_signature": False}), None, algorithm="none")
    refused(unsigned)
    refused(unsigned + "x")


@pytest.mark.parametrize(
    "raw",
    ["", "abc", "a.b.c", token()[:-2], token() + "A", token().replace(".", "..", 1)],
    # Named, not shown: each token() has a fresh jti, and pytest-xdist workers must collect the same ids.
    ids=["empty", "one-part", "not-base64", "signature-cut", "signature-extended", "empty-part"],
)
def test_a_malformed_token_is_refused(raw: str) -> None:
    refused(raw)


# --- The Authorization header -------------------------------------------------------------------


@pytest.mark.parametrize(
    ("header", "expected"),
    [
        ("Bearer abc.def.ghi", "abc.def.ghi"),
        ("bearer abc.def.ghi", "abc.def.ghi"),  # the scheme is case-insensitive (RFC 9110)
        ("BEARER abc.def.ghi", "abc.def.ghi"),
        ("Bearer  abc.def.ghi", "abc.def.ghi"),  # extra spaces around the token are trimmed
        ("Bearer abc.def.ghi ", "abc.def.ghi"),
        ("Bearer a-b_c.d+e/f=", "a-b_c.d+e/f="),
        ("Bearer Xa.b.cX", "Xa.b.cX"),
    ],
)
def test_the_bearer_token_is_the_word_after_the_scheme(header: str, expected: str) -> None:
    assert bearer_token(header) == expected


@pytest.mark.parametrize(
    "header",
    [
        None,
        "",
        "Bearer",
        "Bearer ",
        "Bearer    ",
        "Bearerabc.def.ghi",
        " Bearer abc.def.ghi",
        "Bearer\tabc.def.ghi",
        "Basic abc.def.ghi",
        "Token abc.def.ghi",
        "Bearer abc.def.ghi abc.def.ghi",  # two tokens
        "Bearer abc def",
        "Bearer abc.déf.ghi",  # non-ASCII
        "Bearer abc\ndef",
        "Bearer abc.def.ghi\t",
        "Bearer ab=c",
    ],
)
def test_a_header_that_is_not_one_bearer_token_is_401_asking_for_a_new_one(header: str | None) -> None:
    with pytest.raises(errors.Unauthorized) as caught:
        bearer_token(header)
    assert caught.value.code == "invalid_session_token"
    assert caught.value.headers == RETRY_HEADER
    assert caught.value.message == "A session token (Authorization: Bearer) is required."
