"""The gettext catalogs (Babel): ``camera_ops/locale/<lang>/LC_MESSAGES/messages.po``.

A translator edits the ``.po`` files (msgid = the message key, msgstr = the text; placeholders in
``{braces}``) without touching Python. They are compiled with Babel when the process starts (in
memory: nothing to build at install, nothing written next to an installed package);
``camera-ops i18n compile`` also writes ``.mo`` files for tools that want them.

``camera-ops i18n sync`` moves keys that code added to ``camera_ops.i18n.MESSAGES`` (the Python
dict new work may still use) into both catalogs.
"""

from __future__ import annotations

import io
from functools import lru_cache
from pathlib import Path

from babel.messages.catalog import Catalog
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po, write_po
from babel.support import Translations

LOCALE_DIR = Path(__file__).parent / "locale"
DOMAIN = "messages"
LANGS = ("vi", "en")


def po_path(lang: str) -> Path:
    return LOCALE_DIR / lang / "LC_MESSAGES" / f"{DOMAIN}.po"


def read_catalog(lang: str) -> Catalog:
    with po_path(lang).open("rb") as fh:
        return read_po(fh, locale=lang, domain=DOMAIN)


@lru_cache(maxsize=len(LANGS))
def translations(lang: str) -> Translations:
    """The language's catalog compiled by Babel (``.po`` → ``.mo`` bytes → gettext translations)."""
    buffer = io.BytesIO()
    write_mo(buffer, read_catalog(lang), use_fuzzy=False)
    buffer.seek(0)
    return Translations(buffer, domain=DOMAIN)


@lru_cache(maxsize=len(LANGS))
def texts(lang: str) -> dict[str, str]:
    """key → text of one language (only translated entries)."""
    return {str(m.id): str(m.string) for m in read_catalog(lang) if m.id and m.string}


def write_catalogs(entries: dict[str, tuple[str, str]]) -> None:
    """Write both catalogs from key → (vi, en), sorted by key; the other language's text is kept as
    an extracted comment so a translator sees both."""
    for index, lang in enumerate(LANGS):
        catalog = Catalog(locale=lang, domain=DOMAIN, project="camera-ops", fuzzy=False,
                          language_team=f"camera-ops {lang}", charset="utf-8")
        other = LANGS[1 - index]
        for key in sorted(entries):
            text = entries[key][index]
            catalog.add(key, text, auto_comments=[f"{other}: {entries[key][1 - index]}"])
        po_path(lang).parent.mkdir(parents=True, exist_ok=True)
        with po_path(lang).open("wb") as fh:
            write_po(fh, catalog, width=100, omit_header=False, sort_output=True)
    translations.cache_clear()
    texts.cache_clear()
    from camera_ops import i18n

    i18n._catalog.cache_clear()


def compile_catalogs() -> list[Path]:
    """Write ``messages.mo`` beside each ``.po`` (optional: the service compiles at start)."""
    written = []
    for lang in LANGS:
        target = po_path(lang).with_suffix(".mo")
        with target.open("wb") as fh:
            write_mo(fh, read_catalog(lang), use_fuzzy=False)
        written.append(target)
    return written
