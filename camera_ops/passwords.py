"""Password policy for people logging in (camera passwords are the camera's own business).

At least ``MIN_LENGTH`` characters, not one of the well-known common passwords (zxcvbn's list of
30,000 from leaked-password corpora, maintained on PyPI, plus Vietnamese ones shipped in
``camera_ops/data/common_passwords_vi.txt``), and not the username. Length beats composition rules
(NIST SP 800-63B §5.1.1.2): no "one capital and one symbol" demands.
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

from camera_ops.errors import ValidationFailed

MIN_LENGTH = 10
MAX_LENGTH = 200  # argon2 hashes any length; a limit keeps a request from feeding it megabytes
VI_LIST = Path(__file__).parent / "data" / "common_passwords_vi.txt"


@lru_cache(maxsize=1)
def common_passwords() -> frozenset[str]:
    from zxcvbn.frequency_lists import FREQUENCY_LISTS

    lines = VI_LIST.read_text(encoding="utf-8").splitlines()
    shipped = {line.strip().lower() for line in lines if line.strip() and not line.startswith("#")}
    return frozenset(FREQUENCY_LISTS["passwords"]) | shipped


def check_password(password: str, *, username: str | None = None) -> None:
    """ValidationFailed naming ``password`` when the policy refuses it."""
    if len(password) < MIN_LENGTH:
        raise ValidationFailed(f"password must be at least {MIN_LENGTH} characters", field="password",
                               details={"rule": "min_length", "min_length": MIN_LENGTH},
                               key="err.password.min_length", params={"min": MIN_LENGTH})
    if len(password) > MAX_LENGTH:
        raise ValidationFailed(f"password must be at most {MAX_LENGTH} characters", field="password",
                               details={"rule": "max_length"}, key="err.password.max_length",
                               params={"max": MAX_LENGTH})
    lowered = password.strip().lower()
    if lowered in common_passwords():
        raise ValidationFailed("this password is one of the most common ones; choose another", field="password",
                               details={"rule": "common"}, key="err.password.common")
    if username and username.strip().lower() in (lowered, lowered[::-1]):
        raise ValidationFailed("the password must not be the username", field="password", details={"rule": "username"},
                               key="err.password.username")
