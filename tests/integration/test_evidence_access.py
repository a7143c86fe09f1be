"""Scope of evidence access (issue 11): auditors see the cases of their areas only; re-hashing all
evidence is for admins and auditors; an officer from another commune added to a case is on the
case's trail and its page; reading a trail is itself logged."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from api.app import create_app
from storage.models import Role
from storage.models_evidence import CustodyEvent
from tests.factories import api_login, make_commune, make_user, web_login

pytestmark = pytest.mark.db


@pytest.fixture
def world(session, engine, settings):
    here, there = make_commune(session), make_commune(session)
    people = {
        "officer": make_user(session, Role.officer, [here.commune]),
        "far_officer": make_user(session, Role.officer, [there.commune]),
        "auditor": make_user(session, Role.auditor, [here.commune]),
        "province_auditor": make_user(session, Role.auditor, [here.province]),
        "admin": make_user(session, Role.admin),
    }
    names = {k: u.username for k, u in people.items()}
    ids = {k: u.id for k, u in people.items()}
    session.commit()
    client = TestClient(create_app(settings, engine=engine))
    headers = {k: api_login(client, n) for k, n in names.items()}
    cases = {}
    for who, number in (("officer", "1/2026"), ("far_officer", "2/2026")):
        r = client.post("/api/v1/cases", json={"number": number, "title": "t", "legal_basis": "b", "unit": "CA"},
                        headers=headers[who])
        assert r.status_code == 201, r.text
        cases[who] = r.json()["id"]
    return {"client": client, "h": headers, "names": names, "ids": ids, "cases": cases}


def test_auditors_see_the_cases_of_their_areas_only(world, session):
    client, h, cases = world["client"], world["h"], world["cases"]

    local = [c["id"] for c in client.get("/api/v1/cases", headers=h["auditor"]).json()]
    province = [c["id"] for c in client.get("/api/v1/cases", headers=h["province_auditor"]).json()]
    admin = [c["id"] for c in client.get("/api/v1/cases", headers=h["admin"]).json()]
    far = client.get(f"/api/v1/cases/{cases['far_officer']}/custody", headers=h["auditor"])

    assert local == [cases["officer"]] and province == [cases["officer"]]
    assert sorted(admin) == sorted(cases.values())
    assert client.get(f"/api/v1/cases/{cases['officer']}", headers=h["auditor"]).status_code == 200
    assert far.status_code == 403
    events = client.get("/api/v1/custody/events", headers=h["auditor"]).json()
    assert {e["case"] for e in events} == {cases["officer"]}  # not the other commune's case_opened
    denied = session.scalars(select(CustodyEvent).where(CustodyEvent.event_type == "access_denied")).all()
    assert [(e.actor, e.case) for e in denied] == [(world["names"]["auditor"], cases["far_officer"])]


def test_rehashing_all_evidence_is_for_admins_and_auditors(world, session):
    client, h = world["client"], world["h"]

    officer = client.get("/api/v1/custody/verify", params={"clips": True}, headers=h["officer"])
    ledger_only = client.get("/api/v1/custody/verify", headers=h["officer"])
    auditor = client.get("/api/v1/custody/verify", params={"clips": True}, headers=h["auditor"])

    assert officer.status_code == 403 and ledger_only.status_code == 200 and auditor.status_code == 200
    denied = session.scalars(select(CustodyEvent).where(CustodyEvent.event_type == "access_denied")).one()
    assert denied.details == {"attempted": "re-hash all evidence"}


def test_a_member_from_another_commune_is_on_the_trail_and_the_case_page(world, session):
    client, h, case_id = world["client"], world["h"], world["cases"]["officer"]

    r = client.post(f"/api/v1/cases/{case_id}/members", json={"user_id": world["ids"]["far_officer"]},
                    headers=h["officer"])

    assert r.status_code == 200, r.text
    added = session.scalars(select(CustodyEvent).where(CustodyEvent.event_type == "member_added")).one()
    assert added.details["other_commune"] is True and added.details["member"] == world["names"]["far_officer"]
    session.commit()  # SQLite: release the read before the page (which logs its trail read) writes
    web_login(client, world["names"]["officer"])
    page = client.get(f"/cases/{case_id}")
    assert page.status_code == 200 and "xã khác" in page.text


def test_reading_a_trail_is_logged_with_its_purpose(world, session):
    client, h, case_id = world["client"], world["h"], world["cases"]["officer"]

    r = client.get(f"/api/v1/cases/{case_id}/custody", params={"purpose": "kiểm sát định kỳ", "format": "csv"},
                   headers=h["auditor"])

    assert r.status_code == 200
    read = session.scalars(select(CustodyEvent).where(CustodyEvent.event_type == "trail_read")).one()
    assert (read.actor, read.case, read.purpose, read.details) == (
        world["names"]["auditor"], case_id, "kiểm sát định kỳ", {"format": "csv"})
    assert "trail_read" in r.text  # the reading is on the trail it returned
