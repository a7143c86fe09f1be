"""Reading an uploaded CSV file as rows, streaming, with clean errors for bad bytes.

- Encoding: a UTF-8 BOM or none → UTF-8 (strict); a UTF-16 BOM → UTF-16 (Excel's "Unicode text");
  no BOM and the first ``SAMPLE_BYTES`` are not UTF-8 → Windows-1258 (what Excel saves as "CSV" on
  a Vietnamese Windows); its combining tone marks are composed (NFC) so "Thôn" matches "Thôn".
  Anything that does not decode is refused naming the field ``file`` (never a 500, never a row
  half-imported: the caller's transaction is rolled back).
- An Excel workbook (``.xlsx``) is read with openpyxl: the first sheet, first row the header.
- Line ends: ``\\r\\n``, ``\\n`` and a bare ``\\r`` (old Mac Excel) all end a row.
- Rows are read one at a time from the (spooled) upload, never the whole file into one string.
"""

from __future__ import annotations

import codecs
import csv
import io
import re
import unicodedata
from collections.abc import Callable, Iterator
from typing import BinaryIO, TextIO, TypeVar

from camera_ops.errors import ValidationFailed
from camera_ops.i18n import t

SNIFF_BYTES = 4  # the longest BOM we look for (UTF-8: 3, UTF-16: 2)
SAMPLE_BYTES = 16 * 1024  # the first rows tell UTF-8 from Windows-1258 (names carry tone marks from row 2)
# Windows-1258 is only taken for text: no C0 control characters besides tab and line ends.
_NOT_TEXT = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")
XLSX_MAGIC = b"PK\x03\x04"  # an .xlsx is a zip file
T = TypeVar("T")


def detect_encoding(head: bytes) -> str:
    """The encoding of a file from its first bytes (``SAMPLE_BYTES`` of them, or fewer)."""
    if head.startswith(codecs.BOM_UTF8):
        return "utf-8-sig"
    if head.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        return "utf-16"
    try:
        codecs.getincrementaldecoder("utf-8")("strict").decode(head, final=False)
    except UnicodeDecodeError:
        try:  # Windows Vietnamese (nine byte values are undefined in it): the fallback, never a first guess
            if not _NOT_TEXT.search(head.decode("cp1258")):
                return "cp1258"
        except UnicodeDecodeError:
            pass
    return "utf-8"  # strict: what is neither is refused while reading, naming the file


class _Composed(io.TextIOBase):
    """A text stream whose lines are NFC-composed (Windows-1258 writes tone marks as combining
    characters; the registry stores composed text)."""

    def __init__(self, inner: TextIO) -> None:
        self._inner = inner

    def readable(self) -> bool:
        return True

    def readline(self, size: int = -1) -> str:  # type: ignore[override]
        return unicodedata.normalize("NFC", self._inner.readline(size))

    def __next__(self) -> str:
        line = self.readline()
        if not line:
            raise StopIteration
        return line

    def __iter__(self) -> _Composed:
        return self


def open_csv_text(binary: BinaryIO, filename: str | None = None) -> TextIO:
    """A text stream over an uploaded file (rewound), decoded by :func:`detect_encoding`; an
    ``.xlsx`` workbook becomes the same CSV text."""
    binary.seek(0)
    head = binary.read(SAMPLE_BYTES)
    binary.seek(0)
    if head.startswith(XLSX_MAGIC) or (filename or "").lower().endswith(".xlsx"):
        return xlsx_as_csv(binary)
    encoding = detect_encoding(head)
    text = io.TextIOWrapper(binary, encoding=encoding, errors="strict", newline="")
    return _Composed(text) if encoding == "cp1258" else text  # type: ignore[return-value]


def xlsx_as_csv(binary: BinaryIO) -> TextIO:
    """The first sheet of a workbook as CSV text; dates as dd/mm/yyyy, whole numbers without ``.0``."""
    import zipfile

    from openpyxl import load_workbook

    try:
        book = load_workbook(binary, read_only=True, data_only=True)
    except (zipfile.BadZipFile, KeyError, ValueError, OSError):
        raise ValidationFailed("the file is not an Excel workbook (.xlsx)", field="file",
                               key="err.import.not_xlsx") from None
    out = io.StringIO(newline="")
    writer = csv.writer(out)
    try:
        for row in book.worksheets[0].iter_rows(values_only=True):
            if row is None or all(cell is None or str(cell).strip() == "" for cell in row):
                continue
            writer.writerow([_cell(cell) for cell in row])
    finally:
        book.close()
    out.seek(0)
    return out


def _cell(value: object) -> str:
    import datetime as _dt

    if value is None:
        return ""
    if isinstance(value, _dt.datetime):
        return value.strftime("%d/%m/%Y") if value.time() == _dt.time() else value.strftime("%d/%m/%Y %H:%M")
    if isinstance(value, _dt.date):
        return value.strftime("%d/%m/%Y")
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return unicodedata.normalize("NFC", str(value))


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
