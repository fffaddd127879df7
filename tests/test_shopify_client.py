"""The Shopify client against a loopback fake Shopify: token flows, mapping, and every failure
Shopify produces (429, THROTTLED, 5xx, refused connections, slow answers, revoked tokens)."""

from __future__ import annotations

import socket
import time
import uuid
from collections.abc import Iterator
from typing import Any
from urllib.parse import parse_qs, urlsplit

import jwt
import pytest
import requests

from shopify_app.clients.shopify import (
    AdminGraphQL,
    OfflineToken,
    ShopDetails,
    ShopifyError,
    ShopifyGraphQLError,
    ShopifyOAuth,
    ShopifyRateLimited,
    ShopifyRejected,
    ShopifySettings,
    ShopifyTimeout,
    ShopifyUnauthorized,
    ShopifyUnavailable,
)

from .conftest import TEST_API_KEY, TEST_API_SECRET
from .fakes.shopify import FakeShopify

SHOP = "alpha.myshopify.com"
OTHER_SHOP = "beta.myshopify.com"
MUTATION = 'mutation { tagsAdd(id: "gid://shopify/Customer/1", tags: ["sms"]) { userErrors { message } } }'


@pytest.fixture
def fake() -> Iterator[FakeShopify]:
    with FakeShopify(api_key=TEST_API_KEY, api_secret=TEST_API_SECRET) as fake:
        fake.add_shop(SHOP, name="Alpha Blooms", email="hello@alpha.example", plan="Shopify Plus")
        yield fake


@pytest.fixture
def waits() -> list[float]:
    """What the clients asked to sleep; nothing sleeps for real."""
    return []


def settings_for(base_url: str, **overrides: Any) -> ShopifySettings:
    fields: dict[str, Any] = {"api_key": TEST_API_KEY, "api_secret": TEST_API_SECRET, "api_version": "2025-10"}
    return ShopifySettings(admin_base_url=base_url, **{**fields, "read_timeout": 2.0, **overrides})


@pytest.fixture
def oauth(fake: FakeShopify, waits: list[float]) -> ShopifyOAuth:
    return ShopifyOAuth(settings_for(fake.admin_base_url), sleep=waits.append)


def graphql_for(fake: FakeShopify, waits: list[float], token: str | None = None, **overrides: Any) -> AdminGraphQL:
    settings = settings_for(fake.admin_base_url, **overrides)
    return AdminGraphQL(settings, SHOP, token or fake.issue_access_token(SHOP), sleep=waits.append)


@pytest.fixture
def graphql(fake: FakeShopify, waits: list[float]) -> AdminGraphQL:
    return graphql_for(fake, waits)


def session_token(*, shop: str = SHOP, secret: str = TEST_API_SECRET, exp_in: int = 60) -> str:
    """A session token (App Bridge id token) signed as Shopify signs it."""
    now = int(time.time())
    claims = {
        "iss": f"https://{shop}/admin",
        "dest": f"https://{shop}",
        "aud": TEST_API_KEY,
        "sub": "1",
        "exp": now + exp_in,
        "nbf": now - 5,
        "iat": now - 5,
        "jti": str(uuid.uuid4()),
        "sid": uuid.uuid4().hex,
    }
    return jwt.encode(claims, secret, algorithm="HS256")


def closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


# -- OAuth -------------------------------------------------------------------------------------


def test_authorize_url_points_at_the_shop_admin_with_urlencoded_parameters(oauth):
    url = oauth.authorize_url(
        SHOP, scopes="read_customers,write_customers", redirect_uri="https://a.test/cb?x=1", state="s t"
    )
    parts = urlsplit(url)
    assert url.startswith(oauth.admin_url(SHOP, "/admin/oauth/authorize?"))
    assert parse_qs(parts.query) == {
        "client_id": [TEST_API_KEY],
        "scope": ["read_customers,write_customers"],
        "redirect_uri": ["https://a.test/cb?x=1"],
        "state": ["s t"],
    }


def test_code_exchange_returns_an_expiring_offline_token(oauth, fake):
    token = oauth.exchange_code(SHOP, fake.issue_code(SHOP))
    assert token.access_token.startswith("shpat_")
    assert token.refresh_token is not None
    assert token.refresh_token.startswith("shprt_")
    assert (token.scope, token.expires_in, token.refresh_token_expires_in) == (
        "read_customers,write_customers",
        86400,
        7776000,
    )
    assert fake.access_tokens[token.access_token] == SHOP


def test_code_can_be_exchanged_only_once(oauth, fake):
    code = fake.issue_code(SHOP)
    oauth.exchange_code(SHOP, code)
    with pytest.raises(ShopifyRejected) as excinfo:
        oauth.exchange_code(SHOP, code)
    assert (excinfo.value.status, excinfo.value.error) == (400, "invalid_request")
    assert code not in str(excinfo.value)


def test_code_issued_for_another_shop_is_rejected(oauth, fake):
    with pytest.raises(ShopifyRejected) as excinfo:
        oauth.exchange_code(SHOP, fake.issue_code(OTHER_SHOP))
    assert excinfo.value.error == "invalid_request"


def test_wrong_client_secret_is_rejected_as_invalid_client(fake, waits):
    oauth = ShopifyOAuth(settings_for(fake.admin_base_url, api_secret="wrong-secret-value"), sleep=waits.append)
    with pytest.raises(ShopifyRejected) as excinfo:
        oauth.exchange_code(SHOP, fake.issue_code(SHOP))
    assert (excinfo.value.status, excinfo.value.error) == (401, "invalid_client")
    assert "wrong-secret-value" not in str(excinfo.value)


def test_session_token_exchange_returns_an_expiring_offline_token(oauth, fake):
    token = oauth.exchange_session_token(SHOP, session_token())
    assert fake.access_tokens[token.access_token] == SHOP
    assert token.expires_in == 86400
    assert token.refresh_token in fake.refresh_tokens


@pytest.mark.parametrize(
    "forged",
    [
        pytest.param(lambda: session_token(shop=OTHER_SHOP), id="other-shop"),
        pytest.param(lambda: session_token(secret="not-the-app-secret-0123456789abcdef"), id="wrong-secret"),
        pytest.param(lambda: session_token(exp_in=-60), id="expired"),
    ],
)
def test_forged_or_expired_session_token_is_rejected(oauth, forged):
    with pytest.raises(ShopifyRejected) as excinfo:
        oauth.exchange_session_token(SHOP, forged())
    assert (excinfo.value.status, excinfo.value.error) == (400, "invalid_subject_token")


def test_refused_token_exchange_is_rejected_as_invalid_subject_token(oauth, fake):
    fake.refuse_token_exchange = True
    with pytest.raises(ShopifyRejected) as excinfo:
        oauth.exchange_session_token(SHOP, session_token())
    assert excinfo.value.error == "invalid_subject_token"


def test_refresh_rotates_both_tokens(oauth, fake, waits):
    first = oauth.exchange_code(SHOP, fake.issue_code(SHOP))
    assert first.refresh_token is not None
    second = oauth.refresh(SHOP, first.refresh_token)
    assert second.access_token != first.access_token
    assert second.refresh_token not in (None, first.refresh_token)
    assert graphql_for(fake, waits, second.access_token).shop_details().name == "Alpha Blooms"
    with pytest.raises(ShopifyUnauthorized):
        graphql_for(fake, waits, first.access_token).shop_details()
    with pytest.raises(ShopifyRejected) as excinfo:
        oauth.refresh(SHOP, first.refresh_token)
    assert (excinfo.value.status, excinfo.value.error) == (400, "invalid_grant")


def test_refresh_token_of_another_shop_is_invalid_grant(oauth, fake):
    other = oauth.exchange_code(OTHER_SHOP, fake.issue_code(OTHER_SHOP))
    assert other.refresh_token is not None
    with pytest.raises(ShopifyRejected) as excinfo:
        oauth.refresh(SHOP, other.refresh_token)
    assert excinfo.value.error == "invalid_grant"


def test_oauth_500_is_not_retried_because_the_code_may_be_consumed(oauth, fake, waits):
    fake.fail_next("oauth", 500)
    with pytest.raises(ShopifyUnavailable) as excinfo:
        oauth.exchange_code(SHOP, fake.issue_code(SHOP))
    assert excinfo.value.status == 500
    assert (len(fake.requests_of("oauth")), waits) == (1, [])


def test_oauth_read_timeout_is_not_retried(fake, waits):
    oauth = ShopifyOAuth(settings_for(fake.admin_base_url, read_timeout=0.2), sleep=waits.append)
    fake.delay_next("oauth", 0.6)
    with pytest.raises(ShopifyTimeout):
        oauth.exchange_code(SHOP, fake.issue_code(SHOP))
    assert (len(fake.requests_of("oauth")), waits) == (1, [])


# -- Admin GraphQL -----------------------------------------------------------------------------


def test_shop_details_maps_shopify_fields(graphql, fake):
    details = {"currencyCode": "USD", "ianaTimezone": "America/New_York", "countryCodeV2": "US", "plan": "Grow"}
    fake.add_shop(SHOP, name="Alpha Blooms", email="hi@alpha.example", **details)
    assert graphql.shop_details() == ShopDetails(
        name="Alpha Blooms",
        email="hi@alpha.example",
        currency="USD",
        timezone="America/New_York",
        country_code="US",
        plan="Grow",
    )


def test_revoked_token_is_unauthorized_without_retrying(graphql, fake, waits):
    fake.revoke_tokens(SHOP)
    with pytest.raises(ShopifyUnauthorized) as excinfo:
        graphql.shop_details()
    assert excinfo.value.status == 401
    assert (len(fake.requests_of("graphql")), waits) == (1, [])


def test_token_of_another_shop_is_unauthorized(fake, waits):
    token = fake.issue_access_token(OTHER_SHOP)
    with pytest.raises(ShopifyUnauthorized):
        graphql_for(fake, waits, token).execute("{ shop { name } }")


def test_throttled_query_waits_for_the_bucket_to_refill_then_succeeds(graphql, fake, waits):
    fake.throttle_next(2, restore_rate=50.0)
    assert graphql.shop_details().name == "Alpha Blooms"
    assert waits == [pytest.approx(10 / 50.0), pytest.approx(10 / 50.0)]
    assert len(fake.requests_of("graphql")) == 3


def test_throttled_on_every_attempt_is_rate_limited(graphql, fake, waits):
    fake.throttle_next(10, restore_rate=100.0)
    with pytest.raises(ShopifyRateLimited) as excinfo:
        graphql.execute("{ shop { name } }")
    assert excinfo.value.retry_after == pytest.approx(0.1)
    assert len(fake.requests_of("graphql")) == graphql.settings.max_attempts
    assert len(waits) == graphql.settings.max_attempts - 1


def test_graphql_errors_are_raised_with_codes_but_not_messages_that_may_hold_customer_data(graphql, fake, waits):
    errors = [{"message": "Variable $phone: +306912345678 is invalid", "extensions": {"code": "INVALID_VARIABLE"}}]
    fake.graphql_errors_next(errors)
    with pytest.raises(ShopifyGraphQLError) as excinfo:
        graphql.execute("query Customer($phone: String!) { customers(first: 1, query: $phone) { nodes { id } } }")
    assert excinfo.value.errors == errors
    assert "INVALID_VARIABLE" in str(excinfo.value)
    assert "+306912345678" not in str(excinfo.value)
    assert (len(fake.requests_of("graphql")), waits) == (1, [])


def test_429_honours_retry_after(graphql, fake, waits):
    fake.fail_next("graphql", 429, retry_after="2")
    assert graphql.execute("{ shop { name } }")["shop"]["name"] == "Alpha Blooms"
    assert waits == [2.0]


def test_429_without_retry_after_waits_one_second_and_gives_up_as_rate_limited(graphql, fake, waits):
    fake.fail_next("graphql", 429, times=10)
    with pytest.raises(ShopifyRateLimited) as excinfo:
        graphql.execute("{ shop { name } }")
    assert (excinfo.value.retry_after, excinfo.value.status) == (1.0, 429)
    assert waits == [1.0] * (graphql.settings.max_attempts - 1)


def test_retry_after_longer_than_max_retry_wait_is_not_slept(graphql, fake, waits):
    fake.fail_next("graphql", 429, retry_after="120")
    with pytest.raises(ShopifyRateLimited) as excinfo:
        graphql.execute("{ shop { name } }")
    assert (excinfo.value.retry_after, waits) == (120.0, [])


@pytest.mark.parametrize("kind", ["oauth", "graphql"])
def test_503_twice_then_success_backs_off_exponentially_with_jitter(oauth, graphql, fake, waits, kind):
    fake.fail_next(kind, 503, times=2)
    if kind == "oauth":
        oauth.exchange_code(SHOP, fake.issue_code(SHOP))
    else:
        graphql.shop_details()
    assert len(fake.requests_of(kind)) == 3
    assert 0.25 <= waits[0] <= 0.5
    assert 0.5 <= waits[1] <= 1.0


@pytest.mark.parametrize("kind", ["oauth", "graphql"])
def test_503_on_every_attempt_is_unavailable_after_max_attempts(oauth, graphql, fake, waits, kind):
    fake.fail_next(kind, 503, times=10)
    code = fake.issue_code(SHOP)
    call = (lambda: oauth.exchange_code(SHOP, code)) if kind == "oauth" else graphql.shop_details
    with pytest.raises(ShopifyUnavailable) as excinfo:
        call()
    assert excinfo.value.status == 503
    assert len(fake.requests_of(kind)) == 4
    assert len(waits) == 3


def test_graphql_query_retries_a_500(graphql, fake):
    fake.fail_next("graphql", 500)
    assert graphql.shop_details().name == "Alpha Blooms"
    assert len(fake.requests_of("graphql")) == 2


def test_graphql_mutation_is_not_retried_after_a_500(graphql, fake):
    fake.fail_next("graphql", 500)
    with pytest.raises(ShopifyUnavailable):
        graphql.execute(MUTATION)
    assert len(fake.requests_of("graphql")) == 1


@pytest.mark.parametrize("kind", ["oauth", "graphql"])
def test_connection_refused_is_unavailable_after_max_attempts(waits, kind):
    settings = settings_for(f"http://127.0.0.1:{closed_port()}/shops/{{shop}}", connect_timeout=0.5)
    oauth = ShopifyOAuth(settings, sleep=waits.append)
    graphql = AdminGraphQL(settings, SHOP, "shpat_x", sleep=waits.append)
    call = (lambda: oauth.exchange_code(SHOP, "code-123")) if kind == "oauth" else (lambda: graphql.execute(MUTATION))
    with pytest.raises(ShopifyUnavailable):
        call()
    assert len(waits) == settings.max_attempts - 1  # never connected, so even a mutation is safe to resend


def test_graphql_query_retries_one_read_timeout(fake, waits):
    graphql = graphql_for(fake, waits, read_timeout=0.2)
    fake.delay_next("graphql", 0.6)
    assert graphql.shop_details().name == "Alpha Blooms"
    fake.delay_next("graphql", 0.6, times=2)
    with pytest.raises(ShopifyTimeout):
        graphql.shop_details()
    assert len(fake.requests_of("graphql")) == 4


def test_graphql_mutation_is_not_retried_after_a_read_timeout(fake, waits):
    graphql = graphql_for(fake, waits, read_timeout=0.2)
    fake.delay_next("graphql", 0.6)
    with pytest.raises(ShopifyTimeout):
        graphql.execute(MUTATION)
    assert (len(fake.requests_of("graphql")), waits) == (1, [])


# -- What every call carries, and what no error reveals -----------------------------------------


class RecordingSession(requests.Session):
    def __init__(self) -> None:
        super().__init__()
        self.calls: list[dict[str, Any]] = []

    def request(self, method: str | bytes, url: str | bytes, *args: Any, **kwargs: Any) -> requests.Response:  # type: ignore[override]
        self.calls.append({"url": url, **kwargs})
        return super().request(method, url, *args, **kwargs)


def test_every_call_has_timeouts_json_accept_and_no_redirects(fake, waits):
    session = RecordingSession()
    settings = settings_for(fake.admin_base_url, connect_timeout=1.5, read_timeout=4.0)
    ShopifyOAuth(settings, session=session, sleep=waits.append).exchange_code(SHOP, fake.issue_code(SHOP))
    AdminGraphQL(settings, SHOP, fake.issue_access_token(SHOP), session=session, sleep=waits.append).shop_details()
    assert [call["timeout"] for call in session.calls] == [(1.5, 4.0), (1.5, 4.0)]
    assert all(call["headers"]["Accept"] == "application/json" for call in session.calls)
    assert all(call["allow_redirects"] is False for call in session.calls)
    assert session.calls[1]["url"] == f"http://127.0.0.1:{fake.port}/shops/{SHOP}/admin/api/2025-10/graphql.json"


def test_errors_and_reprs_never_reveal_tokens_codes_or_the_client_secret(fake, waits):
    settings = settings_for(fake.admin_base_url, read_timeout=0.2)
    oauth = ShopifyOAuth(settings, sleep=waits.append)
    token = oauth.exchange_code(SHOP, fake.issue_code(SHOP))
    graphql = AdminGraphQL(settings, SHOP, token.access_token, sleep=waits.append)
    code = fake.issue_code(SHOP)
    attempts = settings.max_attempts
    cases = [  # (arrange the failure, the call, what it raises); the timeout consumes the code
        (lambda: fake.fail_next("oauth", 503, attempts), lambda: oauth.exchange_code(SHOP, code), ShopifyUnavailable),
        (lambda: fake.delay_next("oauth", 0.6), lambda: oauth.exchange_code(SHOP, code), ShopifyTimeout),
        (lambda: None, lambda: oauth.exchange_code(SHOP, code), ShopifyRejected),
        (lambda: fake.fail_next("graphql", 503, attempts), graphql.shop_details, ShopifyUnavailable),
        (lambda: fake.throttle_next(attempts), graphql.shop_details, ShopifyRateLimited),
        (lambda: fake.revoke_tokens(SHOP), graphql.shop_details, ShopifyUnauthorized),
        (lambda: None, lambda: oauth.refresh(SHOP, str(token.refresh_token)), ShopifyRejected),
    ]
    raised: list[ShopifyError] = []
    for arrange, call, expected in cases:
        arrange()
        with pytest.raises(expected) as excinfo:
            call()
        raised.append(excinfo.value)
    secrets = [TEST_API_SECRET, token.access_token, str(token.refresh_token), code]
    texts = [str(exc) for exc in raised] + [repr(exc) for exc in raised] + [repr(token), repr(settings), repr(graphql)]
    assert [text for text in texts for secret in secrets if secret in text] == []


# -- Settings ----------------------------------------------------------------------------------


def test_settings_come_from_app_config(app):
    settings = ShopifySettings.from_config(app.config)
    assert (settings.api_key, settings.api_secret) == (TEST_API_KEY, TEST_API_SECRET)
    assert (settings.api_version, settings.admin_base_url) == ("2026-10", "https://{shop}")
    assert settings.admin_base_url.format(shop=SHOP) == f"https://{SHOP}"


def test_admin_base_url_without_shop_placeholder_is_refused():
    with pytest.raises(ValueError, match=r"\{shop\}"):
        settings_for("https://shopify.example")


def test_offline_token_repr_hides_the_tokens():
    token = OfflineToken("shpat_secret", "read_customers", 60, "shprt_secret", 600)
    assert "secret" not in repr(token)
