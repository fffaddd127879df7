"""Message templates: variables, rendering, compliance text, and the one SMS segment counter.

An earlier version had two segment counters that disagreed; every caller counts here. A text is
GSM-7 when every character is in the GSM 03.38 basic or extension table, otherwise UCS-2.
A multipart message gives part of each part to the concatenation header, so parts hold 153
septets (GSM-7) or 67 UTF-16 code units (UCS-2), and neither an extension character's escape
pair nor a surrogate pair may be split between parts: counting packs the parts the way the
network does, which can need one part more than `ceil(n / 153)`.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

from ...gsm import GSM7, UCS2
from ...gsm import GSM_BASIC as _GSM_BASIC
from ...gsm import encoding_of as _encoding
from ...gsm import unit_costs as _costs

__all__ = [
    "ALL_VARIABLES",
    "GSM7",
    "MAX_BODY_LENGTH",
    "OPT_OUT_TEXT",
    "RUN_VARIABLES",
    "SHOPPER_VARIABLES",
    "UCS2",
    "VARIABLES",
    "SegmentInfo",
    "TemplateError",
    "compliant_text",
    "estimate_segments",
    "longest_values",
    "render",
    "render_runs",
    "segment_count",
    "segment_info",
    "validate_template",
]

VARIABLES = ("first_name", "last_name", "shop_name", "discount_code", "unsubscribe_url")
# What an automation's run adds (per kind, see services/automations.py).
RUN_VARIABLES = ("checkout_url", "order_number", "tracking_url", "product_title", "product_url")
ALL_VARIABLES = VARIABLES + RUN_VARIABLES
# The shopper's own values (from the contact, typed by whoever signed up): text, never a link.
SHOPPER_VARIABLES = frozenset({"first_name", "last_name"})
OPT_OUT_TEXT = "Reply STOP to opt out"
MAX_BODY_LENGTH = 1600

_SINGLE_PART = {GSM7: 160, UCS2: 70}
_MULTIPART = {GSM7: 153, UCS2: 67}

_VARIABLE_NAME = re.compile(r"\w+")
# An opt-out instruction, not any use of the word: "Reply stop", "Text STOP", or the keyword
# written in capitals ("STOP to end"). "Don't stop shopping!" is not one.
_STOP_WORD = re.compile(r"(?i:\b(?:reply|text|txt|send)\s+[\"']?stop\b)|\bSTOP\b")
# Both alternatives contain "stop" (any case); the capitals alone, tried where str.find puts them.
_ANY_STOP = re.compile(r"(?i:stop)")
_CAPITAL_STOP = re.compile(r"\bSTOP\b")
# An empty variable drops the space before it when what follows is a space, punctuation or the end.
_CLOSES_GAP = frozenset(",.!?;:)")
# Stand-ins for variables when deciding compliance on the template's own text (see estimate_segments).
_SHOP_NAME_MASK = "\x00"
_STOP_WORD_MASK = "X"


class TemplateError(ValueError):
    """A template or message the sender must fix; `field` names the input, e.g. "body"."""

    def __init__(self, message: str, field: str = "body") -> None:
        super().__init__(message)
        self.field = field
        self.message = message


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


# --- templates ------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Slot:
    name: str


def _parse(body: str, allowed: Sequence[str] = ALL_VARIABLES) -> list[str | _Slot]:
    """Split `body` into literal text and variables; raise TemplateError on any brace misuse.

    Single braces are ordinary text ("{SALE}"); double braces always mean a variable.
    """
    tokens: list[str | _Slot] = []
    position = 0
    while position < len(body):
        opening, closing = body.find("{{", position), body.find("}}", position)
        if closing != -1 and (opening == -1 or closing < opening):
            raise TemplateError(f'"}}}}" at character {closing + 1} closes no variable.')
        if opening == -1:
            tokens.append(body[position:])
            break
        end = body.find("}}", opening + 2)
        if end == -1:
            raise TemplateError(f'"{{{{" at character {opening + 1} is never closed with "}}}}".')
        inner = body[opening + 2 : end]
        if "{" in inner or "}" in inner or body.startswith("}", end + 2):
            raise TemplateError(f"Braces cannot be nested in a variable (character {opening + 1}).")
        name = inner.strip()
        if not name:
            raise TemplateError("A variable is empty; write one of " + _listing(allowed) + ".")
        if not _VARIABLE_NAME.fullmatch(name) or name not in allowed:
            raise TemplateError(f"Unknown variable {{{{{name}}}}}; use one of {_listing(allowed)}.")
        if opening > position:
            tokens.append(body[position:opening])
        tokens.append(_Slot(name))
        position = end + 2
    return tokens


def _listing(allowed: Sequence[str]) -> str:
    return ", ".join(f"{{{{{name}}}}}" for name in allowed)


def validate_template(body: str, variables: Sequence[str] = VARIABLES) -> list[str]:
    """The variables `body` uses, in order of first use; TemplateError(field="body") if invalid.

    Variables are written {{name}}, inner spaces allowed ({{ first_name }}); names are
    case-sensitive.
    """
    if not isinstance(body, str) or not body.strip():
        raise TemplateError("The message cannot be empty.")
    if len(body) > MAX_BODY_LENGTH:
        raise TemplateError(f"The message is {len(body)} characters long; the limit is {MAX_BODY_LENGTH}.")
    used: list[str] = []
    for token in _parse(body, variables):
        if isinstance(token, _Slot) and token.name not in used:
            used.append(token.name)
    return used


def _substitute(tokens: Sequence[str | _Slot], values: Mapping[str, str | None]) -> list[tuple[str, str | None]]:
    """(text, variable name or None for literal text) pieces of the rendered message."""
    pieces: list[tuple[str, str | None]] = []
    for index, token in enumerate(tokens):
        if isinstance(token, str):
            pieces.append((token, None))
            continue
        value = values.get(token.name)
        text = "" if value is None else str(value)
        if not text and pieces and pieces[-1][1] is None and pieces[-1][0].endswith(" "):
            following = tokens[index + 1] if index + 1 < len(tokens) else ""
            if isinstance(following, str) and (not following or following[0].isspace() or following[0] in _CLOSES_GAP):
                pieces[-1] = (pieces[-1][0][:-1], None)
        pieces.append((text, token.name))
    return pieces


def _joined(pieces: list[tuple[str, str | None]]) -> str:
    return "".join(text for text, _ in pieces)


def render(body: str, values: Mapping[str, str | None]) -> str:
    """Substitute variables; a missing or None value renders as "".

    An empty value also drops the space before it when a space, punctuation or the end follows,
    so "Hi {{first_name}}, ..." renders "Hi, ...". Raises TemplateError on malformed or unknown
    variables (validate_template first to also check emptiness and length).
    """
    tokens = _tokens(body)
    pieces = []
    for token in tokens:  # the usual case first: every variable has a value, no gap to close
        if type(token) is str:
            pieces.append(token)
            continue
        value = values.get(token.name)  # type: ignore[union-attr]
        text = value if type(value) is str else "" if value is None else str(value)
        if not text:
            return _joined(_substitute(tokens, values))
        pieces.append(text)
    return "".join(pieces)


def render_runs(body: str, values: Mapping[str, str | None]) -> list[tuple[str, bool]]:
    """`render(body, values)` as consecutive runs of (text, may hold links): the shopper's own
    values (SHOPPER_VARIABLES) are runs of their own that may not, so whatever a shopper typed
    as a name is never taken for a link to shorten, nor for part of the template's (a URL ends
    where a name begins); the template's text and the other values are joined into runs that may."""
    runs: list[tuple[str, bool]] = []
    for text, variable in _substitute(_tokens(body), values):
        may_link = variable not in SHOPPER_VARIABLES
        if runs and may_link and runs[-1][1]:
            runs[-1] = (runs[-1][0] + text, True)
        elif text:
            runs.append((text, may_link))
    return runs


@functools.lru_cache(maxsize=256)
def _tokens(body: str) -> tuple[str | _Slot, ...]:
    """`_parse(body)`, once per body: a batch renders the same template for every recipient."""
    return tuple(_parse(body))


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
    tokens = _parse(body)

    def masked(mask: str) -> str:
        return _joined(_substitute(tokens, {v: longest.get(v) if v == "shop_name" else mask for v in VARIABLES}))

    prefix, suffix = _compliance(
        name,
        mentions_shop=_mentions_shop(masked(_SHOP_NAME_MASK), name),
        mentions_stop=_mentions_stop(masked(_STOP_WORD_MASK)),
    )
    pieces = [(prefix, None), *_substitute(tokens, longest), (suffix, None)]
    encoding = _encoding(_joined(pieces))
    items: list[int | _Budget] = []
    for text, variable in pieces:
        if variable is None or variable == "shop_name":
            items.extend(_costs(text, encoding))
        else:
            items.append(_Budget(sum(_costs(text, encoding))))
    return _count(items, encoding)
