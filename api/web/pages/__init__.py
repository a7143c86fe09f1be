"""Page routers, one module per section of the interface."""

from __future__ import annotations

from fastapi import APIRouter

from api.web.pages import (audit_page, auth, board, cameras, case_manage, map_page, registry, reports, cases,
                           review_report, users)


def routers() -> list[APIRouter]:
    return [auth.router, board.router, map_page.router, cameras.router, registry.router, cases.router,
            case_manage.router, reports.router, users.router, audit_page.router, review_report.router]
