"""The API docs (Swagger UI, ReDoc) and the favicon come from this server: nothing is loaded from
a CDN, so the pages work on a station without Internet."""

from __future__ import annotations

import re

import pytest


pytestmark = pytest.mark.db


@pytest.mark.parametrize("page", ["/api/v1/docs", "/api/v1/redoc"])
def test_the_api_docs_load_their_assets_from_our_own_origin(client, page):
    r = client.get(page)
    assert r.status_code == 200
    assets = re.findall(r'(?:src|href)="([^"]+)"', r.text)
    assert assets and all(a.startswith("/") for a in assets), assets
    assert "cdn" not in r.text and "https://" not in r.headers["content-security-policy"]
    for asset in assets:
        fetched = client.get(asset)
        assert fetched.status_code == 200 and len(fetched.content) > 200, asset


def test_a_favicon_is_served(client):
    r = client.get("/favicon.ico")
    assert r.status_code == 200 and r.headers["content-type"].startswith("image/svg+xml")
    assert 'rel="icon" href="/static/favicon.svg"' in client.get("/login").text
