"""What a shopper's text asks for: to opt out (STOP), to opt back in (START), or for HELP.

Carriers (CTIA) and the FCC's revocation rule (47 CFR 64.1200(a)(10), since 11 April 2025)
expect an opt-out in any reasonable words to be honoured, and the words stop, quit, end, revoke,
opt out, cancel and unsubscribe to be one as a matter of law. So an opt-out is recognised when:

- the message starts with an opt-out keyword (after a courtesy word such as "please"), whatever
  follows: "STOP", "stop!!!", "Stop texting me", "Cancel my order" (the safe side: a keyword
  opening a message is read as the keyword; the text still reaches the inbox), or
- it contains one of the revocation phrases below, each about texts, messages, contacting or a
  list: "don't text me anymore", "please remove me", "no more texts", "leave me alone".

A keyword inside a sentence keeps its ordinary sense and the text stays in the inbox: "can't
stop buying these", "when does the sale end?", "I'll cancel my order if it's late". Opt-out is
checked first, so a text that is both (e.g. "Yes stop texting me") opts out.

HELP and INFO count at the start of the message ("help me", "Help, where is my order?"): the
answer is harmless. Opting back in is not, so START, UNSTOP, SUBSCRIBE and YES count only when
they are the whole message, give or take courtesy words ("Start please", "YES!"): "Start date
of the sale?" or "Yes, is it in blue?" is a question, not consent.

A pure function of the text, rules not a model: every case is a line in tests/test_reply_intent.py.
"""

from __future__ import annotations

import enum
import re
import unicodedata
from dataclasses import dataclass

__all__ = ["Intent", "ReplyIntent", "classify", "normalise"]


class Intent(enum.StrEnum):
    STOP = "stop"
    START = "start"
    HELP = "help"


@dataclass(frozen=True)
class ReplyIntent:
    intent: Intent | None
    keyword: str | None  # what matched, upper case ("STOP", "OPT OUT", "LEAVE ME ALONE"); None if nothing
    words: str  # the normalised message, for the caller's own exact words (Y, the join keyword)


# Keywords as normalised words: "opt-out" and "opt out" normalise to "opt out".
STOP_KEYWORDS = ("stopall", "stop", "end", "quit", "cancel", "unsubscribe", "unsub", "revoke", "optout", "opt out")
START_KEYWORDS = ("start", "unstop", "subscribe", "yes")
HELP_KEYWORDS = ("help", "info")
# Words that may come before a keyword ("Please STOP") or after START ("Start again please").
COURTESY = frozenset(
    {"please", "pls", "plz", "kindly", "just", "ok", "okay", "hi", "hello", "hey", "thanks", "thank", "you"}
)
START_TRAILERS = COURTESY | {"again", "me", "now", "back"}

_TEXTS = r"(?:texts?|texting|txts?|messages?|messaging|msgs?|sms|spam|marketing|promos?|notifications?|alerts?)"
_ME = r"(?:me|my (?:phone )?number|this (?:phone )?number|my phone)"
_DONT = r"(?:dont|do not|never)"
_THESE = r"(?:(?:any ?more|more|any|of|these|those|your|this|the) )*"  # "any more of your" texts
# Revocation in other words. Every pattern is about texts, messages, contacting or a list, with
# word boundaries, so "remove the item" or "no more stock?" do not match.
REVOCATION_PHRASES = tuple(
    re.compile(pattern)
    for pattern in (
        rf"\b{_DONT} (?:ever )?(?:text|txt|message|msg|sms|contact|spam)(?:ing)? me\b",
        rf"\b(?:{_DONT}|stop|quit) (?:ever )?send(?:ing)? (?:me )?{_THESE}{_TEXTS}\b",
        r"\b(?:stop|quit) (?:texting|txting|messaging|contacting|spamming|bothering|sending me)\b",
        rf"\b(?:remove|delete|erase|unlist) {_ME}\b",
        rf"\b(?:take|drop|cross|strike) {_ME} (?:off|out)\b",
        rf"\bno more {_TEXTS}\b",
        rf"\b(?:dont|do not|no longer) want (?:to (?:receive|get) )?{_THESE}{_TEXTS}\b",
        r"\bleave me alone\b",
        r"^(?:im |i am )?not interested(?: anymore| any more)?(?: thanks| thank you)?$",  # the whole message only
        r"\bwrong number\b",
        r"\b(?:unsubscribe|opt ?out|opt me out)\b",
    )
)


_APOSTROPHES = frozenset("'`\u2018\u2019\u02bc")  # ', `, left/right single quotes, modifier letter


def normalise(text: str) -> str:
    """NFKC, case folded, apostrophes dropped ("don't" -> "dont"), every other punctuation mark,
    symbol or emoji a space, spaces collapsed: "  Don't TEXT me!!! 🛑" -> "dont text me"."""
    folded = unicodedata.normalize("NFKC", text).casefold()
    kept = []
    for ch in folded:
        if ch in _APOSTROPHES:
            continue
        kept.append(ch if ch.isalnum() else " ")
    return " ".join("".join(kept).split())


def classify(text: str) -> ReplyIntent:
    """The intent of an inbound text and the keyword or phrase that decided it."""
    words = normalise(text)
    rest = _without_courtesy(words)
    if keyword := _leading(rest, STOP_KEYWORDS):
        return ReplyIntent(Intent.STOP, keyword.upper(), words)
    for phrase in REVOCATION_PHRASES:
        if found := phrase.search(words):
            return ReplyIntent(Intent.STOP, found.group(0).upper(), words)
    if (keyword := _leading(rest, START_KEYWORDS)) and _only(rest.split(), START_KEYWORDS, START_TRAILERS):
        return ReplyIntent(Intent.START, keyword.upper(), words)
    if keyword := _leading(rest, HELP_KEYWORDS):
        return ReplyIntent(Intent.HELP, keyword.upper(), words)
    return ReplyIntent(None, None, words)


def _without_courtesy(words: str) -> str:
    split = words.split()
    while split and split[0] in COURTESY:
        split.pop(0)
    return " ".join(split)


def _leading(words: str, keywords: tuple[str, ...]) -> str | None:
    """The keyword `words` starts with, as a whole word ("stop" opens "stop it", not "stopped")."""
    for keyword in keywords:
        if words == keyword or words.startswith(keyword + " "):
            return keyword
    return None


def _only(words: list[str], keywords: tuple[str, ...], trailers: frozenset[str]) -> bool:
    return all(word in keywords or word in trailers for word in words)
