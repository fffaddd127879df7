"""CSV cells handed to merchants, made safe to open in a spreadsheet, and read back."""

from __future__ import annotations

# What Excel, LibreOffice and Google Sheets read as the start of a formula (CSV injection).
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
ESCAPE = "'"


def _reads_as_escaped(text: str) -> bool:
    """Whether `read_cell` takes the first character of `text` for our escape."""
    return text.startswith(ESCAPE) and text[1:].startswith((*FORMULA_STARTS, ESCAPE))


def safe_cell(value: object) -> object:
    """A text cell a spreadsheet would run as a formula gets a leading apostrophe, which the
    spreadsheet shows as text; so does a text whose own leading apostrophe `read_cell` would
    take for that escape ("'=x"), so every text reads back as it was. Anything else is
    returned unchanged ("'Brien" too)."""
    if isinstance(value, str) and (value.startswith(FORMULA_STARTS) or _reads_as_escaped(value)):
        return ESCAPE + value
    return value


def read_cell(text: str) -> str:
    """A cell of one of our CSVs read back (a contact export re-imported): `safe_cell` undone."""
    return text[1:] if _reads_as_escaped(text) else text
