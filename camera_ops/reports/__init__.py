"""Reports for periodic reviews (sơ kết / tổng kết): coverage and uptime of an area over a period."""
