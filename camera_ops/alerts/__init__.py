"""Alerts: problems (a camera down longer than the threshold), grouped hamlet alerts, recoveries,
daily digests; delivered by webhook and email through a durable outbox, and listed in the app."""
