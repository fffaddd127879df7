"""Property tests (hypothesis): signature verifiers, phone normalisation, template rendering and
segment counting, and the credit ledger. CI runs the bounded `ci` profile; a longer run by hand:

    HYPOTHESIS_PROFILE=long .venv/bin/pytest tests/test_properties.py
"""

from __future__ import annotations

import json
import os
import uuid

import phonenumbers
import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from shopify_app.errors import PaymentRequired, ValidationFailed
from shopify_app.security.hmac import (
    oauth_query_is_valid,
    oauth_sign_query,
    proxy_signature_is_valid,
    sign_proxy_query,
    sign_webhook,
    webhook_hmac_is_valid,
)
from shopify_app.services.contacts.phones import normalise_phone
from shopify_app.services.sending.rendering import VARIABLES, _tokens, render, validate_template
from shopify_app.services.sending.rendering import joined as _joined
from shopify_app.services.sending.rendering import substitute as _substitute
from shopify_app.services.sending.templating import (
    _STOP_WORD,
    UCS2,
    _mentions_shop,
    _mentions_stop,
    compliant_text,
    estimate_segments,
    longest_values,
    segment_count,
    segment_info,
)

settings.register_profile(
    "ci", max_examples=60, deadline=None, derandomize=True, suppress_health_check=[HealthCheck.too_slow]
)
settings.register_profile("long", max_examples=3000, deadline=None, suppress_health_check=[HealthCheck.too_slow])
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "ci"))

SECRET = st.text(min_size=8, max_size=64).filter(lambda s: s.strip() == s and len(s.strip()) >= 8)
KEY = st.text(alphabet="abcdefghijklmnopqrstuvwxyz_", min_size=1, max_size=12)
VALUE = st.text(max_size=40)
GSM_TEXT = st.text(alphabet="abcdefghijklmnopqrstuvwxyz ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789.,!?-€[]{}", max_size=400)
ANY_TEXT = st.text(max_size=400)


# --- signatures -------------------------------------------------------------------------------------


@given(body=st.binary(max_size=2048), secret=SECRET, other=SECRET)
def test_a_webhook_signature_verifies_its_body_and_nothing_else(body, secret, other):
    header = sign_webhook(body, secret)
    assert webhook_hmac_is_valid(body, header, secrets=[secret])
    assert webhook_hmac_is_valid(body, header, secrets=[other, secret])  # rotation: either secret
    assert not webhook_hmac_is_valid(body + b"x", header, secrets=[secret])
    if other != secret:
        assert not webhook_hmac_is_valid(body, header, secrets=[other])


@given(body=st.binary(max_size=256), header=st.text(max_size=100), secret=SECRET)
def test_webhook_verification_never_raises_on_garbage(body, header, secret):
    assert webhook_hmac_is_valid(body, header, secrets=[secret]) in (True, False)


@given(params=st.dictionaries(KEY, VALUE, max_size=8), secret=SECRET, changed=KEY)
def test_a_proxy_signature_covers_every_parameter(params, secret, changed):
    params = {k: v for k, v in params.items() if k != "signature"}
    signed = {**params, "signature": sign_proxy_query(params, secret)}
    assert proxy_signature_is_valid(list(signed.items()), secrets=[secret])
    tampered = {**signed, changed: signed.get(changed, "") + "x"}
    assume(changed != "signature")
    assert not proxy_signature_is_valid(list(tampered.items()), secrets=[secret])


@given(params=st.dictionaries(KEY, VALUE, min_size=1, max_size=8), secret=SECRET)
def test_an_oauth_hmac_covers_every_parameter(params, secret):
    params = {k: v for k, v in params.items() if k not in ("hmac", "signature")}
    assume(params)
    signed = {**params, "hmac": oauth_sign_query(params, secret)}
    assert oauth_query_is_valid(list(signed.items()), secrets=[secret])
    key = sorted(params)[0]
    assert not oauth_query_is_valid(list({**signed, key: params[key] + "x"}.items()), secrets=[secret])
    assert not oauth_query_is_valid([*signed.items(), (key, params[key])], secrets=[secret])  # repeated key


# --- phones -----------------------------------------------------------------------------------------


REGIONS = ["US", "CA", "GB", "GR", "DE", "FR", "AU", "IN", "BR", "JP"]


@st.composite
def valid_numbers(draw):
    region = draw(st.sampled_from(REGIONS))
    example = phonenumbers.example_number_for_type(region, phonenumbers.PhoneNumberType.MOBILE)
    national = str(example.national_number)
    digits = draw(st.lists(st.sampled_from("0123456789"), min_size=3, max_size=3))
    candidate = national[:-3] + "".join(digits)
    number = phonenumbers.parse(f"+{example.country_code}{candidate}")
    assume(phonenumbers.is_valid_number(number))
    return region, number


@given(case=valid_numbers(), style=st.sampled_from(list(phonenumbers.PhoneNumberFormat.__dict__.values())))
def test_normalisation_is_idempotent_and_ignores_formatting(case, style):
    region, number = case
    assume(isinstance(style, int))
    e164 = phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)
    formatted = phonenumbers.format_number(number, style)
    assert normalise_phone(formatted, default_region=region).e164 == e164
    assert normalise_phone(e164, default_region=None).e164 == e164
    assert normalise_phone(f"  {e164}  ", default_region="US").e164 == e164


@given(raw=st.one_of(st.text(max_size=60), st.integers(), st.none(), st.binary(max_size=20)))
def test_normalisation_answers_anything_with_a_number_or_a_422(raw):
    try:
        phone = normalise_phone(raw, default_region="US")
    except ValidationFailed:
        return
    assert phone.e164.startswith("+")
    assert phonenumbers.is_valid_number(phonenumbers.parse(phone.e164))


# --- templates and segments -------------------------------------------------------------------------


@given(text=ANY_TEXT)
def test_segment_counts_follow_the_sms_limits(text):
    info = segment_info(text)
    assume(text)
    single, multi = (70, 67) if info.encoding == UCS2 else (160, 153)
    if info.characters <= single:
        assert info.segments == 1
    else:
        assert (info.segments - 1) * multi < info.characters <= info.segments * multi


@given(
    pieces=st.lists(
        st.one_of(st.sampled_from([f"{{{{{name}}}}}" for name in VARIABLES]), st.sampled_from([" ", ", ", "!", "."])),
        max_size=8,
    ),
    values=st.dictionaries(st.sampled_from(VARIABLES), st.one_of(st.none(), st.sampled_from(["", " ", "Ann", "0"]))),
)
def test_rendering_takes_its_shortcut_only_when_no_gap_closes(pieces, values):
    body = "".join(pieces)
    assert render(body, values) == _joined(_substitute(_tokens(body), values))


@given(text=st.one_of(ANY_TEXT, GSM_TEXT))
def test_the_segment_count_is_the_segment_infos(text):
    assert segment_count(text) == segment_info(text).segments


@given(text=GSM_TEXT)
def test_gsm_text_stays_gsm_and_extension_characters_count_twice(text):
    info = segment_info(text)
    assert info.encoding != UCS2
    assert info.characters == len(text) + sum(text.count(c) for c in "€[]{}")


# Pieces that make opt-out wording likely, in any order and case, with word characters around.
STOP_PIECES = st.lists(
    st.one_of(
        st.sampled_from(["STOP", "stop", "Stop", "\u017ftop", "reply", "Reply", "TEXT", "txt", "send"]),
        st.sampled_from(["'", '"', " ", "\t"]),
        st.sampled_from(["a", "_", "é", "1", ".", "STOPS", "nonSTOP", "\u00a0", "Ж"]),
        st.text(max_size=3),
    ),
    max_size=12,
).map("".join)


@given(text=STOP_PIECES)
def test_the_fast_opt_out_check_agrees_with_the_pattern(text):
    assert _mentions_stop(text) is bool(_STOP_WORD.search(text))


@given(text=st.text(max_size=40), name=st.text(min_size=1, max_size=8))
def test_the_fast_shop_name_check_agrees_with_case_folding(text, name):
    assert _mentions_shop(text + name.upper() + text, name) is (
        name.casefold() in (text + name.upper() + text).casefold()
    )
    assert _mentions_shop(text, name) is (name.casefold() in text.casefold())


@given(
    prefix=GSM_TEXT,
    suffix=ANY_TEXT,
    names=st.lists(st.text(max_size=30), min_size=1, max_size=5),
    shop_name=st.text(alphabet="abcdefghijklmnopqrstuvwxyz ", min_size=2, max_size=20).filter(str.strip),
)
def test_the_estimate_is_an_upper_bound_for_every_recipient(prefix, suffix, names, shop_name):
    body = f"{prefix}{{{{first_name}}}}{suffix}".replace("{{{", "{ {").replace("}}}", "} }")
    try:
        validate_template(body)
    except Exception:
        assume(False)
    longest = max(segment_info(name).characters for name in names)
    ucs2 = any(segment_info(name).encoding == UCS2 for name in names)
    values = longest_values(
        first_name=longest,
        last_name=0,
        shop_name=shop_name,
        discount_code=0,
        unsubscribe_url=0,
        ucs2_variables=frozenset({"first_name"}) if ucs2 else frozenset(),
    )
    bound = estimate_segments(body, shop_name=shop_name, longest=values).segments
    for name in names:
        sent = compliant_text(render(body, {"first_name": name, "shop_name": shop_name}), shop_name=shop_name)
        assert segment_info(sent).segments <= bound


# --- the ledger -------------------------------------------------------------------------------------


OPERATIONS = st.lists(
    st.tuples(st.sampled_from(["grant", "reserve", "release"]), st.integers(min_value=1, max_value=50)),
    min_size=1,
    max_size=25,
)


@pytest.fixture(scope="module")
def ledger_app(migrated_database):
    from shopify_app import create_app

    from .conftest import _empty_tables, base_test_config, dispose_engines

    app = create_app(base_test_config(migrated_database))
    with app.app_context():
        yield app
        _empty_tables()  # the examples' shops must not greet the next test (another module's)
        dispose_engines()


@settings(suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(operations=OPERATIONS)
def test_the_balance_is_the_ledger_sum_and_never_negative(ledger_app, operations):
    from sqlalchemy import select

    from shopify_app.extensions import db
    from shopify_app.models import Campaign, CreditLedger, LedgerKind
    from shopify_app.services.billing import credits

    from .conftest import install_shop

    shop = install_shop(f"p{uuid.uuid4().hex[:12]}.myshopify.com")
    expected, holds = 0, []
    for kind, amount in operations:
        if kind == "grant":
            credits.grant(shop_id=shop.id, amount=amount, key=f"g{uuid.uuid4().hex}")
            expected += amount
        elif kind == "reserve":
            campaign = Campaign(shop_id=shop.id, name="p", body="b", audience={})
            db.session.add(campaign)
            db.session.flush()
            if amount > expected:  # refused exactly when the balance cannot cover it
                with pytest.raises(PaymentRequired) as refused:
                    credits.reserve_for_launch(shop=shop, campaign=campaign, amount=amount)
                assert refused.value.details == {"required": amount, "available": expected}
                db.session.rollback()
            else:
                credits.reserve_for_launch(shop=shop, campaign=campaign, amount=amount)
                expected -= amount
                holds.append((campaign.id, amount))
        elif holds:
            campaign_id, held = holds.pop()
            row = {
                "shop_id": shop.id,
                "kind": LedgerKind.RELEASE,
                "amount": held,
                "campaign_id": campaign_id,
                "idempotency_key": f"release:c{campaign_id}",
            }
            credits._append([row])
            credits._append([dict(row)])  # a replayed release is a no-op
            expected += held
        db.session.commit()
        assert credits.balance(shop_id=shop.id) == expected >= 0
    amounts = db.session.scalars(
        select(CreditLedger.amount).where(CreditLedger.shop_id == shop.id).order_by(CreditLedger.id)
    ).all()
    running = 0
    for value in amounts:
        running += value
        assert running >= 0
    assert running == expected


# --- hostile input (shopify_app/inputs.py) ------------------------------------------------------------

JSON_VALUES = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**63), max_value=2**63 - 1)
    | st.text(st.characters(codec="utf-8", exclude_characters="\x00"), max_size=20),
    lambda children: (
        st.lists(children, max_size=4)
        | st.dictionaries(
            st.text(st.characters(codec="utf-8", exclude_characters="\x00"), max_size=8), children, max_size=4
        )
    ),
    max_leaves=20,
)


def _with_nul(value, where):
    """`value` with a NUL put into one of its strings (keys included): the `where`-th, modulo."""

    def strings(item):
        if isinstance(item, list):
            return sum(map(strings, item))
        if isinstance(item, dict):
            return len(item) + sum(map(strings, item.values()))
        return isinstance(item, str)

    counter = [where % strings(value)]

    def walk(item):
        if isinstance(item, str):
            counter[0] -= 1
            return item + "\x00" if counter[0] == -1 else item
        if isinstance(item, list):
            return [walk(child) for child in item]
        if isinstance(item, dict):
            return {walk(key): walk(child) for key, child in item.items()}
        return item

    return walk(value)


@given(
    value=JSON_VALUES,
    last=st.text(st.characters(codec="utf-8", exclude_characters="\x00"), max_size=5),
    where=st.integers(0, 40),
)
def test_json_with_a_nul_anywhere_is_refused_and_without_one_parses_unchanged(value, last, where):
    from shopify_app.errors import BadRequest
    from shopify_app.inputs import parse_json

    value = [value, last]  # at least one string
    assert parse_json(json.dumps(value)) == value
    hostile = _with_nul(value, where)
    with pytest.raises(BadRequest) as refused:
        parse_json(json.dumps(hostile))
    assert refused.value.details == {"location": "body", "reason": "nul"}
    assert parse_json(json.dumps(hostile), check_values=False) == hostile  # webhooks: recorded as sent


@given(number=st.integers(min_value=2**63) | st.integers(max_value=-(2**63) - 1))
def test_integers_past_64_bits_are_refused(number):
    from shopify_app.errors import BadRequest
    from shopify_app.inputs import parse_json

    with pytest.raises(BadRequest):
        parse_json(f'{{"id": {number}}}')


@given(text=st.text(max_size=60))
def test_a_cursor_is_an_id_in_the_bigint_range_or_a_400(text):
    from shopify_app.errors import BadRequest
    from shopify_app.services.ops.pagination import decode_cursor, encode_cursor

    try:
        last_id = decode_cursor(text)
    except BadRequest as exc:
        last_id = exc.code
    if last_id == "invalid_cursor":
        return
    assert type(last_id) is int
    assert 0 <= last_id < 2**63
    assert decode_cursor(encode_cursor(last_id)) == last_id


@given(
    moment=st.datetimes(),
    offset_minutes=st.integers(min_value=-(24 * 60 - 1), max_value=24 * 60 - 1),
)
def test_any_datetime_with_any_offset_is_judged_without_overflowing(moment, offset_minutes):
    from datetime import UTC, timedelta, timezone

    from shopify_app.inputs import FIRST_DAY, LAST_DAY, hostile_reason

    aware = moment.replace(tzinfo=timezone(timedelta(minutes=offset_minutes)))
    reason = hostile_reason({"at": aware})
    if reason is None:
        assert FIRST_DAY <= aware.astimezone(UTC).date() <= LAST_DAY
    else:
        assert reason == "date"
