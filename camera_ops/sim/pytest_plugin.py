"""pytest fixture ``sim_fleet``: a factory that starts simulated fleets, all stopped at teardown.

Use: ``pytest_plugins = ["camera_ops.sim.pytest_plugin"]`` in a conftest, then::

    def test_x(sim_fleet):
        fleet = sim_fleet(count=2)                 # or sim_fleet([CameraSpec(...)], control_port=0)
        cam = fleet.cameras[0]
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import ExitStack
from typing import Any

import pytest

from camera_ops.sim.spec import CameraSpec
from camera_ops.sim.testing import FleetHandle, running_fleet

FleetFactory = Callable[..., FleetHandle]


@pytest.fixture
def sim_fleet() -> Iterator[FleetFactory]:
    with ExitStack() as stack:

        def start(specs: list[CameraSpec] | None = None, **options: Any) -> FleetHandle:
            return stack.enter_context(running_fleet(specs, **options))

        yield start
