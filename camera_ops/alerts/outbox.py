"""Raising an alert (in-app row + outbox rows) and the job that delivers the outbox.

An alert is written together with one ``alert_delivery`` row per channel target in the same
transaction, so a crash never loses a send. The delivery job claims due rows with a short lease
(``next_attempt_at`` pushed forward; ``FOR UPDATE SKIP LOCKED`` on PostgreSQL so two monitors never
claim the same row), sends outside any transaction, then records success or schedules a retry
with exponential backoff. Rows are never dropped: a receiver that is down for a day gets
everything when it comes back.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from camera_ops.alerts.channels import DeliveryFailed, EmailSender, WebhookSender
from camera_ops.alerts.messages import Text
from camera_ops.settings import Settings
from storage.models_monitoring import Alert, AlertDelivery, AlertKind, DeliveryState
from storage.types import utcnow

log = logging.getLogger(__name__)

CLAIM_BATCH = 50  # deliveries per run; the job runs again soon
LEASE_FACTOR = 3  # a claim lasts this many delivery timeouts (a crashed sender's rows come back)


def raise_alert(
    session: Session, settings: Settings, *, kind: AlertKind, area_id: int | None, text: Text, payload: dict[str, Any],
    camera_id: int | None = None, now: datetime | None = None, digest_date: Any = None,
) -> Alert:
    now = now or utcnow()
    alert = Alert(kind=kind, area_id=area_id, camera_id=camera_id, created_at=now, title_vi=text.vi,
                  title_en=text.en, payload=payload, digest_date=digest_date)
    session.add(alert)
    session.flush()
    alert.payload = {**payload, "alert_id": alert.id, "kind": kind.value, "created_at": now.isoformat(),
                     "title": {"vi": text.vi, "en": text.en}}
    targets = [("webhook", url) for url in settings.alert_webhook_urls]
    if settings.smtp_host:
        targets += [("email", address) for address in settings.alert_email_to]
    for channel, target in targets:
        session.add(AlertDelivery(alert_id=alert.id, channel=channel, target=target, next_attempt_at=now))
    session.flush()
    log.info("alert %s: %s", kind.value, text.en)
    return alert


def backoff(attempts: int, settings: Settings) -> timedelta:
    """Wait before attempt ``attempts + 1``: base, 2x base, 4x base ... capped."""
    return timedelta(seconds=min(settings.delivery_backoff_s * 2 ** max(0, attempts - 1), settings.delivery_backoff_max_s))


@dataclass(frozen=True, slots=True)
class _Claim:
    delivery_id: int
    channel: str
    target: str
    attempts: int
    title_vi: str
    title_en: str
    payload: dict[str, Any]


class DeliveryJob:
    name = "alert-delivery"

    def __init__(self, session_maker, settings: Settings, *, interval_s: float = 5.0) -> None:  # type: ignore[no-untyped-def]
        self._session_maker = session_maker
        self._settings = settings
        self.interval_s = interval_s
        self._webhook = WebhookSender(timeout_s=settings.delivery_timeout_s)
        self._email = EmailSender(settings)

    def close(self) -> None:
        self._webhook.close()

    def run_once(self, now: datetime | None = None) -> tuple[int, int]:
        """Try every due delivery once; returns (sent, failed)."""
        now = now or utcnow()
        sent = failed = 0
        for claim in self._claim(now):
            try:
                self._send(claim)
            except DeliveryFailed as exc:
                failed += 1
                self._record(claim, now, error=str(exc))
            else:
                sent += 1
                self._record(claim, now, error=None)
        return sent, failed

    def _claim(self, now: datetime) -> list[_Claim]:
        lease = timedelta(seconds=self._settings.delivery_timeout_s * LEASE_FACTOR)
        with self._session_maker() as session, session.begin():
            stmt = (select(AlertDelivery, Alert).join(Alert, Alert.id == AlertDelivery.alert_id)
                    .where(AlertDelivery.state == DeliveryState.pending, AlertDelivery.next_attempt_at <= now)
                    .order_by(AlertDelivery.id).limit(CLAIM_BATCH))
            if session.get_bind().dialect.name == "postgresql":
                stmt = stmt.with_for_update(skip_locked=True, of=AlertDelivery)
            claims = []
            for delivery, alert in session.execute(stmt):
                delivery.next_attempt_at = now + lease
                claims.append(_Claim(delivery.id, delivery.channel, delivery.target, delivery.attempts,
                                     alert.title_vi, alert.title_en, alert.payload))
            return claims

    def _send(self, claim: _Claim) -> None:
        if claim.channel == "webhook":
            self._webhook.send(claim.target, claim.payload)
        elif claim.channel == "email":
            self._email.send(claim.target, subject=claim.title_vi, body=f"{claim.title_vi}\n\n{claim.title_en}\n")
        else:
            raise DeliveryFailed(f"unknown channel {claim.channel!r}")

    def _record(self, claim: _Claim, now: datetime, *, error: str | None) -> None:
        with self._session_maker() as session, session.begin():
            delivery = session.get(AlertDelivery, claim.delivery_id)
            if delivery is None:
                return
            delivery.attempts = claim.attempts + 1
            if error is None:
                delivery.state, delivery.sent_at, delivery.last_error = DeliveryState.sent, utcnow(), None
            else:
                delivery.next_attempt_at = now + backoff(delivery.attempts, self._settings)
                delivery.last_error = error[:500]
                log.warning("delivery %s to %s failed (attempt %d): %s", claim.channel, claim.target,
                            delivery.attempts, error)
