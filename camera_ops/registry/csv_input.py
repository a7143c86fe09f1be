"""Reading an uploaded CSV file as rows, streaming, with clean errors for bad bytes.

- Encoding: a UTF-8 BOM or none → UTF-8 (strict); a UTF-16 BOM → UTF-16 (Excel's "Unicode text").
  Anything that does not decode is refused naming the field ``file`` (never a 500, never a row
  half-imported: the caller's transaction is rolled back).
- Line ends: ``\\r\\n``, ``\\n`` and a bare ``\\r`` (old Mac Excel) all end a row.
- Rows are read one at a time from the (spooled) upload, never the whole file into one string.
"""

from __future__ import annotations

import codecs
import csv
import io
from collections.abc import Callable, Iterator
from typing import BinaryIO, TextIO, TypeVar

from camera_ops.errors import ValidationFailed
from camera_ops.i18n import t

SNIFF_BYTES = 4  # the longest BOM we look for (UTF-8: 3, UTF-16: 2)
T = TypeVar("T")


def detect_encoding(head: bytes) -> str:
    if head.startswith(codecs.BOM_UTF8):
        return "utf-8-sig"
    if head.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        return "utf-16"
    return "utf-8"


def open_csv_text(binary: BinaryIO) -> TextIO:
    """A text stream over an uploaded file (rewound), decoded by :func:`detect_encoding`."""
    binary.seek(0)
    head = binary.read(SNIFF_BYTES)
    binary.seek(0)
    return io.TextIOWrapper(binary, encoding=detect_encoding(head), errors="strict", newline="")


def text_source(text: str) -> TextIO:
    """A string already decoded (CLI, tests) as the same kind of stream."""
    return io.StringIO(text.lstrip("\ufeff"), newline="")


def dict_rows(source: str | TextIO) -> tuple[list[str], Iterator[dict[str, str]]]:
    """The header and an iterator of rows; decoding and CSV syntax errors become ValidationFailed."""
    reader = csv.DictReader(text_source(source) if isinstance(source, str) else source)
    header = _guard(lambda: list(reader.fieldnames or []), reader)

    def rows() -> Iterator[dict[str, str]]:
        iterator = iter(reader)
        while True:
            row = _guard(lambda: next(iterator, None), reader)
            if row is None:
                return
            yield row

    return [h.lstrip("\ufeff") for h in header], rows()


def _guard(step: Callable[[], T], reader: csv.DictReader) -> T:
    """Run one read step; bad bytes and bad CSV become ValidationFailed naming ``file``."""
    try:
        return step()
    except UnicodeError:
        raise ValidationFailed(t("api.csv_encoding", "en"), field="file",
                               details={"message_vi": t("api.csv_encoding", "vi")}, key="api.csv_encoding") from None
    except csv.Error as exc:
        line = reader.line_num + 1  # the line being parsed is not counted yet
        raise ValidationFailed(t("api.csv_malformed", "en", line=line, reason=exc), field="file",
                               details={"message_vi": t("api.csv_malformed", "vi", line=line, reason=exc)},
                                                        key="api.csv_malformed",
                                                        params={"line": line, "reason": str(exc)}) from None
