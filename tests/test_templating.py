"""Templates: variables, rendering, compliance text and the one SMS segment counter."""

from __future__ import annotations

import itertools
import random
import re
from collections.abc import Mapping
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from shopify_app.services.sending.rendering import VARIABLES, TemplateError, render, render_runs, validate_template
from shopify_app.services.sending.templating import (
    GSM7,
    OPT_OUT_TEXT,
    UCS2,
    SegmentInfo,
    compliant_text,
    estimate_segments,
    longest_values,
    segment_count,
    segment_info,
)

SHOP = "Blossom"
GSM_BASIC = (
    "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?"
    "¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà"
)
GSM_EXTENSION = "^{}[]~|\\€\f"


# --- segment counting -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        pytest.param("a" * 160, SegmentInfo(GSM7, 160, 1, 160), id="160_gsm_fit_one_part"),
        pytest.param("a" * 161, SegmentInfo(GSM7, 161, 2, 153), id="161_gsm_need_two_parts_of_153"),
        pytest.param("a" * 306, SegmentInfo(GSM7, 306, 2, 153), id="306_gsm_fill_two_parts"),
        pytest.param("a" * 307, SegmentInfo(GSM7, 307, 3, 153), id="307_gsm_need_three_parts"),
        pytest.param("Ж" * 70, SegmentInfo(UCS2, 70, 1, 70), id="70_ucs2_fit_one_part"),
        pytest.param("Ж" * 71, SegmentInfo(UCS2, 71, 2, 67), id="71_ucs2_need_two_parts_of_67"),
        pytest.param("Ж" * 134, SegmentInfo(UCS2, 134, 2, 67), id="134_ucs2_fill_two_parts"),
        pytest.param("Ж" * 135, SegmentInfo(UCS2, 135, 3, 67), id="135_ucs2_need_three_parts"),
        pytest.param("€" * 80, SegmentInfo(GSM7, 160, 1, 160), id="80_euro_signs_are_160_septets_one_part"),
        pytest.param("€" * 81, SegmentInfo(GSM7, 162, 2, 153), id="81_euro_signs_are_162_septets_two_parts"),
    ],
)
def test_known_segment_counts(text, expected):
    assert segment_info(text) == expected


def test_every_gsm_basic_character_counts_one_septet():
    assert len(set(GSM_BASIC)) == 127  # the 128-entry table less ESC
    assert segment_info(GSM_BASIC) == SegmentInfo(GSM7, 127, 1, 160)
    for character in GSM_BASIC:
        assert segment_info(character) == SegmentInfo(GSM7, 1, 1, 160), repr(character)


@pytest.mark.parametrize("character", list(GSM_EXTENSION))
def test_extension_characters_count_two_septets(character):
    assert segment_info(character) == SegmentInfo(GSM7, 2, 1, 160)
    assert segment_info("a" + character * 80).characters == 161


def test_extension_escape_is_never_split_across_parts():
    # 152 septets leave 1 in the first part: the 2-septet "€" moves whole to the second part.
    assert segment_info("a" * 151 + "€" + "a" * 8) == SegmentInfo(GSM7, 161, 2, 153)
    assert segment_info("a" * 152 + "€" + "a" * 8) == SegmentInfo(GSM7, 162, 2, 153)
    # 306 septets would fill two parts exactly, but the escape pair at the boundary needs a third.
    assert segment_info("a" * 152 + "€" + "a" * 152) == SegmentInfo(GSM7, 306, 3, 153)
    assert segment_info("a" * 151 + "€" + "a" * 153) == SegmentInfo(GSM7, 306, 2, 153)


def test_e_acute_stays_gsm_but_a_character_outside_gsm_switches_to_ucs2():
    assert segment_info("Café é").encoding == GSM7
    for outsider in ("ê", "ç", "`", "\u2019", "Ж"):  # the curly apostrophe U+2019 is the usual accident
        assert segment_info(f"Café {outsider}") == SegmentInfo(UCS2, 6, 1, 70), repr(outsider)


def test_emoji_counts_two_ucs2_units():
    assert segment_info("😀") == SegmentInfo(UCS2, 2, 1, 70)
    assert segment_info("a" * 68 + "😀") == SegmentInfo(UCS2, 70, 1, 70)
    assert segment_info("a" * 69 + "😀") == SegmentInfo(UCS2, 71, 2, 67)


def test_surrogate_pair_is_never_split_across_parts():
    assert segment_info("Ж" * 66 + "😀" + "Ж" * 5) == SegmentInfo(UCS2, 73, 2, 67)
    # 134 units would fill two parts exactly, but the pair at the boundary needs a third.
    assert segment_info("Ж" * 66 + "😀" + "Ж" * 66) == SegmentInfo(UCS2, 134, 3, 67)
    assert segment_info("Ж" * 65 + "😀" + "Ж" * 67) == SegmentInfo(UCS2, 134, 2, 67)


def test_newline_and_carriage_return_are_gsm():
    assert segment_info("Hi\r\nthere\n") == SegmentInfo(GSM7, 10, 1, 160)


def test_empty_text_is_one_billed_part():
    assert segment_info("") == SegmentInfo(GSM7, 0, 1, 160)


def test_segment_counting_lives_only_in_templating():
    root = Path(__file__).resolve().parents[1]
    part_sizes = re.compile(r"\b153\b|\b67\b")
    offenders = [
        f"{path.relative_to(root)}:{number}: {line.strip()}"
        for folder in ("shopify_app", "jobs")
        for path in sorted((root / folder).rglob("*.py"))
        if path.name != "templating.py"
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1)
        if not line.lstrip().startswith("#") and part_sizes.search(line)
    ]
    assert offenders == [], "count segments with shopify_app.services.sending.templating only"


# --- validation -------------------------------------------------------------------------------


def test_validate_returns_variables_in_order_of_first_use():
    body = "{{ first_name }}, {{discount_code}} at {{shop_name}} for {{first_name}}. {{unsubscribe_url}}"
    assert validate_template(body) == ["first_name", "discount_code", "shop_name", "unsubscribe_url"]
    assert validate_template("No variables, {single} [braces] are text.") == []


@pytest.mark.parametrize("body", ["", "   ", "\n\t"])
def test_validate_rejects_an_empty_body(body):
    with pytest.raises(TemplateError) as caught:
        validate_template(body)
    assert caught.value.field == "body"
    assert isinstance(caught.value, ValueError)


def test_validate_rejects_a_body_over_1600_characters():
    assert validate_template("a" * 1600) == []
    with pytest.raises(TemplateError, match="1601") as caught:
        validate_template("a" * 1601)
    assert caught.value.field == "body"


@pytest.mark.parametrize("body", ["Use {{coupon}} now", "Hi {{First_Name}}", "{{ first_name }} {{ phone }}"])
def test_validate_rejects_an_unknown_variable(body):
    with pytest.raises(TemplateError, match="Unknown variable") as caught:
        validate_template(body)
    assert caught.value.field == "body"
    assert "{{first_name}}" in caught.value.message  # the message lists what is allowed


@pytest.mark.parametrize(
    "body",
    [
        "Hi {{first_name",
        "Hi first_name}}",
        "Hi {{first_name}} and }}",
        "Hi {{ }}",
        "Hi {{}}",
        "Hi {{first name}}",
        "Hi {{first-name}}",
        "Hi {{ {{first_name}} }}",
        "Hi {{first_{{last_name}}}}",
        "Hi {{{first_name}}}",
        "Hi {{first_name}}}",
        "Hi {{first}name}}",
    ],
)
def test_validate_rejects_malformed_or_nested_braces(body):
    with pytest.raises(TemplateError) as caught:
        validate_template(body)
    assert caught.value.field == "body"


# --- rendering --------------------------------------------------------------------------------


def test_render_substitutes_every_variable():
    body = "Hi {{ first_name }} {{last_name}}, use {{discount_code}} at {{shop_name}}: {{unsubscribe_url}}"
    values = {
        "first_name": "Ann",
        "last_name": "Lee",
        "discount_code": "SPRING10",
        "shop_name": SHOP,
        "unsubscribe_url": "https://b.co/u/x1",
    }
    assert render(body, values) == "Hi Ann Lee, use SPRING10 at Blossom: https://b.co/u/x1"


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        ("Hi {{first_name}}, sale today", "Hi, sale today"),
        ("Hi {{first_name}} {{last_name}}!", "Hi!"),
        ("Hi {{first_name}} there", "Hi there"),
        ("Hello {{first_name}}", "Hello"),
        ("Code: ({{discount_code}})", "Code: ()"),
        ("{{first_name}}, hi", ", hi"),
    ],
)
def test_missing_or_none_value_renders_empty_and_closes_the_gap(body, expected):
    assert render(body, {}) == expected
    assert render(body, dict.fromkeys(VARIABLES)) == expected


def test_render_keeps_the_space_when_the_value_is_present():
    assert render("Hi {{first_name}}, sale", {"first_name": "Ann"}) == "Hi Ann, sale"


def test_render_does_not_reinterpret_braces_inside_values():
    assert render("Hi {{first_name}}", {"first_name": "{{last_name}}"}) == "Hi {{last_name}}"


def test_render_rejects_unknown_variables():
    with pytest.raises(TemplateError):
        render("Hi {{coupon}}", {"coupon": "X"})


# --- compliance -------------------------------------------------------------------------------


def test_compliant_text_names_the_shop_and_adds_opt_out():
    assert compliant_text("Sale today", shop_name=SHOP) == f"Blossom: Sale today {OPT_OUT_TEXT}"


def test_compliant_text_does_not_prefix_when_the_shop_is_named_in_any_case():
    assert compliant_text("BLOSSOM sale today", shop_name=SHOP) == f"BLOSSOM sale today {OPT_OUT_TEXT}"


@pytest.mark.parametrize("text", ["Blossom sale. Reply stop to end", "Blossom: STOP to end", "Blossom. Text Stop."])
def test_compliant_text_does_not_double_append_when_stop_is_present(text):
    assert compliant_text(text, shop_name=SHOP) == text


@pytest.mark.parametrize("text", ["Blossom nonstop deals", "Blossom STOPPED prices", "Blossom stops"])
def test_compliant_text_needs_stop_as_a_word(text):
    assert compliant_text(text, shop_name=SHOP) == f"{text} {OPT_OUT_TEXT}"


@pytest.mark.parametrize("shop_name", ["", "  "])
def test_compliant_text_requires_a_shop_name(shop_name):
    with pytest.raises(TemplateError) as caught:
        compliant_text("Sale", shop_name=shop_name)
    assert caught.value.field == "shop_name"


# --- estimates --------------------------------------------------------------------------------


def longest_for(contacts: list[Mapping[str, str | None]], *, shop_name: str) -> dict[str, str]:
    """What a launch does: measure every value with segment_info, flag variables with UCS-2 values."""
    measured = ("first_name", "last_name", "discount_code", "unsubscribe_url")
    infos = {name: [segment_info(contact.get(name) or "") for contact in contacts] for name in measured}
    return longest_values(
        shop_name=shop_name,
        ucs2_variables=frozenset(name for name in measured if any(i.encoding == UCS2 for i in infos[name])),
        **{name: max(i.characters for i in infos[name]) for name in measured},
    )


def actual(body: str, contact: Mapping[str, str | None]) -> SegmentInfo:
    return segment_info(compliant_text(render(body, {**contact, "shop_name": SHOP}), shop_name=SHOP))


def test_longest_values_are_placeholders_of_the_given_lengths():
    values = longest_values(
        first_name=3,
        last_name=0,
        shop_name=SHOP,
        discount_code=2,
        unsubscribe_url=4,
        ucs2_variables=frozenset({"first_name"}),
    )
    assert values == {
        "first_name": "ЖЖЖ",
        "last_name": "",
        "shop_name": SHOP,
        "discount_code": "XX",
        "unsubscribe_url": "XXXX",
    }


@pytest.mark.parametrize(
    "arguments",
    [{"ucs2_variables": frozenset({"coupon"})}, {"ucs2_variables": frozenset({"shop_name"})}, {"last_name": -1}],
)
def test_longest_values_rejects_unknown_variables_and_negative_lengths(arguments):
    lengths = {"first_name": 1, "last_name": 1, "discount_code": 1, "unsubscribe_url": 1}
    with pytest.raises(ValueError):  # noqa: PT011 - the message names the argument
        longest_values(shop_name=SHOP, **{**lengths, **arguments})


def test_estimate_of_a_plain_template_is_the_longest_rendered_message():
    body = "Hi {{first_name}}, {{discount_code}} takes 20% off. {{unsubscribe_url}}"
    longest = longest_values(first_name=12, last_name=0, shop_name=SHOP, discount_code=10, unsubscribe_url=30)
    expected = segment_info(compliant_text(render(body, longest), shop_name=SHOP))
    assert estimate_segments(body, shop_name=SHOP, longest=longest) == expected
    assert expected.encoding == GSM7


def test_estimate_is_ucs2_when_a_used_variable_may_be_ucs2():
    longest = longest_values(
        first_name=5,
        last_name=5,
        shop_name=SHOP,
        discount_code=0,
        unsubscribe_url=0,
        ucs2_variables=frozenset({"last_name"}),
    )
    assert estimate_segments("Hi {{first_name}}", shop_name=SHOP, longest=longest).encoding == GSM7
    assert estimate_segments("Hi {{last_name}}", shop_name=SHOP, longest=longest).encoding == UCS2


def test_estimate_covers_extension_characters_wasted_at_a_part_boundary():
    body = "a" * 112 + " {{discount_code}} z"
    contact = {"discount_code": "€" * 80}
    longest = longest_for([contact], shop_name=SHOP)
    naive = segment_info(compliant_text(render(body, longest), shop_name=SHOP))
    assert (naive.segments, actual(body, contact).segments) == (2, 3)
    assert estimate_segments(body, shop_name=SHOP, longest=longest).segments == 3


@pytest.mark.parametrize(
    ("filler", "characters"),
    [pytest.param("a", ("a", "€"), id="gsm_escapes"), pytest.param("Ж", ("Ж", "😀"), id="ucs2_surrogates")],
)
def test_estimate_is_the_worst_real_message_for_short_values(filler, characters):
    """Exhaustive over every value of up to 6 units, placed across the first part boundary of a
    message whose longest rendering just fills two parts, so one wasted unit costs a third."""
    values = [
        "".join(combination)
        for length in range(7)
        for combination in itertools.product(characters, repeat=length)
        if segment_info(filler + "".join(combination)).characters <= 7
    ]
    capacity = segment_info(filler * 500).per_segment
    compliance = len(f"{SHOP}: ") + len(f" {OPT_OUT_TEXT}")
    boundary = capacity - len(f"{SHOP}: ")  # literal length that ends exactly at the first part's end
    for literal, spare in itertools.product(range(boundary - 8, boundary + 2), range(3)):
        trailing = 2 * capacity - compliance - literal - 6 - spare
        body = filler * literal + "{{discount_code}}" + filler * trailing
        longest = longest_values(
            first_name=0,
            last_name=0,
            shop_name=SHOP,
            discount_code=6,
            unsubscribe_url=0,
            ucs2_variables=frozenset({"discount_code"}) if filler == "Ж" else frozenset(),
        )
        worst = max(actual(body, {"discount_code": value}).segments for value in values)
        assert estimate_segments(body, shop_name=SHOP, longest=longest).segments == worst, (literal, spare)


def test_estimate_covers_every_shorter_real_message():
    generator = random.Random(20240601)
    bodies = [
        "Hi {{first_name}}, {{discount_code}} is yours at {{shop_name}}. {{unsubscribe_url}}",
        "a" * 120 + " {{first_name}} {{last_name}} " + "b" * 140 + " {{discount_code}} {{unsubscribe_url}}",
        "€" * 70 + "{{first_name}}{{last_name}}" + "c" * 150 + " reply STOP",
        "Ж" * 60 + " {{first_name}} " + "Ж" * 5 + " {{discount_code}}",
        "{{first_name}}{{last_name}}" + "d" * 290 + "{{discount_code}}",
        "Hi {{first_name}} " + "e" * 1500 + " {{unsubscribe_url}}",
    ]
    alphabets = ["abc", "ab€^{", "abé", "aЖ", "a😀€", " ,."]
    for body in bodies:
        for alphabet in alphabets:
            contacts = [
                {
                    name: "".join(generator.choice(alphabet) for _ in range(generator.randint(0, 40)))
                    for name in ("first_name", "last_name", "discount_code")
                }
                | {"unsubscribe_url": "https://b.co/u/" + "k" * generator.randint(0, 12)}
                for _ in range(40)
            ]
            estimate = estimate_segments(body, shop_name=SHOP, longest=longest_for(contacts, shop_name=SHOP))
            for contact in contacts:
                real = actual(body, contact)
                assert real.segments <= estimate.segments, (body[:30], contact)
                if real.encoding == estimate.encoding:
                    assert real.characters <= estimate.characters, (body[:30], contact)


def test_a_placeholder_spelling_the_shop_name_does_not_hide_the_prefix():
    longest = longest_values(first_name=4, last_name=0, shop_name="XX", discount_code=0, unsubscribe_url=0)
    estimate = estimate_segments("Hi {{first_name}}", shop_name="XX", longest=longest)
    real = segment_info(compliant_text(render("Hi {{first_name}}", {"first_name": "Ann"}), shop_name="XX"))
    assert real.characters == len(f"XX: Hi Ann {OPT_OUT_TEXT}")
    assert estimate.characters == len(f"XX: Hi XXXX {OPT_OUT_TEXT}")


def test_estimate_rejects_a_malformed_template():
    longest = longest_values(first_name=1, last_name=1, shop_name=SHOP, discount_code=1, unsubscribe_url=1)
    with pytest.raises(TemplateError):
        estimate_segments("Hi {{first_name", shop_name=SHOP, longest=longest)


def test_a_casual_stop_is_not_an_opt_out_instruction():
    text = compliant_text("Don't stop shopping!", shop_name="Blossom")
    assert text.endswith(OPT_OUT_TEXT)


# --- whatever a shopper types as a name --------------------------------------------------------------

# Any code point (lone surrogates, NUL and other controls included), and the known troublemakers.
ODD_TEXT = st.one_of(
    st.text(st.characters(blacklist_categories=()), max_size=80),
    st.sampled_from(["http://[", "https://[::1", "https://alpha.myshopify.com/x", "\x00", "\ud800", "a:99999"]),
)
BOUNDED = settings(max_examples=60, deadline=None, derandomize=True)


@BOUNDED
@given(first=ODD_TEXT, last=ODD_TEXT)
def test_rendering_and_counting_never_raise_and_keep_a_shoppers_values_apart(first, last):
    body = "Hi {{first_name}} {{last_name}}, see https://alpha.myshopify.com/sale?c={{discount_code}}"
    values = {"first_name": first, "last_name": last, "shop_name": SHOP, "discount_code": "SAVE10"}
    text = render(body, values)
    runs = render_runs(body, values)
    assert "".join(run for run, _ in runs) == text
    assert [run for run, may_link in runs if not may_link] == [value for value in (first, last) if value]
    assert ("https://alpha.myshopify.com/sale?c=SAVE10", True) in [(run[-41:], may) for run, may in runs]
    message = compliant_text(text, shop_name=SHOP)
    assert segment_count(message) == segment_info(message).segments >= 1
