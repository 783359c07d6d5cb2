"""CSV cells that a spreadsheet opens as text: the OWASP defence against CSV (formula) injection.

Export writes a `'` before every cell that starts like a formula. Import keeps that `'` on free
text (names, FAQ texts) and adds one where it is missing, so it never stores a text a spreadsheet
would run; checked columns (phone, dates, codes) drop it, since their format leaves no room for a
formula. A cell equal to what export writes for the stored text changes nothing.
"""

from __future__ import annotations

FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
ESCAPE = "'"


def neutralise(cell: str) -> str:
    """The cell with a leading `'` if it starts like a formula; other cells unchanged."""
    return ESCAPE + cell if cell.startswith(FORMULA_STARTS) else cell


def unescaped(cell: str) -> str:
    """A cell of a checked column without one leading `'` (its format is checked next)."""
    return cell.removeprefix(ESCAPE)


def plain_length(text: str) -> int:
    """The length of a text as typed, not counting the `'` that neutralises it."""
    escaped = text.startswith(ESCAPE) and text[1:].startswith(FORMULA_STARTS)
    return len(text) - 1 if escaped else len(text)


def imported_text(cell: str, stored: str | None) -> str:
    """The text to store: `stored` if the cell is what export wrote for it, else the safe cell."""
    if stored is not None and cell == neutralise(stored):
        return stored
    return neutralise(cell)
