"""Every reason a camera can be down for has a short "what to do" in both languages (the morning
board shows it under the reason)."""

from __future__ import annotations

import pytest

from camera_ops.health.labels import REASON_ADVICE, reason_advice
from camera_ops.health.vocabulary import Reason


@pytest.mark.parametrize("reason", list(Reason))
def test_every_reason_has_advice_in_vietnamese_and_english(reason):
    vi, en = reason_advice(reason, "vi"), reason_advice(reason, "en")
    assert vi and en and vi != en
    assert reason in REASON_ADVICE


@pytest.mark.parametrize(("reason", "words"), [
    (Reason.CLOCK_DRIFT, ["NTP", "Hikvision", "Dahua"]),  # the menu path for the common brands
    (Reason.WRONG_PASSWORD, ["nhà hảo tâm"]),  # the donor changed it: ask them
    (Reason.UNREACHABLE, ["mất điện", "cả thôn"]),  # whole hamlet down: power or uplink
    (Reason.COVERED, ["cử người"]),  # covered: visit
    (Reason.TURNED_AWAY, ["cử người"]),
])
def test_the_advice_says_what_a_commune_officer_would_do(reason, words):
    text = reason_advice(reason, "vi")
    for word in words:
        assert word in text, (reason, word)


def test_an_unknown_reason_gives_no_advice_rather_than_an_error():
    assert reason_advice("no_such_reason", "vi") == ""
