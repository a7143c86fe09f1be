"""Sending one alert: webhook (JSON POST) and email (SMTP). Every failure is a DeliveryFailed."""

from __future__ import annotations

import smtplib
from email.message import EmailMessage
from typing import Any

import httpx

from camera_ops.settings import Settings


class DeliveryFailed(Exception):
    """The receiver did not take the alert; the outbox will try again later."""


class WebhookSender:
    def __init__(self, *, timeout_s: float) -> None:
        self._client = httpx.Client(timeout=httpx.Timeout(timeout_s), follow_redirects=False, trust_env=False)

    def send(self, url: str, payload: dict[str, Any]) -> None:
        try:
            response = self._client.post(url, json=payload, headers={"User-Agent": "camera-ops-alerts"})
        except httpx.HTTPError as exc:
            raise DeliveryFailed(f"{exc.__class__.__name__}: {exc}") from exc
        if not 200 <= response.status_code < 300:
            raise DeliveryFailed(f"receiver answered HTTP {response.status_code}")

    def close(self) -> None:
        self._client.close()


class EmailSender:
    def __init__(self, settings: Settings) -> None:
        self._settings = settings

    def send(self, to: str, *, subject: str, body: str) -> None:
        s = self._settings
        if not s.smtp_host:
            raise DeliveryFailed("no SMTP host configured")
        message = EmailMessage()
        message["From"], message["To"], message["Subject"] = s.smtp_from, to, subject
        message.set_content(body)
        try:
            with smtplib.SMTP(s.smtp_host, s.smtp_port, timeout=s.delivery_timeout_s) as smtp:
                if s.smtp_starttls:
                    smtp.starttls()
                if s.smtp_username:
                    smtp.login(s.smtp_username, s.smtp_password or "")
                smtp.send_message(message)
        except (OSError, smtplib.SMTPException) as exc:
            raise DeliveryFailed(f"{exc.__class__.__name__}: {exc}") from exc
