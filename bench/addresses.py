"""Free loopback addresses for bench simulators (no fixed 127.x blocks that collide with a running
demo, the tests or a second bench run).

The simulator gives its cameras consecutive addresses from a base address upward. A random
``127.X.Y.1`` with X in 64..254 (the demo uses 127.20, the tests 127.21-29) is checked before use:
nothing may be listening on the base address's first ports. Pass ``--base-address`` to choose.
"""

from __future__ import annotations

import random
import socket

FIRST_OCTET_RANGE = range(64, 255)  # clear of the CLI demo (127.20) and the tests (127.21-29)
PROBE_PORTS = (80, 554, 8080, 8554)  # a block in use answers on one of these, or on the sim's
TRIES = 20


def _in_use(host: str) -> bool:
    for port in PROBE_PORTS:
        with socket.socket() as sock:
            sock.settimeout(0.05)
            if sock.connect_ex((host, port)) == 0:
                return True
    return False


def free_base_address(rng: random.Random | None = None) -> str:
    """A random base address in 127/8 whose first address nothing listens on."""
    rng = rng or random.Random()
    for _ in range(TRIES):
        base = f"127.{rng.choice(FIRST_OCTET_RANGE)}.{rng.randrange(256)}.1"
        if not _in_use(base):
            return base
    raise SystemExit("no free 127.x block found; pass --base-address")


def free_port(host: str) -> int:
    with socket.socket() as sock:
        sock.bind((host, 0))
        return int(sock.getsockname()[1])
