"""Managing a case from its web page: add a member, place and release the legal hold, close the
case. Only the officer in charge and admins see the forms; every change lands on the case's custody
trail; a refused form names its field and changes nothing."""

from __future__ import annotations

import re

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from storage.db import session_scope
from camera_ops.custody.ledger import events_for
from storage.models_evidence import Case, CaseMember, CaseStatus
from tests.footage_fixtures import make_case, make_world

pytestmark = pytest.mark.db
CSRF = re.compile(r'name="csrf_token" value="([0-9a-f]+)"')


@pytest.fixture
def setup(session):
    world = make_world(session)
    case = make_case(session, world)
    session.commit()
    return world, case


@pytest.fixture
def fresh(engine):
    def run(fn):
        with session_scope(engine, write=False) as s:
            return fn(s)
    return run


def login(client: TestClient, username: str) -> None:
    from tests.factories import web_login
    web_login(client, username)


def post(client: TestClient, case: Case, action: str, data: dict[str, str]):
    page = client.get(f"/cases/{case.id}").text
    return client.post(f"/cases/{case.id}/{action}", data={**data, "csrf_token": CSRF.search(page).group(1)},
                       follow_redirects=False)


def events(fresh, case: Case) -> list[str]:
    return fresh(lambda s: [e.event_type for e in events_for(s, case_id=case.id)])


def test_the_officer_in_charge_sees_the_management_card_others_do_not(client, setup):
    world, case = setup
    login(client, world.officer.username)
    page = client.get(f"/cases/{case.id}").text
    assert 'id="manage"' in page and "Quản lý vụ việc" in page
    assert f'<option value="{world.other_officer.id}">' in page  # offered as a member
    client.cookies.clear()
    login(client, world.auditor.username)
    assert 'id="manage"' not in client.get(f"/cases/{case.id}").text


def test_adding_a_member_lands_on_the_trail_and_the_page(client, setup, fresh):
    world, case = setup
    login(client, world.officer.username)
    r = post(client, case, "members", {"user_id": str(world.other_officer.id)})
    assert r.status_code == 303 and r.headers["location"].endswith("#manage")
    assert fresh(lambda s: s.get(CaseMember, (case.id, world.other_officer.id))) is not None
    assert "member_added" in events(fresh, case)
    assert world.other_officer.full_name in client.get(f"/cases/{case.id}").text


@pytest.mark.parametrize(("who", "field"), [("", "user_id"), ("police", "user_id")])
def test_a_bad_member_is_refused_on_its_field_and_nothing_is_added(client, setup, fresh, who, field):
    world, case = setup
    login(client, world.officer.username)
    user_id = "" if not who else str(world.police.id)  # commune police cannot work on case footage
    r = post(client, case, "members", {"user_id": user_id})
    assert r.status_code == 422 and 'class="field-error"' in r.text
    assert fresh(lambda s: s.scalars(select(CaseMember).where(CaseMember.case_id == case.id)).all()) == []
    assert "member_added" not in events(fresh, case)


def test_legal_hold_needs_a_reason_then_is_released_and_placed_again_on_the_trail(client, setup, fresh):
    world, case = setup
    assert fresh(lambda s: s.get(Case, case.id).legal_hold) is True  # a new case starts on hold
    login(client, world.officer.username)
    refused = post(client, case, "legal-hold", {"hold": "off", "hold_reason": ""})
    assert refused.status_code == 422 and 'class="field-error"' in refused.text
    assert fresh(lambda s: s.get(Case, case.id).legal_hold) is True
    assert post(client, case, "legal-hold", {"hold": "off", "hold_reason": "Đã xét xử xong"}).status_code == 303
    assert fresh(lambda s: s.get(Case, case.id).legal_hold) is False
    assert "Đặt giữ pháp lý" in client.get(f"/cases/{case.id}").text  # the button now places it
    assert post(client, case, "legal-hold", {"hold": "on", "hold_reason": "Viện kiểm sát yêu cầu"}).status_code == 303
    assert fresh(lambda s: s.get(Case, case.id).legal_hold) is True
    trail = events(fresh, case)
    assert "hold_placed" in trail and "hold_released" in trail


def test_closing_needs_the_tick_then_closes_and_hides_the_request_form(client, setup, fresh):
    world, case = setup
    login(client, world.officer.username)
    assert post(client, case, "close", {}).status_code == 422
    assert fresh(lambda s: s.get(Case, case.id).status) is CaseStatus.open
    assert post(client, case, "close", {"confirm_close": "1"}).status_code == 303
    assert fresh(lambda s: s.get(Case, case.id).status) is CaseStatus.closed
    page = client.get(f"/cases/{case.id}").text
    assert 'id="request-form"' not in page and f'action="/cases/{case.id}/close"' not in page
    assert "case_closed" in events(fresh, case)


def test_a_member_who_is_not_in_charge_cannot_manage(client, setup, fresh):
    world, case = setup
    login(client, world.officer.username)
    assert post(client, case, "members", {"user_id": str(world.other_officer.id)}).status_code == 303
    client.cookies.clear()
    login(client, world.other_officer.username)
    page = client.get(f"/cases/{case.id}").text
    assert 'id="manage"' not in page
    r = client.post(f"/cases/{case.id}/close", data={"confirm_close": "1", "csrf_token": CSRF.search(page).group(1)},
                    follow_redirects=False)
    assert r.status_code == 403
    assert fresh(lambda s: s.get(Case, case.id).status) is CaseStatus.open
