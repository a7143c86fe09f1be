"""Health monitoring: the probe engine (``camera-ops monitor``), status history, uptime queries."""
