"""The gettext catalogs: both languages carry the same keys, every entry is translated with the
same placeholders, Babel compiles them, and ``t()`` reads them (a key code still adds to the
Python dict works at once)."""

from __future__ import annotations

import string

import pytest

from camera_ops import catalogs, i18n


def _names(text: str) -> set[str]:
    return {name for _, name, _, _ in string.Formatter().parse(text) if name}


def test_both_catalogs_have_the_same_keys_all_translated_with_the_same_placeholders():
    vi, en = catalogs.texts("vi"), catalogs.texts("en")
    assert len(vi) > 600 and set(vi) == set(en)
    for key in vi:
        assert vi[key].strip() and en[key].strip(), key
        assert _names(vi[key]) == _names(en[key]), key


def test_babel_compiles_the_catalogs_and_t_reads_them():
    assert catalogs.translations("vi").gettext("nav.board") == "Tình trạng"
    assert i18n.t("nav.board") == "Tình trạng" and i18n.t("nav.board", "en") == "Health"
    assert i18n.t("common.showing", "vi", shown=3, total=10) == "3 / 10"
    with pytest.raises(KeyError):
        i18n.t("no.such.key")


def test_a_key_added_to_the_python_dict_works_until_it_is_moved(monkeypatch):
    monkeypatch.setitem(i18n.MESSAGES, "test.new_key", ("Mới {n}", "New {n}"))
    assert i18n.t("test.new_key", "vi", n=2) == "Mới 2" and i18n.t("test.new_key", "en", n=2) == "New 2"
    assert i18n.has("test.new_key") and "test.new_key" in i18n.all_keys()


@pytest.mark.parametrize("size, vi, en", [
    (93_893_061, "93,9 MB", "93.9 MB"), (1_500_000_000, "1,5 GB", "1.5 GB"), (2_048, "2 kB", "2 kB"),
    (512, "512 byte", "512 byte"), (None, "—", "—"),
])
def test_sizes_read_in_babel_units_with_the_languages_decimal_mark(size, vi, en):
    assert i18n.fmt_size(size, "vi") == vi and i18n.fmt_size(size, "en") == en


def test_numbers_follow_babels_vietnamese_locale():
    assert i18n.fmt_number(1234567.25, 1, "vi") == "1.234.567,2"  # half-even, like Babel's default
    assert i18n.fmt_number(1234567.25, 1, "en") == "1,234,567.2"
    assert i18n.fmt_percent(97.5) == "97,5\u00a0%"
