"""The one settings object. Nothing else in camera-ops reads the environment.

Every setting can be given as an environment variable with the prefix ``CAMERA_OPS_`` (for example
``CAMERA_OPS_DATABASE_URL``) or in a ``.env`` file in the working directory.
"""

from __future__ import annotations

import logging
import os
import secrets
import time
from collections.abc import Callable
from functools import lru_cache
from pathlib import Path
from typing import Literal

from pydantic import Field, field_validator, model_validator
from cryptography.fernet import Fernet
from pydantic_settings import BaseSettings, SettingsConfigDict

from camera_ops import netpolicy
from camera_ops.netpolicy import DEFAULT_CAMERA_NETWORKS, parse_networks

PLACEHOLDER_SECRET = "changethis"  # what older example files and docs said; refused in production
MIN_SECRET_LEN = 32  # HS256 wants a key of at least 256 bits (RFC 7518 §3.2)
MIN_MINIO_SECRET_LEN = 16  # MinIO itself accepts 8; a bucket of evidence deserves more
# Words that mark a value copied from an example rather than made (deploy/camera-ops.env.example
# says CHANGE; tests/unit/test_settings.py checks every secret in it is refused).
PLACEHOLDER_MARKS = ("change", "placeholder", "example", "secret", "password", "minioadmin", "todo", "xxxx")
DEV_SECRETS_DIR = "secrets"  # in data_dir: generated development secrets (0600)


def is_placeholder(value: str | None) -> bool:
    if value is None or not value.strip():
        return True
    lowered = value.strip().lower()
    return any(mark in lowered for mark in PLACEHOLDER_MARKS) or len(set(lowered)) <= 2


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="CAMERA_OPS_", env_file=".env", extra="ignore")

    environment: Literal["development", "production"] = "development"
    data_dir: Path = Path("data")
    database_url: str | None = Field(
        default=None, description="SQLAlchemy URL; default is an SQLite file in data_dir"
    )

    # --- secrets -------------------------------------------------------------------------------
    secret_key: str | None = Field(
        default=None, description="signs login tokens (JWT); development generates one in data_dir/secrets")
    credentials_key: str | None = Field(
        default=None,
        description="Fernet key(s) (urlsafe base64, 32 bytes) encrypting camera passwords at rest; while rotating, "
                    "'NEW,OLD' (the first encrypts, all decrypt); development generates one in data_dir/secrets",
    )
    access_token_minutes: int = Field(default=8 * 60, gt=0, description="a login lasts at most this long")
    session_idle_minutes: int = Field(
        default=30, gt=0, description="a login unused this long ends (a police workstation left open)")
    login_free_failures: int = Field(
        default=5, ge=1, description="wrong passwords for one username before each further one locks it")
    login_free_failures_per_address: int = Field(
        default=20, ge=1, description="wrong passwords from one client address (a station's NAT) before locking it")
    login_lockout_s: float = Field(default=30.0, gt=0, description="first lockout; doubles with each further failure")
    login_lockout_max_s: float = Field(default=900.0, gt=0, description="longest lockout (15 min)")

    # --- API -----------------------------------------------------------------------------------
    host: str = "127.0.0.1"
    port: int = 8000
    public_url: str | None = None
    trusted_proxies: list[str] = Field(
        default_factory=list,
        description="addresses/networks of reverse proxies whose X-Forwarded-For/-Proto are believed; none by default",
    )
    timezone: str = "Asia/Ho_Chi_Minh"
    csv_decimal_comma: bool = True  # CSV exports write 97,25 as Excel set to Vietnamese reads it; False: 97.25
    # request body limits, checked before authentication and before reading (413 above them)
    max_json_body_bytes: int = Field(
        default=1 << 20, ge=1024, description="JSON bodies: a camera or case is a few KB; 1 MiB leaves room"
    )
    max_form_body_bytes: int = Field(default=256 << 10, ge=1024, description="web forms (URL-encoded)")
    max_upload_bytes: int = Field(
        default=32 << 20, ge=1024,
        description="file uploads (CSV imports): 100,000 cameras are about 12 MB; 150 MB files are refused",
    )
    tile_url: str | None = Field(default=None, description="map tile URL template; none = plain background")
    api_concurrency: int = Field(
        default=16, ge=1, le=512,
        description="requests one API process works on at once; its thread pool and database pool are sized "
                    "to it, so no request waits for a connection (16: two cores stay busy while some wait on I/O)",
    )
    api_queue_timeout_s: float = Field(default=30.0, gt=0, description="a request queued longer gets 503 + Retry-After")
    api_workers: int = Field(default=1, ge=1, le=64, description="API processes `serve` starts (one per core)")
    api_session_check_s: float = Field(
        default=2.0, ge=0, le=30,
        description="a login checked against the database is believed this long by the hot read endpoints (camera "
                    "list, fleet summary): a login ended in another API process stops working within this time "
                    "(at once in the process that ended it); 0 checks every request",
    )
    api_read_cache_s: float = Field(
        default=1.0, ge=0, le=5,
        description="the fleet summary and the camera list are answered from a copy per scope and query at most "
                    "this old (statuses, counts); any change made through this API process refreshes them at "
                    "once; 0: never copied",
    )

    # --- cameras -------------------------------------------------------------------------------
    onvif_timeout_s: float = 10.0
    camera_networks: list[str] = Field(
        default_factory=lambda: list(DEFAULT_CAMERA_NETWORKS),
        description="networks (CIDR) the server may connect cameras on; default: private ranges, CGNAT/VPN, loopback",
    )
    clock_warning_s: float = 300.0

    # --- health monitoring (issue 4) ---------------------------------------------------------------
    monitor_cycle_s: float = Field(default=60.0, gt=0, description="every camera is probed once per cycle")
    monitor_call_timeout_s: float = Field(
        default=4.0, gt=0, description="hard deadline per network call of a probe (SOAP time, RTSP probe, snapshot)"
    )
    monitor_concurrency: int = Field(
        default=2000, ge=1,
        description="probes in flight at most (10k cameras, 10% black holes, 4 s deadline: ~70 in flight)"
    )
    monitor_batch_s: float = Field(
        default=0.5, gt=0, le=1.0,
        description="probes due within this window start together (one wake-up, shared event-loop passes); "
                    "each camera keeps its phase in the cycle to this precision; at most cycle/20",
    )
    monitor_reload_s: float = Field(default=30.0, gt=0, description="re-read the camera set (new/retired/maintenance)")
    monitor_flush_s: float = Field(default=1.0, gt=0, description="status changes are written in one batch this often")
    monitor_details_every_s: float = Field(
        default=300.0, ge=0, description="latest probe details (last seen, RTT, clock) are persisted this often per camera"
    )
    monitor_quick_reprobe_s: float = 10.0  # after a first, unconfirmed failure
    offline_after_failures: int = Field(default=2, ge=1)
    snapshot_interval_s: float = 900.0  # routine picture check (15 min)
    snapshot_soon_s: float = 300.0  # degraded or flapping cameras
    snapshot_after_recovery_s: float = 30.0  # back from offline/unknown
    # a turned-away, blurred, frozen or covered picture counts only when a second snapshot this much
    # later shows it again (a passer-by, a truck, a cloud is gone by then)
    picture_confirm_s: float = Field(default=60.0, gt=0)
    # the turned-away reference is the median of 5 good pictures at least this far apart (a parked
    # truck or a crowd is in one of them at most)
    picture_reference_spacing_s: float = Field(default=600.0, ge=0)
    discovery_port: int = Field(default=3702, gt=0, lt=65536)  # WS-Discovery (tests use another)
    clock_drift_max_s: float = 30.0  # camera clock off by more than this: degraded (footage times doubtful)
    thumbnail_width_px: int = 320  # last snapshot kept for the UI at this width (~10-20 KB JPEG)

    # --- several monitors, health and metrics (issue 14) ---------------------------------------------
    monitor_member_ttl_s: float | None = Field(
        default=None, gt=0,
        description="a monitor that has not heartbeated this long is dead and its cameras are taken over; "
                    "default: half a cycle, at least 10 s (takeover within two cycles)",
    )
    monitor_full_check_s: float = Field(
        default=900.0, ge=0,
        description="the clock (ONVIF time) and the full RTSP check are read this often per camera (and at once "
                    "after a recovery); every other cycle a camera gets one liveness exchange",
    )
    monitor_rtsp_keepalive: bool = Field(
        default=True,
        description="the per-cycle liveness OPTIONS reuses one RTSP connection per camera, left open between cycles "
                    "(off: a fresh connection each cycle, for cameras with very few RTSP client slots)",
    )
    monitor_pictures: bool = Field(default=True, description="snapshots and picture checks (off: benchmarks of the probe alone)")
    ops_bind: str = Field(default="127.0.0.1", description="address of the monitor's and worker's /healthz /readyz /metrics")
    ops_token: str | None = Field(default=None, description="bearer token for /metrics (required off loopback)")
    monitor_ops_port: int | None = Field(default=None, ge=0, le=65535,
                                         description="monitor's health/metrics port; unset = off, 0 = any free port")
    worker_ops_port: int | None = Field(default=None, ge=0, le=65535,
                                        description="worker's health/metrics port; unset = off, 0 = any free port")

    # --- alerts --------------------------------------------------------------------------------------
    alert_after_s: float = Field(default=600.0, ge=0, description="a camera down this long raises an alert")
    alert_check_s: float = 15.0  # how often the monitor looks for problems to alert and recoveries
    alert_webhook_urls: list[str] = Field(default_factory=list, description="JSON POST receivers")
    alert_email_to: list[str] = Field(default_factory=list)
    smtp_host: str | None = None
    smtp_port: int = 25
    smtp_from: str = "camera-ops@localhost"
    smtp_username: str | None = None
    smtp_password: str | None = None
    smtp_starttls: bool = False
    delivery_timeout_s: float = 10.0  # per webhook POST / SMTP session
    delivery_backoff_s: float = 30.0  # first retry after a failed delivery; doubles each time ...
    delivery_backoff_max_s: float = 3600.0  # ... up to this; deliveries are never dropped
    digest_hour_local: int = Field(default=7, ge=0, le=23, description="daily digest per commune at this local hour")

    # --- clip store ----------------------------------------------------------------------------
    clip_store: Literal["local", "minio"] = "local"
    minio_endpoint: str = "127.0.0.1:9000"
    minio_access_key: str = "minioadmin"  # MinIO's own development default; refused in production
    minio_secret_key: str = "minioadmin"
    minio_secure: bool = False
    minio_ca_file: Path | None = None
    minio_bucket: str = "camera-ops-evidence"
    minio_region: str = "us-east-1"
    retention_days: int = 365
    max_clip_minutes: int = 120

    # --- footage for cases (issue 5) -----------------------------------------------------------
    clip_dir: Path | None = Field(default=None, description="local clip store; default data_dir/clips")
    object_retention_mode: Literal["GOVERNANCE", "COMPLIANCE"] = Field(
        default="GOVERNANCE", description="per-object lock mode; COMPLIANCE cannot be shortened by anyone"
    )
    camera_footage_hours: float = Field(
        default=24.0, description="how far back a camera's card reaches (64 GB SD card: about a day)"
    )
    archive_max_attempts: int = 5
    archive_backoff_s: float = 30.0  # first retry after this, doubling per attempt
    archive_backoff_max_s: float = 900.0
    worker_lease_s: float = 300.0  # a job not heartbeated this long belongs to a dead worker
    worker_poll_s: float = 2.0
    # The ledger's unanchored window: events newer than the newest checkpoint could be removed
    # without trace by whoever runs the database; at most 5 minutes of them by default (issue 11).
    custody_checkpoint_interval_s: float = Field(default=300.0, gt=0, le=3600)
    # Checkpoints must outlive every clip they anchor (clip retention + time for appeals): 10 years.
    checkpoint_retention_days: int = Field(default=3650, ge=1)
    checkpoint_retention_mode: Literal["GOVERNANCE", "COMPLIANCE"] = Field(
        default="COMPLIANCE", description="COMPLIANCE: nobody, the service included, can delete a checkpoint early"
    )
    signing_key_dir: Path | None = Field(
        default=None, description="Ed25519 signing key (outside the database); default data_dir/keys"
    )
    presigned_link_s: int = Field(default=300, le=300, description="clip links (served through us) last at most 5 minutes")

    @field_validator("camera_networks")
    @classmethod
    def _networks_parse(cls, value: list[str]) -> list[str]:
        parse_networks(value)  # ValueError names the bad entry
        return value

    @model_validator(mode="after")
    def _refuse_placeholders_in_production(self) -> "Settings":
        if self.environment == "development":
            return self
        secrets_ = [("secret_key", self.secret_key, MIN_SECRET_LEN)]
        secrets_ += [("credentials_key", key, 0) for key in (self.credentials_key or "").split(",")]
        if self.clip_store == "minio":
            secrets_ += [("minio_access_key", self.minio_access_key, 3),
                         ("minio_secret_key", self.minio_secret_key, MIN_MINIO_SECRET_LEN)]
        for name, value, min_len in secrets_:
            variable = f"CAMERA_OPS_{name.upper()}"
            if is_placeholder(value):
                raise ValueError(f"{variable} is missing or a placeholder; set a real secret in production")
            assert value is not None
            if len(value.strip()) < min_len:
                raise ValueError(f"{variable} must be at least {min_len} characters in production")
        for key in (self.credentials_key or "").split(","):
            if not _valid_fernet_key(key.strip()):
                raise ValueError("CAMERA_OPS_CREDENTIALS_KEY is not a Fernet key (32 url-safe base64 bytes)")
        return self

    @property
    def resolved_database_url(self) -> str:
        if self.database_url:
            return self.database_url
        return f"sqlite:///{(self.data_dir / 'camera_ops.sqlite3').resolve()}"

    @property
    def jwt_key(self) -> str:
        """The key that signs login tokens: the configured one, else (development) a random key
        generated on first start and kept in ``data_dir/secrets`` — never a constant of the source."""
        if self.secret_key and not (self.environment == "development" and is_placeholder(self.secret_key)):
            return self.secret_key
        return dev_secret(self.data_dir, "secret_key", lambda: secrets.token_urlsafe(48))

    @property
    def fernet_keys(self) -> list[bytes]:
        """The credentials keys, newest first (the first encrypts; all decrypt while rotating)."""
        if self.credentials_key and not (self.environment == "development" and is_placeholder(self.credentials_key)):
            value = self.credentials_key
        else:
            value = dev_secret(self.data_dir, "credentials_key", lambda: Fernet.generate_key().decode())
        return [key.strip().encode() for key in value.split(",") if key.strip()]

    @property
    def fernet_key(self) -> bytes:
        """The key new ciphertexts are made with."""
        return self.fernet_keys[0]

    @property
    def dev_secrets_generated(self) -> bool:
        """Development without configured secrets: the generated ones in the data directory are used."""
        return self.environment == "development" and (is_placeholder(self.secret_key) or is_placeholder(self.credentials_key))


def announce_mode(settings: Settings, process: str) -> None:
    """The loud start-up line: a development instance must never be mistaken for a real one."""
    if settings.environment != "development":
        logging.getLogger("camera_ops.startup").info("%s: production mode", process)
        return
    where = (settings.data_dir / DEV_SECRETS_DIR).resolve()
    logging.getLogger("camera_ops.startup").warning(
        "!!! %s: DEVELOPMENT MODE — %s; do not expose this instance, set CAMERA_OPS_ENVIRONMENT=production "
        "and real secrets for real use !!!", process,
        f"secrets generated and kept in {where}" if settings.dev_secrets_generated else "configured secrets",
    )


def _valid_fernet_key(key: str) -> bool:
    try:
        Fernet(key.encode())
    except (ValueError, TypeError):
        return False
    return True


def dev_secret_path(data_dir: Path, name: str) -> Path:
    return data_dir / DEV_SECRETS_DIR / name


def dev_secret(data_dir: Path, name: str, make: Callable[[], str]) -> str:
    """A development secret: read from ``data_dir/secrets/<name>``, created (0600, exclusively, so
    processes starting together agree on one) when missing."""
    path = dev_secret_path(data_dir, name)
    key = path if path.is_absolute() else path.resolve()  # resolve() is a syscall per part: not per request
    cached = _DEV_SECRETS.get(key)
    if cached is not None:
        return cached
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        value = _read_complete(path)
    else:
        value = make()
        with os.fdopen(fd, "w") as out:
            out.write(value + "\n")
    _DEV_SECRETS[key] = value
    return value


def _read_complete(path: Path) -> str:
    """The secret another process just created may still be being written: wait for its newline."""
    for _ in range(DEV_SECRET_READ_TRIES):
        text = path.read_text()
        if text.endswith("\n"):
            return text.strip()
        time.sleep(DEV_SECRET_READ_PAUSE_S)
    raise RuntimeError(f"{path} is empty or incomplete; delete it to generate a new development secret")


def forget_dev_secrets() -> None:
    """For ``keys rotate`` and tests, after a secret file changed."""
    _DEV_SECRETS.clear()


_DEV_SECRETS: dict[Path, str] = {}
DEV_SECRET_READ_TRIES = 50
DEV_SECRET_READ_PAUSE_S = 0.02  # 50 x 20 ms: a writer that needs longer than 1 s has died


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    settings = Settings()
    netpolicy.configure(settings.camera_networks)
    return settings


def reset_settings_cache() -> None:
    """For tests and the CLI after they change the environment."""
    get_settings.cache_clear()
