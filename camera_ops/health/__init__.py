"""Camera health: picture checks, status decisions with hysteresis, uptime from status intervals."""
