"""The probe engine against simulated cameras over real sockets, with a 1 s cycle.

Time is counted in cycles (which probe slots each camera completed), never asserted in seconds;
waits have generous safety timeouts only.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, replace

import pytest
from sqlalchemy import select

from camera_ops.health.vocabulary import Reason, Status, mask_to_reasons
from camera_ops.monitor.engine import Monitor
from camera_ops.monitor.schedule import slot_index
from camera_ops.monitor.testing import register_sim_cameras, running_monitor
from camera_ops.sim.spec import CameraSpec
from camera_ops.sim.testing import running_fleet
from storage.models import Camera, Lifecycle
from storage.models_monitoring import CameraHealth, CameraStatusChange
from storage.types import utcnow
from tests.factories import make_commune

pytestmark = [pytest.mark.db, pytest.mark.slow, pytest.mark.timeout(240)]

CYCLE_S = 1.0
WAIT_S = 60.0  # safety net only: every wait is on a count of probes


def fast_settings(settings, **extra):
    return settings.model_copy(update={
        "monitor_cycle_s": CYCLE_S, "monitor_call_timeout_s": 0.8, "monitor_quick_reprobe_s": 0.2,
        "monitor_flush_s": 0.1, "monitor_reload_s": 0.2, "monitor_details_every_s": 0.0,
        "snapshot_interval_s": 0.5, "snapshot_soon_s": 0.5, "snapshot_after_recovery_s": 0.5,
        "picture_confirm_s": 0.3, "picture_reference_spacing_s": 0.0, **extra,
    })


@dataclass
class World:
    fleet: object
    ids: dict[str, int]  # sim camera name -> camera id


def setup_world(session, settings, fleet) -> World:
    commune = make_commune(session, hamlets=3)
    cameras = register_sim_cameras(session, settings, fleet.cameras, commune.hamlets)
    session.commit()
    return World(fleet, {c.name: c.id for c in cameras})


def regular_slots(monitor: Monitor, camera_id: int) -> list[int]:
    return (monitor.stats.regular_slots or {}).get(camera_id, [])


async def wait_cycles(monitor: Monitor, camera_ids, cycles: int) -> None:
    """Wait until every camera finished a regular probe in a slot ``cycles`` cycles after now."""
    target = slot_index(monitor.clock(), CYCLE_S) + cycles
    await monitor.wait_for(lambda: all(max(regular_slots(monitor, c), default=-1) >= target for c in camera_ids),
                           timeout_s=WAIT_S)
    await monitor.flush()


def db_status(session, camera_id):
    """Read, then end the transaction at once: the monitor writes from its own thread (SQLite has
    one writer, and the test session is a writing one)."""
    session.expire_all()
    camera = session.get(Camera, camera_id)
    status = Status(camera.status.value), tuple(camera.status_reasons)
    session.commit()
    return status


FAULTS = {
    "off": ({"offline": True}, Status.OFFLINE, Reason.UNREACHABLE),
    "hole": ({"black_hole": True}, Status.OFFLINE, Reason.TIMEOUT),
    "slow": ({"latency_s": 3.0}, Status.OFFLINE, Reason.TIMEOUT),
    "pw": ({"password": "changed-by-someone"}, Status.UNAUTHORIZED, Reason.WRONG_PASSWORD),
    "skew": ({"clock_skew_s": 600.0}, Status.DEGRADED, Reason.CLOCK_DRIFT),
    "black": ({"black": True}, Status.DEGRADED, Reason.BLACK),
    "frozen": ({"frozen": True}, Status.DEGRADED, Reason.FROZEN),
    "covered": ({"covered": True}, Status.DEGRADED, Reason.COVERED),
    "blur": ({"defocused": True}, Status.DEGRADED, Reason.BLURRED),
    "away": ({"turned_away": True}, Status.DEGRADED, Reason.TURNED_AWAY),
}


def healthy(status: Status, reasons: tuple[str, ...]) -> bool:
    return status is Status.ONLINE and not reasons


async def test_every_simulated_fault_gives_its_status_and_reason_within_two_cycles(session, settings, engine):
    settings = fast_settings(settings)
    names = [*FAULTS, "night", "fine"]
    vendor_of = {"off": "hikvision", "pw": "dahua", "hole": "hikvision", "skew": "dahua"}
    specs = [CameraSpec(name=n, group="hamlet-a", vendor=vendor_of.get(n, "generic")) for n in names]
    with running_fleet(specs) as fleet:
        world = setup_world(session, settings, fleet)
        set_faults, clear_faults = fleet.set_faults, fleet.clear_faults
        async with running_monitor(settings, engine=engine) as monitor:
            ids = list(world.ids.values())
            # learn: every camera online with a blur baseline (5 good pictures) and a reference picture
            await monitor.wait_for(lambda: all(
                (rt := monitor.cameras[c]).state.status is Status.ONLINE and rt.picture is not None
                and rt.picture.sharpness_samples >= 6 for c in ids), timeout_s=WAIT_S)
            for name, (faults, _, _) in FAULTS.items():
                set_faults(name, **faults)
            set_faults("night", night_ir=True)
            await wait_cycles(monitor, ids, 2)
            for name, (_, status, reason) in FAULTS.items():
                got_status, got_reasons = db_status(session, world.ids[name])
                assert got_status is status, f"{name}: {got_status} {got_reasons}"
                assert reason.value in got_reasons, f"{name}: {got_reasons}"
            assert Reason.BLACK.value not in db_status(session, world.ids["night"])[1]  # infrared night is not black
            assert healthy(*db_status(session, world.ids["fine"]))
            # and back: one good probe recovers
            for name in FAULTS:
                clear_faults(name)
            await wait_cycles(monitor, ids, 2)
            for name in ("off", "hole", "pw", "skew", "black", "covered"):
                status, reasons = db_status(session, world.ids[name])
                assert healthy(status, reasons) and FAULTS[name][2].value not in reasons, (name, status, reasons)


async def test_history_has_one_row_per_change_never_one_per_probe(session, settings, engine):
    settings = fast_settings(settings)
    with running_fleet([CameraSpec(name="n2"), CameraSpec(name="n4")]) as fleet:
        world = setup_world(session, settings, fleet)
        world.ids = {"a": world.ids["n2"], "b": world.ids["n4"]}
        async with running_monitor(settings, engine=engine) as monitor:
            await wait_cycles(monitor, world.ids.values(), 5)
            fleet.set_faults("n2", offline=True)
            await wait_cycles(monitor, world.ids.values(), 3)
            probes = monitor.stats.completed[world.ids["a"]]
        rows = session.execute(select(CameraStatusChange).where(CameraStatusChange.camera_id == world.ids["a"])
                               .order_by(CameraStatusChange.at)).scalars().all()
        assert probes >= 8 and len(rows) <= probes // 2
        assert rows[0].status.value in ("online", "degraded") and rows[-1].status.value == "offline"
        assert mask_to_reasons(rows[-1].reasons_mask) == (Reason.UNREACHABLE,)
        for before, after in zip(rows, rows[1:]):  # every row is a change of status or reasons
            assert (before.status, before.reasons_mask) != (after.status, after.reasons_mask)
        health = session.get(CameraHealth, world.ids["b"])
        assert health.last_seen_at is not None and health.rtt_ms is not None and health.thumbnail[:2] == b"\xff\xd8"
        assert health.picture_metrics["width"] > 0 and health.clock_offset_s is not None


async def test_flapping_camera_is_damped_by_hysteresis(session, settings, engine):
    # up 1.5 s, down 0.7 s: a single failed probe is never confirmed (re-probe lands in the up phase)
    settings = fast_settings(settings, monitor_quick_reprobe_s=0.9)
    with running_fleet([CameraSpec(name="flap"), CameraSpec(name="ok")]) as fleet:
        world = setup_world(session, settings, fleet)
        async with running_monitor(settings, engine=engine) as monitor:
            await wait_cycles(monitor, world.ids.values(), 2)
            fleet.set_faults("flap", flapping=(1.5, 0.7))
            await wait_cycles(monitor, world.ids.values(), 12)
            flap = monitor.cameras[world.ids["flap"]].state
        statuses = session.scalars(select(CameraStatusChange.status)
                                   .where(CameraStatusChange.camera_id == world.ids["flap"])).all()
        # probes saw the camera down several times, but status changed at most rarely
        assert flap.consecutive_failures <= 1
        assert [s.value for s in statuses].count("offline") <= 1


async def test_black_holed_cameras_do_not_delay_the_healthy_ones(session, settings, engine):
    # call deadline longer than the cycle: a black-holed camera's probe outlives its own slot
    settings = fast_settings(settings, monitor_call_timeout_s=2.5, monitor_concurrency=64)
    specs = [CameraSpec(name=f"hole{i}", faults=None or __import__("camera_ops.sim.faults", fromlist=["Faults"])
                        .Faults(black_hole=True)) for i in range(6)] + [CameraSpec(name=f"ok{i}") for i in range(6)]
    with running_fleet(specs) as fleet:
        world = setup_world(session, settings, fleet)
        healthy = [world.ids[f"ok{i}"] for i in range(6)]
        holes = [world.ids[f"hole{i}"] for i in range(6)]
        async with running_monitor(settings, engine=engine) as monitor:
            start = slot_index(monitor.clock(), CYCLE_S) + 1
            await wait_cycles(monitor, healthy, 8)
            end = slot_index(monitor.clock(), CYCLE_S) - 1
        for camera_id in healthy:  # a completed probe in every single cycle
            slots = [s for s in regular_slots(monitor, camera_id) if start <= s <= end]
            assert slots == list(range(start, end + 1)), (camera_id, slots)
        for camera_id in holes:  # each hole probe holds its camera for several cycles
            assert len([s for s in regular_slots(monitor, camera_id) if start <= s <= end]) < (end - start + 1)
        assert monitor.stats.skipped_busy > 0


async def test_new_retired_and_maintenance_cameras_are_picked_up_without_restart(session, settings, engine):
    settings = fast_settings(settings)
    with running_fleet([CameraSpec(name="first"), CameraSpec(name="later")]) as fleet:
        commune = make_commune(session, hamlets=1)
        (first,) = register_sim_cameras(session, settings, fleet.cameras[:1], commune.hamlets)
        session.commit()
        async with running_monitor(settings, engine=engine) as monitor:
            await wait_cycles(monitor, [first.id], 1)
            (later,) = register_sim_cameras(session, settings, fleet.cameras[1:], commune.hamlets)
            session.commit()
            await monitor.wait_for(lambda: monitor.stats.completed[later.id] >= 2, timeout_s=WAIT_S)
            session.get(Camera, first.id).lifecycle = Lifecycle.maintenance
            session.commit()
            await monitor.wait_for(lambda: monitor.cameras[first.id].state.status is Status.MAINTENANCE,
                                   timeout_s=WAIT_S)
            session.get(Camera, later.id).lifecycle = Lifecycle.retired
            session.commit()
            await monitor.wait_for(lambda: later.id not in monitor.cameras, timeout_s=WAIT_S)
            probes_when_retired = monitor.stats.completed[later.id]
            await wait_cycles(monitor, [first.id], 2)
            assert monitor.stats.completed[later.id] <= probes_when_retired + 1  # one may have been in flight
        assert db_status(session, first.id)[0] is Status.MAINTENANCE
        assert db_status(session, later.id)[0] is Status.UNKNOWN  # retired: no uptime counted from here


async def test_reference_picture_can_be_retaken_after_a_planned_move(session, settings, engine):
    settings = fast_settings(settings)
    with running_fleet([CameraSpec(name="n5")]) as fleet:
        world = setup_world(session, settings, fleet)
        camera_id = world.ids["n5"]
        async with running_monitor(settings, engine=engine) as monitor:
            # turned away is judged only once the reference (median of 5 good pictures) exists
            await monitor.wait_for(lambda: (p := monitor.cameras[camera_id].picture) is not None
                                   and (p.colour.reference or p.mono.reference) is not None, timeout_s=WAIT_S)
            fleet.set_faults("n5", turned_away=True)  # the planned move: a new scene
            await wait_cycles(monitor, [camera_id], 2)
            status, reasons = db_status(session, camera_id)
            assert status is Status.DEGRADED and "turned_away" in reasons
            health = session.get(CameraHealth, camera_id)
            health.reference_requested_at = utcnow()
            session.commit()
            await monitor.wait_for(lambda: monitor.cameras[camera_id].reference_requested_at is None,
                                   timeout_s=WAIT_S)
            await wait_cycles(monitor, [camera_id], 2)
        # the new scene is the reference now (the simulator's knocked-up view is static, so it may
        # still be judged frozen: that is the picture, not the reference)
        assert "turned_away" not in db_status(session, camera_id)[1]
        session.expire_all()
        health = session.get(CameraHealth, camera_id)
        assert health.reference_taken_at is not None and health.reference_requested_at is None


async def test_a_restarted_monitor_resumes_saved_states_and_reloads_read_them_only_for_new_cameras(
    session, settings, engine
):
    from camera_ops.monitor.store import PasswordCache, load_cameras

    settings = fast_settings(settings)
    with running_fleet([CameraSpec(name="r1")]) as fleet:
        world = setup_world(session, settings, fleet)
        camera_id = world.ids["r1"]
        async with running_monitor(settings, engine=engine) as monitor:
            await monitor.wait_for(lambda: monitor.stats.snapshots >= 2, timeout_s=WAIT_S)
            await wait_cycles(monitor, [camera_id], 1)
            baseline = monitor.cameras[camera_id].picture
        assert baseline is not None
        async with running_monitor(settings, engine=engine) as again:
            resumed = again.cameras[camera_id]
            # the learned baseline and the status come back from the database, not from scratch
            assert resumed.picture is not None  # None would mean "never pictured": learn from scratch
            assert resumed.state.status is Status.ONLINE
    session.commit()
    passwords = PasswordCache(settings)
    fresh = load_cameras(session, passwords)[camera_id]
    known = load_cameras(session, passwords, known={camera_id})[camera_id]
    assert fresh.picture_state is not None and fresh.state is not None
    assert known.picture_state is None and known.state is None and known.target == fresh.target
    session.commit()


async def test_a_suspected_picture_problem_is_confirmed_by_a_snapshot_soon_after(session, settings, engine):
    """Routine snapshots are rare; a covered picture asks for the confirmation snapshot
    picture_confirm_s later, and only that one makes the camera degraded."""
    settings = fast_settings(settings)
    with running_fleet([CameraSpec(name="c1")]) as fleet:
        world = setup_world(session, settings, fleet)
        camera_id = world.ids["c1"]
        async with running_monitor(settings, engine=engine) as monitor:
            await monitor.wait_for(lambda: (p := monitor.cameras[camera_id].picture) is not None
                                   and p.sharpness_samples >= 2, timeout_s=WAIT_S)
            monitor.policy = replace(monitor.policy, snapshot_interval_s=3600.0, snapshot_soon_s=3600.0)
            await monitor.wait_for(lambda: (due := monitor.cameras[camera_id].next_snapshot_at) is not None
                                   and due - monitor.clock() > 600, timeout_s=WAIT_S)
            snapshots = monitor.stats.snapshots
            fleet.set_faults("c1", covered=True)
            monitor.cameras[camera_id].next_snapshot_at = 0.0  # one routine snapshot sees it now
            await monitor.wait_for(lambda: monitor.cameras[camera_id].state.status is Status.DEGRADED,
                                   timeout_s=WAIT_S)
            assert monitor.stats.snapshots == snapshots + 2  # the one that saw it and the one that confirmed it
            assert Reason.COVERED in monitor.cameras[camera_id].state.reasons


async def test_liveness_each_cycle_full_check_on_its_interval_offline_within_two_cycles_clock_at_recovery(
    session, settings, engine
):
    full_every_cycles = 4
    settings = fast_settings(settings, monitor_full_check_s=full_every_cycles * CYCLE_S, snapshot_interval_s=600.0,
                             snapshot_soon_s=600.0, snapshot_after_recovery_s=600.0)
    with running_fleet([CameraSpec(name=f"l{i}") for i in range(3)]) as fleet:
        world = setup_world(session, settings, fleet)
        ids = list(world.ids.values())
        async with running_monitor(settings, engine=engine) as monitor:
            await wait_cycles(monitor, ids, 1)
            full0, live0 = monitor.stats.full_checks, monitor.stats.liveness_checks
            await wait_cycles(monitor, ids, 3 * full_every_cycles)
            full = monitor.stats.full_checks - full0
            live = monitor.stats.liveness_checks - live0
            # per camera about one full check per interval, liveness in every other cycle
            assert live > 2 * full and full <= len(ids) * (3 + 2)
            # the liveness exchanges of a camera go over one RTSP connection, kept between cycles
            kept = {c: monitor.cameras[c].rtsp_link.kept for c in ids}
            assert all(k is not None and not k.closed for k in kept.values())
            await wait_cycles(monitor, ids, 2)
            assert all(monitor.cameras[c].rtsp_link.kept is kept[c] for c in ids)

            # down: a liveness failure asks for a quick full check, which confirms it
            down = world.ids["l0"]
            fleet.set_faults("l0", offline=True)
            failed_at = slot_index(monitor.clock(), CYCLE_S)
            await monitor.wait_for(lambda: monitor.cameras[down].state.status is Status.OFFLINE, timeout_s=WAIT_S)
            assert slot_index(monitor.clock(), CYCLE_S) <= failed_at + 2

            # credentials are the full check's: a changed password shows at the next one
            fleet.set_faults("l1", password="changed-by-someone")
            await monitor.wait_for(lambda: monitor.cameras[world.ids["l1"]].state.status is Status.UNAUTHORIZED,
                                   timeout_s=WAIT_S)

            # back from offline with a wrong clock: the recovering probe is a full one and reads it
            fleet.set_faults("l0", offline=False, clock_skew_s=600.0)
            await monitor.wait_for(lambda: monitor.cameras[down].state.status is not Status.OFFLINE, timeout_s=WAIT_S)
            await monitor.flush()
        session.expire_all()
        rows = session.execute(select(CameraStatusChange.status, CameraStatusChange.reasons_mask)
                               .where(CameraStatusChange.camera_id == down).order_by(CameraStatusChange.at)).all()
        session.commit()
        after_offline = [(Status(s.value), tuple(mask_to_reasons(m))) for s, m in rows][-2:]
        assert after_offline[0][0] is Status.OFFLINE
        assert after_offline[1] == (Status.DEGRADED, (Reason.CLOCK_DRIFT,))  # never "online" in between
