"""services/reply_intent.classify: every phrasing the opt-out, START and HELP rules decide.

A STOP is never lost: a keyword opening the message or a plain revocation in other words opts
out; a keyword used in its ordinary sense inside a sentence stays in the inbox.
"""

from __future__ import annotations

import pytest

from shopify_app.services.contacts.reply_intent import Intent, classify, normalise

OPT_OUTS = [
    ("STOP", "STOP"),
    ("stop", "STOP"),
    (" Stop ", "STOP"),
    ("stop!!!", "STOP"),
    ("STOP.", "STOP"),
    ("STOP STOP", "STOP"),
    ("Stop please", "STOP"),
    ("stop texting me", "STOP"),
    ("Please STOP", "STOP"),
    ("🛑 STOP 🛑", "STOP"),
    ("\uff33\uff34\uff2f\uff30", "STOP"),  # full-width letters: NFKC
    ("STOPALL", "STOPALL"),
    ("END", "END"),
    ("quit", "QUIT"),
    ("Cancel", "CANCEL"),
    ("cancel my order", "CANCEL"),  # a keyword opening the message wins: the safe side
    ("Stop, is the sale still on?", "STOP"),  # starts with STOP and asks something: opts out
    ("unsubscribe", "UNSUBSCRIBE"),
    ("unsubscribe me", "UNSUBSCRIBE"),
    ("revoke", "REVOKE"),
    ("opt out", "OPT OUT"),
    ("opt-out", "OPT OUT"),
    ("OptOut", "OPTOUT"),
    ("Opt out now", "OPT OUT"),
    ("don't text me anymore", "DONT TEXT ME"),
    ("Don\u2019t message me again", "DONT MESSAGE ME"),
    ("please remove me", "REMOVE ME"),
    ("take me off your list", "TAKE ME OFF"),
    ("no more texts", "NO MORE TEXTS"),
    ("No more messages please!", "NO MORE MESSAGES"),
    ("leave me alone", "LEAVE ME ALONE"),
    ("remove my number", "REMOVE MY NUMBER"),
    ("I don't want these messages", "DONT WANT THESE MESSAGES"),
    ("I do not want to receive any more texts", "DO NOT WANT TO RECEIVE ANY MORE TEXTS"),
    ("do not contact me", "DO NOT CONTACT ME"),
    ("Can you stop sending me these texts?", "STOP SENDING ME THESE TEXTS"),
    ("why won't you stop texting me", "STOP TEXTING"),
    ("how do I unsubscribe?", "UNSUBSCRIBE"),
    ("never text me again", "NEVER TEXT ME"),
    ("wrong number", "WRONG NUMBER"),
    ("Not interested, thanks", "NOT INTERESTED THANKS"),
    ("Yes stop texting me", "STOP TEXTING"),  # opt-out wins over a START word
]


@pytest.mark.parametrize(("text", "keyword"), OPT_OUTS)
def test_an_opt_out_in_any_reasonable_words_is_recognised(text, keyword):
    found = classify(text)
    assert (found.intent, found.keyword) == (Intent.STOP, keyword)


@pytest.mark.parametrize(
    "text",
    [
        "can't stop buying these",
        "when does the sale end?",
        "I'll cancel my order if it's late",
        "Is the STOP sale still on",
        "Do you ship to Canada?",
        "Stopped by the shop today, loved it",
        "The weekend sale was great",
        "Can you remove the item from my cart?",
        "no more stock of the blue one?",
        "I want more texts like this!",
        "Please send me the tracking number",
        "quite nice",
        "Not interested in the red one, do you have it in blue?",
        "Yes, is it in blue?",
        "Start date of the sale?",
        "can you help me find my size",
        "",
        "🙂",
    ],
)
def test_a_keyword_in_its_ordinary_sense_is_no_intent(text):
    assert classify(text).intent is None


@pytest.mark.parametrize(
    ("text", "keyword"),
    [
        ("START", "START"),
        ("start", "START"),
        ("Unstop", "UNSTOP"),
        ("YES", "YES"),
        ("yes!", "YES"),
        ("subscribe me", "SUBSCRIBE"),
        ("Start again please", "START"),
    ],
)
def test_start_is_recognised_only_as_the_whole_message(text, keyword):
    found = classify(text)
    assert (found.intent, found.keyword) == (Intent.START, keyword)


@pytest.mark.parametrize(
    ("text", "keyword"),
    [("HELP", "HELP"), ("help me", "HELP"), ("Info", "INFO"), ("Help! where is my order?", "HELP")],
)
def test_help_is_recognised_at_the_start_of_the_message(text, keyword):
    found = classify(text)
    assert (found.intent, found.keyword) == (Intent.HELP, keyword)


def test_normalising_folds_case_width_apostrophes_punctuation_and_emoji():
    assert normalise("  Don\u2019t TEXT   me!!! 🛑 ") == "dont text me"
    assert normalise("OPT-OUT") == "opt out"
    assert normalise("\uff33\uff34\uff2f\uff30") == "stop"
