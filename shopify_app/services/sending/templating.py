"""SMS texts as the network carries them: the one segment counter, the compliance text (the
shop's name and how to opt out), and a launch's estimate of the parts any text of a template
can take. Templates themselves (variables, checking, rendering): rendering.py.

An earlier version had two segment counters that disagreed; every caller counts here. A text is
GSM-7 when every character is in the GSM 03.38 basic or extension table, otherwise UCS-2.
A multipart message gives part of each part to the concatenation header, so parts hold 153
septets (GSM-7) or 67 UTF-16 code units (UCS-2), and neither an extension character's escape
pair nor a surrogate pair may be split between parts: counting packs the parts the way the
network does, which can need one part more than `ceil(n / 153)`.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from ...gsm import GSM7, UCS2
from ...gsm import GSM_BASIC as _GSM_BASIC
from ...gsm import encoding_of as _encoding
from ...gsm import unit_costs as _costs
from .rendering import VARIABLES, TemplateError, joined, parse, substitute

__all__ = [
    "GSM7",
    "OPT_OUT_TEXT",
    "UCS2",
    "SegmentInfo",
    "compliant_text",
    "estimate_segments",
    "longest_values",
    "segment_count",
    "segment_info",
]

OPT_OUT_TEXT = "Reply STOP to opt out"

_SINGLE_PART = {GSM7: 160, UCS2: 70}
_MULTIPART = {GSM7: 153, UCS2: 67}

# An opt-out instruction, not any use of the word: "Reply stop", "Text STOP", or the keyword
# written in capitals ("STOP to end"). "Don't stop shopping!" is not one.
_STOP_WORD = re.compile(r"(?i:\b(?:reply|text|txt|send)\s+[\"']?stop\b)|\bSTOP\b")
# Both alternatives contain "stop" (any case); the capitals alone, tried where str.find puts them.
_ANY_STOP = re.compile(r"(?i:stop)")
_CAPITAL_STOP = re.compile(r"\bSTOP\b")
# Stand-ins for variables when deciding compliance on the template's own text (see estimate_segments).
_SHOP_NAME_MASK = "\x00"
_STOP_WORD_MASK = "X"


@dataclass(frozen=True)
class SegmentInfo:
    encoding: str  # GSM7 or UCS2
    characters: int  # GSM-7 septets (extension characters count 2) or UTF-16 code units
    segments: int  # parts billed; empty text is 1 because providers bill one part for it
    per_segment: int  # 160/70 when the text fits one part, else 153/67


# --- counting -------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Budget:
    """Up to `units` septets/code units of unknown characters, each costing 1 or 2."""

    units: int


_State = tuple[int, int]  # (parts so far, units in the last part); later states compare greater


def _add(state: _State, cost: int, capacity: int) -> _State:
    parts, used = state
    if used + cost <= capacity:
        return parts, used + cost
    return parts + 1, cost


def _furthest(state: _State, budget: int, capacity: int) -> _State:
    """The latest state any run of 1- and 2-unit characters totalling at most `budget` reaches.

    Packing is monotone (from a later state the same characters never end earlier), so the
    furthest state for each budget extends the furthest states for the two smaller budgets.
    """
    before, last = None, state  # furthest states for budgets spent - 2 and spent - 1
    for _ in range(budget):
        options = [_add(last, 1, capacity)] + ([_add(before, 2, capacity)] if before else [])
        before, last = last, max(options)
    return last


def _count(items: Iterable[int | _Budget], encoding: str) -> SegmentInfo:
    """Characters and parts for known characters (ints) and unknown runs (_Budget, worst case)."""
    items = list(items)
    characters = sum(item.units if isinstance(item, _Budget) else item for item in items)
    single, capacity = _SINGLE_PART[encoding], _MULTIPART[encoding]
    if characters <= single:
        return SegmentInfo(encoding=encoding, characters=characters, segments=1, per_segment=single)
    state: _State = (1, 0)
    for item in items:
        state = _furthest(state, item.units, capacity) if isinstance(item, _Budget) else _add(state, item, capacity)
    return SegmentInfo(encoding=encoding, characters=characters, segments=state[0], per_segment=capacity)


def segment_info(text: str) -> SegmentInfo:
    """How `text` travels as SMS: encoding, length in encoding units, and parts billed."""
    if _GSM_BASIC.issuperset(text):  # the common case, counted at C speed: every character is 1 unit
        length = len(text)
        per_segment = _SINGLE_PART[GSM7] if length <= _SINGLE_PART[GSM7] else _MULTIPART[GSM7]
        return SegmentInfo(encoding=GSM7, characters=length, segments=_basic_parts(length), per_segment=per_segment)
    encoding = _encoding(text)
    return _count(_costs(text, encoding), encoding)


def segment_count(text: str) -> int:
    """`segment_info(text).segments`, without building the SegmentInfo in the common case: a
    batch counts every text it sends."""
    return _basic_parts(len(text)) if _GSM_BASIC.issuperset(text) else segment_info(text).segments


def _basic_parts(length: int) -> int:
    """Parts for `length` characters of the GSM-7 basic set (1 unit each)."""
    return 1 if length <= _SINGLE_PART[GSM7] else -(-length // _MULTIPART[GSM7])


# --- compliance -----------------------------------------------------------------------------


def _required_shop_name(shop_name: str) -> str:
    if not isinstance(shop_name, str) or not shop_name.strip():
        raise TemplateError("Every message must name the shop; the shop name is empty.", "shop_name")
    return shop_name.strip()


def _mentions_shop(text: str, shop_name: str) -> bool:
    # Case folding maps character by character, so an exact occurrence is a folded one too.
    return shop_name in text or shop_name.casefold() in text.casefold()


def _mentions_stop(text: str) -> bool:
    """`_STOP_WORD.search(text)`, at a third of its cost in the usual text ("Reply STOP ..."):
    the pattern tries both alternatives at every position, while "STOP" is found at C speed
    and checked where it stands; the full pattern runs only when no capital STOP counts."""
    index = text.find("STOP")
    while index != -1:
        if _CAPITAL_STOP.match(text, index):  # \b at `index` sees the character before it
            return True
        index = text.find("STOP", index + 1)
    return _ANY_STOP.search(text) is not None and _STOP_WORD.search(text) is not None


def _compliance(shop_name: str, *, mentions_shop: bool, mentions_stop: bool) -> tuple[str, str]:
    """The (prefix, suffix) a marketing message needs around its text."""
    return ("" if mentions_shop else f"{shop_name}: ", "" if mentions_stop else f" {OPT_OUT_TEXT}")


def compliant_text(rendered: str, *, shop_name: str) -> str:
    """`rendered` with the shop's name in front and opt-out text at the end, unless present.

    The name counts as present anywhere in the text (case-insensitive); opt-out counts as present
    when it already tells how to opt out ("Reply STOP", "Text STOP", any case). Raises TemplateError(field="shop_name")
    for an empty shop name.
    """
    name = _required_shop_name(shop_name)
    prefix, suffix = _compliance(
        name, mentions_shop=_mentions_shop(rendered, name), mentions_stop=_mentions_stop(rendered)
    )
    return prefix + rendered + suffix


# --- estimates ------------------------------------------------------------------------------


def longest_values(
    *,
    first_name: int,
    last_name: int,
    shop_name: str,
    discount_code: int,
    unsubscribe_url: int,
    ucs2_variables: frozenset[str] = frozenset(),
) -> dict[str, str]:
    """Placeholder values as long as the longest real value of each variable, for estimates.

    Measure each real value with `segment_info(value).characters` and pass the maximum: that is
    septets for GSM-7 values ("€" counts 2) and UTF-16 units for others (most emoji count 2).
    SQL char_length undercounts both. If any value of a variable is UCS-2
    (`segment_info(value).encoding == UCS2`), name the variable in `ucs2_variables`: its
    placeholder is then "Ж" instead of "X", so a template using it is estimated as UCS-2.
    `shop_name` is the actual name.
    """
    lengths = {
        "first_name": first_name,
        "last_name": last_name,
        "discount_code": discount_code,
        "unsubscribe_url": unsubscribe_url,
    }
    if unknown := set(ucs2_variables) - set(lengths):
        raise ValueError(f"ucs2_variables may only name {sorted(lengths)}, not {sorted(unknown)}")
    if negative := [name for name, length in lengths.items() if length < 0]:
        raise ValueError(f"lengths cannot be negative: {negative}")
    placeholders = {name: ("Ж" if name in ucs2_variables else "X") * length for name, length in lengths.items()}
    return {name: shop_name if name == "shop_name" else placeholders[name] for name in VARIABLES}


def estimate_segments(body: str, *, shop_name: str, longest: Mapping[str, str]) -> SegmentInfo:
    """An upper bound on the parts of any message rendered from `body`: what a launch reserves.

    `characters` is that of `compliant_text(render(body, longest), shop_name=...)`. `segments`
    can exceed that text's own count: a shorter real value made of "€" or emoji can waste a unit
    at a part boundary, so each variable (except shop_name, which is exact) is counted as the
    worst run of 1- and 2-unit characters within its placeholder's length. Whether the message
    already names the shop or says STOP is decided on the template's own text, so a placeholder
    (e.g. "XXXX" for a shop called "XX") never hides a prefix a real message needs.
    """
    name = _required_shop_name(shop_name)
    tokens = parse(body)

    def masked(mask: str) -> str:
        return joined(substitute(tokens, {v: longest.get(v) if v == "shop_name" else mask for v in VARIABLES}))

    prefix, suffix = _compliance(
        name,
        mentions_shop=_mentions_shop(masked(_SHOP_NAME_MASK), name),
        mentions_stop=_mentions_stop(masked(_STOP_WORD_MASK)),
    )
    pieces = [(prefix, None), *substitute(tokens, longest), (suffix, None)]
    encoding = _encoding(joined(pieces))
    items: list[int | _Budget] = []
    for text, variable in pieces:
        if variable is None or variable == "shop_name":
            items.extend(_costs(text, encoding))
        else:
            items.append(_Budget(sum(_costs(text, encoding))))
    return _count(items, encoding)
