"""The SMS alphabets: which characters GSM-7 carries, and a text's length in its encoding's units.

A text is GSM-7 when every character is in the GSM 03.38 basic or extension table, otherwise
UCS-2. In GSM-7 an extension character costs two septets (an escape and the character); in
UCS-2 a character outside the Basic Multilingual Plane costs two UTF-16 code units. How many
units fit in a part, and so the parts billed, is the segment counter's (services/sending/
templating.py); the models measure names with this module (models/sealed.py).
"""

from __future__ import annotations

GSM7 = "GSM-7"
UCS2 = "UCS-2"

# GSM 03.38 default alphabet without ESC (0x1B), and the extension table reached through ESC.
GSM_BASIC = frozenset(
    "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?"
    "¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà"
)
GSM_EXTENSION = frozenset("\f^{}\\[~]|€")


def encoding_of(text: str) -> str:
    return GSM7 if all(ch in GSM_BASIC or ch in GSM_EXTENSION for ch in text) else UCS2


def unit_costs(text: str, encoding: str) -> list[int]:
    """Each character's cost in `encoding`'s units: septets (GSM-7) or UTF-16 code units."""
    if encoding == GSM7:
        return [2 if ch in GSM_EXTENSION else 1 for ch in text]
    return [2 if ord(ch) > 0xFFFF else 1 for ch in text]


def measure(text: str) -> tuple[str, int]:
    """The text's encoding and its length in that encoding's units."""
    encoding = encoding_of(text)
    return encoding, sum(unit_costs(text, encoding))
