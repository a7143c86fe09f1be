import pytest

from camera_ops.access import Action, allowed
from camera_ops.errors import ValidationFailed
from camera_ops.registry.validation import check_bearing, check_coordinates, check_host, normalize_mac
from storage.models import Role


@pytest.mark.parametrize("host", ["192.168.1.64", "10.0.0.1", "fe80::1", "cam-01.thon1.local", "camera"])
def test_accepts_ip_addresses_and_host_names(host):
    assert check_host(host) == host


@pytest.mark.parametrize("host", ["", "http://192.168.1.64", "192.168.1.64:80", "cam/1", "-bad.example",
                                  "a" * 64 + ".vn", "user@cam", "1.2.3.999", "has space"])
def test_refuses_what_is_not_a_host(host):
    with pytest.raises(ValidationFailed) as err:
        check_host(host)
    assert err.value.field == "host"


@pytest.mark.parametrize("lat,lon", [(21.0285, 105.8542), (10.7769, 106.7009), (8.6, 104.7), (10.38, 114.36), (None, None)])
def test_accepts_points_in_vietnam_including_the_archipelagos(lat, lon):
    check_coordinates(lat, lon)


@pytest.mark.parametrize("lat,lon,field", [
    (105.85, 21.03, "latitude"),  # swapped
    (-21.03, 105.85, "latitude"),  # sign lost
    (21.03, 95.0, "longitude"),  # Myanmar
    (21.03, None, "latitude"),  # half a point
])
def test_refuses_points_outside_vietnam_naming_the_field(lat, lon, field):
    with pytest.raises(ValidationFailed) as err:
        check_coordinates(lat, lon)
    assert err.value.field == field


def test_bearing_is_a_compass_direction():
    check_bearing(0)
    check_bearing(359.5)
    with pytest.raises(ValidationFailed):
        check_bearing(360)


@pytest.mark.parametrize("raw,expected", [
    ("AA-BB-CC-00-11-22", "aa:bb:cc:00:11:22"), ("aabb.cc00.1122", "aa:bb:cc:00:11:22"),
    ("00:00:00:00:00:00", None), ("zz", None), (None, None),
])
def test_mac_addresses_are_normalised(raw, expected):
    assert normalize_mac(raw) == expected


@pytest.mark.parametrize("role,action,expected", [
    (Role.admin, Action.edit_areas, True),
    (Role.commune_police, Action.edit_cameras, True),
    (Role.commune_police, Action.edit_areas, False),
    (Role.officer, Action.edit_cameras, False),
    (Role.officer, Action.request_footage, True),
    (Role.manager, Action.read_reports, True),
    (Role.manager, Action.request_footage, False),
    (Role.auditor, Action.read_ledger, True),
    (Role.auditor, Action.edit_donors, False),
])
def test_permission_table(role, action, expected):
    assert allowed(role, action) is expected
