"""Picture health on real photographs (tests/picture_corpus.py): table tests per fault and per harmless
condition, through the monitor's sequence (learn 15 min apart, condition, confirmation 60 s later).

The full table with rates is bench/bench_picture_corpus.py; here two seeds per scene keep it quick.
"""

from __future__ import annotations

from datetime import timedelta

import numpy as np
import pytest

from camera_ops.health.picture import REFERENCE_SAMPLES, assess_picture
from camera_ops.health.vocabulary import PictureProblem as P
from tests import picture_corpus as pc

SEEDS = (0, 1)
CASES = [(scene, seed) for scene in pc.SCENES for seed in SEEDS]


@pytest.mark.parametrize("condition", pc.FAULTS, ids=lambda c: c.name)
def test_every_fault_on_every_real_scene_is_confirmed_as_its_problem(condition: pc.Condition) -> None:
    missed = []
    for scene, seed in CASES:
        trial = pc.run_trial(scene, condition, seed)
        wanted = set((condition.expected or "").split("|"))
        if not pc.matches(condition.expected, trial.confirmed) or set(trial.confirmed) - wanted:
            missed.append((scene, seed, sorted(trial.confirmed)))
    assert not missed


@pytest.mark.parametrize("clock", [False, True], ids=["bit-identical", "ticking clock"])
def test_a_camera_repeating_its_picture_is_confirmed_frozen(clock: bool) -> None:
    for scene, seed in CASES:
        assert pc.run_frozen_trial(scene, seed, clock=clock).confirmed == {"frozen"}, scene


@pytest.mark.parametrize("condition", pc.HARMLESS, ids=lambda c: c.name)
def test_harmless_conditions_never_change_the_status(condition: pc.Condition) -> None:
    alarms = [(s, seed, sorted(t.confirmed)) for s, seed in CASES if (t := pc.run_trial(s, condition, seed)).confirmed]
    assert not alarms


@pytest.mark.parametrize("first", [pc.passer_by, pc.truck], ids=["passer-by", "truck"])
def test_a_vehicle_in_the_very_first_snapshot_does_not_make_a_quiet_street_turned_away(first: pc.Maker) -> None:
    for scene, seed in CASES:
        assert not pc.run_first_picture_transient(scene, seed, first).shown, scene


def test_a_single_transient_snapshot_is_shown_but_only_a_second_one_confirms() -> None:
    rng = np.random.default_rng(3)
    state, at = pc.learned_camera("rocket", rng)
    truck, state = assess_picture(pc.jpeg(pc.truck("rocket", rng, rng)), state, at=at + pc.LEARN_EVERY)
    assert truck.problems and not truck.confirmed and truck.suspected == truck.problems
    gone, _ = assess_picture(pc.jpeg(pc.day("rocket", rng, rng)), state, at=at + pc.LEARN_EVERY + pc.CONFIRM_AFTER)
    assert gone.ok and not gone.confirmed


def test_black_needs_no_confirmation() -> None:
    rng = np.random.default_rng(4)
    state, at = pc.learned_camera("coffee", rng)
    black, _ = assess_picture(pc.jpeg(pc.black_picture("coffee", rng, rng)), state, at=at + pc.LEARN_EVERY)
    assert black.confirmed == (P.BLACK,)


def test_turned_away_is_not_judged_before_the_reference_exists() -> None:
    rng = np.random.default_rng(5)
    state, at = None, pc.T0
    for i in range(REFERENCE_SAMPLES - 1):
        at = pc.T0 + i * pc.LEARN_EVERY
        _, state = assess_picture(pc.jpeg(pc.day("camera", rng, rng)), state, at=at)
    away, _ = assess_picture(pc.jpeg(pc.turned_sideways("camera", rng, rng)), state, at=at + pc.LEARN_EVERY)
    assert away.metrics.reference_score is None and P.TURNED_AWAY not in away.problems


def test_reference_pictures_taken_too_close_together_count_once() -> None:
    rng = np.random.default_rng(6)
    state = None
    for i in range(REFERENCE_SAMPLES + 2):  # one a minute: a parked truck would be in all of them
        _, state = assess_picture(pc.jpeg(pc.day("rocket", rng, rng)), state, at=pc.T0 + i * timedelta(minutes=1))
    assert state is not None and state.colour.reference is None and state.colour.samples == 1


def test_the_first_infrared_night_is_not_compared_with_the_day() -> None:
    rng = np.random.default_rng(7)
    state, at = pc.learned_camera("astronaut", rng)
    assert state.colour.reference is not None and state.mono.reference is None
    night, state = assess_picture(pc.jpeg(pc.ir_night("astronaut", rng, rng)), state, at=at + pc.LEARN_EVERY)
    assert night.metrics.mode == "mono" and night.metrics.reference_score is None and night.ok
    assert state.mono.samples == 1  # the night reference starts learning


def test_headlights_dazzle_a_night_picture_into_no_verdict() -> None:
    rng = np.random.default_rng(8)
    state, at = pc.learned_camera("rocket", rng)
    lights, _ = assess_picture(pc.jpeg(pc.headlights("rocket", rng, rng)), state, at=at + pc.LEARN_EVERY)
    assert lights.metrics.dazzled and lights.ok


@pytest.mark.parametrize("maker", [pc.hand, pc.bag, pc.fog], ids=["hand", "bag", "fog"])
def test_a_picture_with_no_structure_left_is_never_turned_away(maker: pc.Maker) -> None:
    for scene, seed in CASES:
        rng = np.random.default_rng(seed)
        state, at = pc.learned_camera(scene, rng)
        a, _ = assess_picture(pc.jpeg(maker(scene, rng, rng)), state, at=at + pc.LEARN_EVERY)
        assert P.TURNED_AWAY not in a.problems and set(a.problems) & {P.COVERED, P.BLURRED}, scene
