"""The camera simulator, driven directly by the maintained libraries: sync zeep with the onvif-zeep-async
WSDLs and zeep's own UsernameToken for ONVIF, requests + HTTPDigestAuth (+ xmltodict) for ISAPI."""

# ruff: noqa: S106 - throwaway passwords of the simulated camera
from __future__ import annotations

import pytest
import requests
import xmltodict
from camera_fixtures import ADMIN_PASSWORD, isapi, onvif_service, start, state_of
from zeep.exceptions import Fault


@pytest.fixture
def cam(tmp_path):
    server = start(tmp_path, model="DS-2CD2143G2-I", firmware="V5.7.3", serial="SN0001")
    yield server
    server.shutdown()


def test_unauthenticated_get_system_date_and_time_answers(cam):
    info = onvif_service(cam, user=None).GetSystemDateAndTime()
    assert info.DateTimeType in ("NTP", "Manual")
    assert info.UTCDateTime.Date.Year >= 2024


def test_device_information_comes_back_as_configured(cam):
    info = onvif_service(cam).GetDeviceInformation()
    assert (info.Model, info.FirmwareVersion, info.SerialNumber) == ("DS-2CD2143G2-I", "V5.7.3", "SN0001")


@pytest.mark.parametrize("digest", [True, False], ids=["password-digest", "password-text"])
def test_both_token_kinds_log_in(cam, digest):
    assert onvif_service(cam, digest=digest).GetHostname().Name == "camera"


@pytest.mark.parametrize("digest", [True, False], ids=["password-digest", "password-text"])
def test_wrong_password_gets_a_not_authorized_fault(cam, digest):
    with pytest.raises(Fault) as err:
        onvif_service(cam, password="wrong", digest=digest).GetUsers()
    assert "not Authorized" in err.value.message
    assert any(getattr(c, "localname", "") == "NotAuthorized" for c in err.value.subcodes)


def test_missing_token_is_rejected_for_a_protected_call(cam):
    with pytest.raises(Fault):
        onvif_service(cam, user=None).GetDeviceInformation()


def test_writes_are_read_back_and_persisted(cam):
    svc = onvif_service(cam)
    svc.SetNTP(
        FromDHCP=False,
        NTPManual=[{"Type": "DNS", "DNSname": "ntp.belediye.local"}, {"Type": "IPv4", "IPv4Address": "10.20.0.1"}],
    )
    svc.SetSystemDateAndTime(DateTimeType="NTP", DaylightSavings=False, TimeZone={"TZ": "<+03>-3"})
    svc.SetHostname(Name="kamera-zabita-01")
    svc.SetDiscoveryMode(DiscoveryMode="NonDiscoverable")
    ntp = svc.GetNTP()
    assert [h.DNSname or h.IPv4Address for h in ntp.NTPManual] == ["ntp.belediye.local", "10.20.0.1"]
    assert svc.GetSystemDateAndTime().TimeZone.TZ == "<+03>-3"
    assert svc.GetHostname().Name == "kamera-zabita-01"
    assert svc.GetDiscoveryMode() == "NonDiscoverable"
    saved = state_of(cam)
    assert saved["hostname"] == "kamera-zabita-01"
    assert saved["tz"] == "<+03>-3"
    assert saved["datetime_type"] == "NTP"
    assert saved["discovery_mode"] == "NonDiscoverable"


def test_user_lifecycle_and_username_clash(cam):
    svc = onvif_service(cam)
    svc.CreateUsers(User=[{"Username": "vms", "Password": "Vms-2026!", "UserLevel": "Operator"}])
    with pytest.raises(Fault, match="user exists"):
        svc.CreateUsers(User=[{"Username": "vms", "Password": "x", "UserLevel": "User"}])
    svc.SetUser(User=[{"Username": "vms", "UserLevel": "User"}])
    assert {u.Username: u.UserLevel for u in svc.GetUsers()} == {"admin": "Administrator", "vms": "User"}
    assert all(u.Password is None for u in svc.GetUsers())  # GetUsers never returns passwords
    assert onvif_service(cam, user="vms", password="Vms-2026!").GetHostname().Name == "camera"
    svc.DeleteUsers(Username=["vms"])
    assert [u.Username for u in svc.GetUsers()] == ["admin"]


def test_non_administrator_cannot_write(cam):
    onvif_service(cam).CreateUsers(User=[{"Username": "izle", "Password": "Izle-2026!", "UserLevel": "User"}])
    with pytest.raises(Fault, match="not Authorized"):
        onvif_service(cam, user="izle", password="Izle-2026!").SetHostname(Name="x")


def test_services_and_capabilities_name_the_device_service(cam):
    svc = onvif_service(cam, user=None)
    assert svc.GetServices(IncludeCapability=False)[0].XAddr.endswith("/onvif/device_service")
    assert svc.GetCapabilities(Category=["All"]).Device.XAddr.endswith("/onvif/device_service")


def test_isapi_reads_and_writes_with_digest(cam):
    info = xmltodict.parse(isapi(cam, "GET", "/ISAPI/System/deviceInfo").text)["DeviceInfo"]
    assert info["firmwareVersion"] == "V5.7.3"
    for path, root in (("/ISAPI/System/Network/EZVIZ", "EZVIZ"), ("/ISAPI/System/Network/UPnP", "UPnP")):
        assert xmltodict.parse(isapi(cam, "GET", path).text)[root]["enabled"] == "true"
        body = (
            f'<{root} version="2.0" xmlns="http://www.hikvision.com/ver20/XMLSchema"><enabled>false</enabled></{root}>'
        )
        assert isapi(cam, "PUT", path, body=body).status_code == 200
        assert xmltodict.parse(isapi(cam, "GET", path).text)[root]["enabled"] == "false"
    body = "<Time><timeMode>NTP</timeMode><timeZone>CST-3:00:00</timeZone></Time>"
    assert isapi(cam, "PUT", "/ISAPI/System/time", body=body).status_code == 200
    assert xmltodict.parse(isapi(cam, "GET", "/ISAPI/System/time").text)["Time"]["timeZone"] == "CST-3:00:00"
    saved = state_of(cam)["isapi"]
    assert saved == {"ezviz_enabled": False, "upnp_enabled": False, "time_zone": "CST-3:00:00"}


def test_isapi_rejects_a_wrong_password_and_a_bad_body(cam):
    assert isapi(cam, "GET", "/ISAPI/System/deviceInfo", password="wrong").status_code == 401
    assert requests.get(f"http://{cam.host}:{cam.port}/ISAPI/System/deviceInfo", timeout=5).status_code == 401
    bad = isapi(cam, "PUT", "/ISAPI/System/Network/EZVIZ", body="<EZVIZ><enabled>maybe</enabled></EZVIZ>")
    assert bad.status_code == 400
    assert isapi(cam, "PUT", "/ISAPI/System/deviceInfo", body="<DeviceInfo/>").status_code == 405


def test_onvif_and_isapi_share_the_account_store(cam):
    onvif_service(cam).CreateUsers(User=[{"Username": "nvr", "Password": "Nvr-2026!", "UserLevel": "Operator"}])
    assert isapi(cam, "GET", "/ISAPI/System/deviceInfo", user="nvr", password="Nvr-2026!").status_code == 200


def test_clock_skew_beyond_five_minutes_rejects_a_digest(tmp_path):
    server = start(tmp_path, name="skewed", clock_offset=3600)
    try:
        with pytest.raises(Fault, match="not Authorized"):
            onvif_service(server).GetHostname()
    finally:
        server.shutdown()


def test_state_survives_a_restart(tmp_path):
    first = start(tmp_path, name="restart")
    onvif_service(first).SetHostname(Name="kamera-meclis-02")
    onvif_service(first).CreateUsers(User=[{"Username": "vms", "Password": "Vms-2026!", "UserLevel": "User"}])
    first.shutdown()
    second = start(tmp_path, name="restart", password="ignored-after-first-start")
    try:
        assert onvif_service(second).GetHostname().Name == "kamera-meclis-02"
        assert onvif_service(second, user="vms", password="Vms-2026!").GetUsers()[1].Username == "vms"
        assert onvif_service(second, password=ADMIN_PASSWORD).GetDeviceInformation().Model
    finally:
        second.shutdown()
