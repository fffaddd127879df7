"""Message templates: the variables a text may use, checking a template, and rendering it
(as one text, or as runs that say which parts may hold links). `TemplateError` is what a
merchant must fix. Compliance text, segment counting and estimates: templating.py."""

from __future__ import annotations

import functools
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

VARIABLES = ("first_name", "last_name", "shop_name", "discount_code", "unsubscribe_url")
# What an automation's run adds (per kind, see services/automations.py).
RUN_VARIABLES = ("checkout_url", "order_number", "tracking_url", "product_title", "product_url")
ALL_VARIABLES = VARIABLES + RUN_VARIABLES
# The shopper's own values (from the contact, typed by whoever signed up): text, never a link.
SHOPPER_VARIABLES = frozenset({"first_name", "last_name"})
MAX_BODY_LENGTH = 1600

_VARIABLE_NAME = re.compile(r"\w+")
# An empty variable drops the space before it when what follows is a space, punctuation or the end.
_CLOSES_GAP = frozenset(",.!?;:)")


class TemplateError(ValueError):
    """A template or message the sender must fix; `field` names the input, e.g. "body"."""

    def __init__(self, message: str, field: str = "body") -> None:
        super().__init__(message)
        self.field = field
        self.message = message


@dataclass(frozen=True)
class Slot:
    name: str


def parse(body: str, allowed: Sequence[str] = ALL_VARIABLES) -> list[str | Slot]:
    """Split `body` into literal text and variables; raise TemplateError on any brace misuse.

    Single braces are ordinary text ("{SALE}"); double braces always mean a variable.
    """
    tokens: list[str | Slot] = []
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
        tokens.append(Slot(name))
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
    for token in parse(body, variables):
        if isinstance(token, Slot) and token.name not in used:
            used.append(token.name)
    return used


def substitute(tokens: Sequence[str | Slot], values: Mapping[str, str | None]) -> list[tuple[str, str | None]]:
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


def joined(pieces: list[tuple[str, str | None]]) -> str:
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
            return joined(substitute(tokens, values))
        pieces.append(text)
    return "".join(pieces)


def render_runs(body: str, values: Mapping[str, str | None]) -> list[tuple[str, bool]]:
    """`render(body, values)` as consecutive runs of (text, may hold links): the shopper's own
    values (SHOPPER_VARIABLES) are runs of their own that may not, so whatever a shopper typed
    as a name is never taken for a link to shorten, nor for part of the template's (a URL ends
    where a name begins); the template's text and the other values are joined into runs that may."""
    runs: list[tuple[str, bool]] = []
    for text, variable in substitute(_tokens(body), values):
        may_link = variable not in SHOPPER_VARIABLES
        if runs and may_link and runs[-1][1]:
            runs[-1] = (runs[-1][0] + text, True)
        elif text:
            runs.append((text, may_link))
    return runs


@functools.lru_cache(maxsize=256)
def _tokens(body: str) -> tuple[str | Slot, ...]:
    """`parse(body)`, once per body: a batch renders the same template for every recipient."""
    return tuple(parse(body))
