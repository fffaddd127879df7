"""CSV cells handed to merchants, made safe to open in a spreadsheet."""

from __future__ import annotations

# What Excel, LibreOffice and Google Sheets read as the start of a formula (CSV injection).
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def safe_cell(value: object) -> object:
    """A text cell a spreadsheet would run as a formula gets a leading apostrophe, which the
    spreadsheet shows as text; anything else is returned unchanged."""
    if isinstance(value, str) and value.startswith(FORMULA_STARTS):
        return "'" + value
    return value
