"""Cells that a spreadsheet will show but never run: the one neutraliser for every CSV and XLSX
export (coverage reports, custody trails, evidence packages, and any export added later).

OWASP's CSV-injection rule: a text cell that begins with ``=``, ``+``, ``-``, ``@``, a tab or a
carriage return can be taken as a formula (or DDE command) by Excel / LibreOffice; prefixing it
with a single quote makes it plain text. Numbers are left alone (``-3.5`` is a number, not a
formula). XLSX cannot hold most control characters at all (openpyxl raises, which once turned a
camera name with a NUL into a 500): they are dropped from XLSX cells as a last defence — input
validation refuses them in the first place.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Any

FORMULA_PREFIXES = ("=", "+", "-", "@", "\t", "\r")
QUOTE = "'"
# the characters openpyxl refuses in a cell (XML 1.0 forbids them): C0 controls except tab, LF, CR
XLSX_ILLEGAL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f]")


def neutralise(value: Any) -> Any:
    """``value`` unchanged unless it is text a spreadsheet could run; then quoted as text."""
    if isinstance(value, str) and value.startswith(FORMULA_PREFIXES):
        return QUOTE + value
    return value


def csv_row(values: Iterable[Any]) -> list[Any]:
    """A row for ``csv.writer.writerow`` with every cell neutralised."""
    return [neutralise(v) for v in values]


def xlsx_cell(value: Any) -> Any:
    """A value safe to put in an XLSX cell: illegal control characters dropped, then neutralised."""
    if isinstance(value, str):
        value = XLSX_ILLEGAL.sub("", value)
    return neutralise(value)


def xlsx_row(values: Iterable[Any]) -> list[Any]:
    return [xlsx_cell(v) for v in values]
