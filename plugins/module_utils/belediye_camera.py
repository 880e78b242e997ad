"""IP camera drivers and pure diff functions for the camera_* modules.

Two layers:

* ``OnvifDevice``: the vendor-neutral part over ONVIF Device Management (sync zeep, the WSDL files that
  ship with onvif-zeep-async, WS-UsernameToken PasswordDigest with clock-skew compensation): NTP, time
  zone, hostname, users, WS-Discovery mode, device information.
* ``Vendor`` subclasses for what ONVIF cannot do (P2P/cloud, UPnP, the vendor's own time zone field).
  ``HikvisionIsapi`` speaks ISAPI XML over HTTP Digest. Register a new vendor with ``@register_vendor``.
  Dahua is the next one: ``/cgi-bin/configManager.cgi?action=setConfig&T2UServer.Enable=false`` turns
  P2P/Easy4IP off and ``...&UPnP.Enable=false`` turns UPnP off (HTTP Digest, key=value answers such as
  ``table.T2UServer.Enable=false``); not implemented yet.

Everything that decides *what* to change is a pure function (``diff_*``, ``timezone_*``) and is unit
tested in tests/unit/test_camera_diff.py. Every failure becomes a ``CameraError`` whose text names the
device, e.g. ``camera kamera-zabita-01 (127.0.2.11:8080): authentication rejected``.
"""

from __future__ import annotations

import datetime as dt
import importlib.util
import os
import re
import sys

DEVICE_BINDING = "{http://www.onvif.org/ver10/device/wsdl}DeviceBinding"
USER_LEVELS = ("Administrator", "Operator", "User")

# IANA name -> (POSIX TZ for ONVIF, Hikvision ISAPI timeZone). Turkey has been UTC+3 all year since 2016.
TIMEZONES = {
    "Europe/Istanbul": ("<+03>-3", "CST-3:00:00"),
    "Asia/Istanbul": ("<+03>-3", "CST-3:00:00"),
    "Turkey": ("<+03>-3", "CST-3:00:00"),
    "UTC": ("UTC0", "CST+0:00:00"),
    "Etc/UTC": ("UTC0", "CST+0:00:00"),
}
_POSIX_FIXED = re.compile(r"^(?:<[+-]?[A-Za-z0-9]+>|[A-Za-z]{3,})([+-]?)(\d{1,2})(?::(\d{2}))?$")


class CameraError(Exception):
    """A failure on one camera; the text is ready for fail_json."""


# --- pure functions -------------------------------------------------------------------------------


def device_label(name, host, port):
    """'camera kamera-zabita-01 (127.0.2.11:8080)'; the name is left out when it is the address."""
    where = f"{host}:{port}"
    return f"camera {name} ({where})" if name and name != host else f"camera {where}"


def timezone_forms(value):
    """Map a time zone to (POSIX TZ, Hikvision timeZone).

    Accepts an IANA name from TIMEZONES or a POSIX string without daylight saving rules
    ('<+03>-3', 'UTC0'); the Hikvision form keeps POSIX's inverted sign ('CST-3:00:00' is UTC+3).
    """
    if value in TIMEZONES:
        return TIMEZONES[value]
    match = _POSIX_FIXED.match(value or "")
    if not match:
        raise ValueError(
            f"time zone {value!r} is neither a known name ({', '.join(sorted(TIMEZONES))}) "
            "nor a POSIX TZ without daylight saving such as '<+03>-3'"
        )
    sign = "-" if match.group(1) == "-" else "+"
    return value, f"CST{sign}{int(match.group(2))}:{match.group(3) or '00'}:00"


def normalise_ntp(servers):
    """Lower-cased, de-duplicated server names in their given order."""
    seen = []
    for server in servers or []:
        name = str(server).strip().lower()
        if name and name not in seen:
            seen.append(name)
    return seen


def ntp_type(address):
    """ONVIF NetworkHost type of an address: IPv4, IPv6 or DNS."""
    if re.match(r"^\d{1,3}(\.\d{1,3}){3}$", address):
        return "IPv4"
    if ":" in address:
        return "IPv6"
    return "DNS"


def diff_ntp(current, desired):
    """Whether the NTP server set differs. Order-insensitive: a camera queries every listed server, so
    only membership matters; writing the same set in another order would make every run 'changed'."""
    return set(normalise_ntp(current)) != set(normalise_ntp(desired))


def diff_value(current, desired):
    """Changed when a desired value is given (not None) and differs from the current one."""
    return desired is not None and current != desired


def diff_hostname(current, desired):
    return desired is not None and (current or "").lower() != desired.lower()


def diff_users(current, desired, update_password="on_create", purge=True, keep=(), login_user=None):  # noqa: S107 - a mode name, not a password
    """Plan user changes.

    current: {name: level} as GetUsers reports (never with passwords).
    desired: list of {name, level, password}.
    Returns {'create': [user...], 'update': [user...], 'remove': [name...]} where users are desired
    entries. update_password=always sets every desired password (the camera cannot be asked for it, so
    that always counts as a change); on_create only sets passwords of new users.
    """
    if update_password not in ("always", "on_create"):
        raise ValueError(f"update_password must be always or on_create, not {update_password!r}")
    wanted = {}
    for user in desired:
        if user["name"] in wanted:
            raise ValueError(f"user {user['name']} is listed twice")
        if user.get("level", "User") not in USER_LEVELS:
            raise ValueError(f"user {user['name']}: level must be one of {', '.join(USER_LEVELS)}")
        wanted[user["name"]] = user
    create, update = [], []
    for name, user in wanted.items():
        level = user.get("level", "User")
        if name not in current:
            if not user.get("password"):
                raise ValueError(f"user {name} does not exist yet and has no password")
            create.append(user)
        elif current[name] != level or (update_password == "always" and user.get("password")):  # noqa: S105 - a mode name
            update.append(user)
    protected = set(keep or ()) | ({login_user} if login_user else set())
    remove = sorted(n for n in current if purge and n not in wanted and n not in protected)
    return {"create": create, "update": update, "remove": remove}


def user_plan_summary(plan, current):
    """Names per action plus a before/after view for --diff (levels only, never passwords)."""
    after = dict(current)
    for user in plan["create"] + plan["update"]:
        after[user["name"]] = user.get("level", "User")
    for name in plan["remove"]:
        after.pop(name, None)
    return {
        "created": [u["name"] for u in plan["create"]],
        "updated": [u["name"] for u in plan["update"]],
        "removed": list(plan["remove"]),
        "diff": {"before": dict(sorted(current.items())), "after": dict(sorted(after.items()))},
    }


def firmware_drift(model, firmware, approved):
    """(drift, approved list) for a model. A model missing from the approved map counts as drift."""
    versions = list((approved or {}).get(model, []))
    return firmware not in versions, versions


FIRMWARE_POLICIES = ("pinned", "minimum", "report_only")


def firmware_key(version):
    """The numeric parts of a vendor's firmware string, for comparing versions.

    Hikvision reports 'V5.7.15 build 230601', Axis '11.11.73', Dahua 'V2.840.0000000.7.R, Build Date
    2023-06-01': the version is the first word (a comma ends it too) and its digit runs are compared
    as numbers, so V5.7.15 > V5.7.3 and the build date plays no part. A string without digits raises
    ValueError.
    """
    word = str(version).strip().split(",")[0].split()[0] if str(version).strip() else ""
    parts = tuple(int(run) for run in re.findall(r"\d+", word))
    if not parts:
        raise ValueError(f"firmware version {version!r} has no numbers to compare")
    return parts


def firmware_status(firmware, policy, wanted):
    """(status, drift, reason) of a camera's firmware under the inventory's policy.

    pinned: the camera runs exactly `wanted` (build dates aside); minimum: `wanted` or newer;
    report_only: the version is only reported (e.g. a model out of vendor support). A version that
    cannot be compared counts as drift, so it is looked at rather than passed.
    """
    if policy not in FIRMWARE_POLICIES:
        raise ValueError(f"firmware policy {policy!r} is not one of {', '.join(FIRMWARE_POLICIES)}")
    if policy == "report_only":
        return "not_enforced", False, f"firmware {firmware} is reported only (policy report_only)"
    try:
        have, want = firmware_key(firmware), firmware_key(wanted)
    except ValueError as exc:
        return "unknown", True, f"cannot compare firmware {firmware!r} with {wanted!r}: {exc}"
    if policy == "pinned" and have != want:
        return "differs", True, f"firmware {firmware} is not the pinned {wanted}"
    if policy == "minimum" and have < want:
        return "older", True, f"firmware {firmware} is older than the minimum {wanted}"
    return "ok", False, f"firmware {firmware} meets the {policy} version {wanted}"


def settings_plan(current, desired):
    """Compare the settings the caller asked for; returns (changes, diff).

    current/desired: dicts with the keys ntp_servers, time_mode, timezone, vendor_timezone, hostname,
    discoverable, cloud, upnp; a desired value of None means 'not managed'.
    """
    checks = (
        ("ntp_servers", diff_ntp),
        ("time_mode", diff_value),
        ("timezone", diff_value),
        ("vendor_timezone", diff_value),
        ("hostname", diff_hostname),
        ("discoverable", diff_value),
        ("cloud", diff_value),
        ("upnp", diff_value),
    )
    changes, before, after = [], {}, {}
    for key, differs in checks:
        want = desired.get(key)
        if want is None:
            continue
        have = current.get(key)
        if differs(have, want):
            changes.append(key)
            before[key] = have
            after[key] = want
    return changes, {"before": before, "after": after}


# --- ONVIF driver --------------------------------------------------------------------------------

_CACHE = {}


def _wsdl_path():
    spec = importlib.util.find_spec("onvif")
    if spec is None or spec.origin is None:
        raise CameraError("the controller lacks onvif-zeep-async (its ONVIF WSDL files are needed)")
    return os.path.join(os.path.dirname(spec.origin), "wsdl", "devicemgmt.wsdl")


def _import_zeep():
    """Import zeep without its optional httpx transport, which only zeep's async client uses.

    zeep.transports tries ``import httpx`` (and httpx pulls in more), which costs a module run about
    50 ms of CPU for nothing: we use the synchronous requests transport. A ``None`` entry in
    sys.modules makes that import fail the way zeep expects when httpx is not installed; the entry
    is removed again, so any other code in the process can still import httpx itself.
    """
    if "zeep.transports" in sys.modules or "httpx" in sys.modules:
        return
    sys.modules["httpx"] = None
    try:
        import zeep.transports  # noqa: F401
    finally:
        del sys.modules["httpx"]


def _document():
    """devicemgmt.wsdl parsed once per process (about 0.1 s; the import of zeep costs more)."""
    if "document" not in _CACHE:
        _import_zeep()
        from zeep import Settings
        from zeep.transports import Transport
        from zeep.wsdl import Document

        _CACHE["document"] = Document(_wsdl_path(), Transport(), settings=Settings())
    return _CACHE["document"]


def _skewed_token_class():
    from zeep.wsse.username import UsernameToken

    class SkewedUsernameToken(UsernameToken):
        """UsernameToken whose Created follows the camera's clock, not ours."""

        def __init__(self, username, password, offset):
            super().__init__(username, password, use_digest=True)
            self.offset = offset

        def _create_password_digest(self):
            self.created = dt.datetime.now(dt.UTC) + dt.timedelta(seconds=self.offset)
            return super()._create_password_digest()

    return SkewedUsernameToken


def _fault_is_auth(fault):
    codes = [str(getattr(c, "localname", c)) for c in (getattr(fault, "subcodes", None) or [])]
    text = f"{fault.message or ''} {' '.join(codes)}".lower()
    return "notauthorized" in text or "not authorized" in text or "authority" in text


class OnvifDevice:
    """ONVIF Device service of one camera."""

    def __init__(self, host, port, username, password, timeout=10, name=None, scheme="http"):
        _import_zeep()
        import requests
        from zeep import Client
        from zeep.transports import Transport

        self.label = device_label(name, host, port)
        self.username = username
        self.session = requests.Session()
        self.session.trust_env = False  # no proxies from the environment for a camera on the LAN
        transport = Transport(session=self.session, timeout=timeout, operation_timeout=timeout)
        self.client = Client(_document(), transport=transport)
        self.service = self.client.create_service(DEVICE_BINDING, f"{scheme}://{host}:{port}/onvif/device_service")
        self.offset = 0.0
        self._time = None
        self._sync_clock(password)

    def call(self, operation, **kwargs):
        import requests
        from zeep.exceptions import Error as ZeepError
        from zeep.exceptions import Fault, TransportError

        try:
            return getattr(self.service, operation)(**kwargs)
        except Fault as fault:
            if _fault_is_auth(fault):
                raise CameraError(f"{self.label}: authentication rejected") from None
            raise CameraError(f"{self.label}: {operation} failed: {fault.message}") from None
        except requests.exceptions.Timeout:
            raise CameraError(f"{self.label}: unreachable (timed out)") from None
        except requests.exceptions.ConnectionError:
            raise CameraError(f"{self.label}: unreachable (connection refused or no route)") from None
        except TransportError as exc:
            if exc.status_code == 401:
                raise CameraError(f"{self.label}: authentication rejected") from None
            raise CameraError(f"{self.label}: {operation} failed: HTTP {exc.status_code}") from None
        except (ZeepError, requests.exceptions.RequestException) as exc:
            raise CameraError(f"{self.label}: {operation} failed: {exc}") from None

    def _sync_clock(self, password):
        """GetSystemDateAndTime needs no login; its UTC clock gives the skew the token must follow."""
        self.client.wsse = None
        info = self.call("GetSystemDateAndTime")
        self._time = info
        utc = info.UTCDateTime
        if utc is not None:
            camera = dt.datetime(
                utc.Date.Year,
                utc.Date.Month,
                utc.Date.Day,
                utc.Time.Hour,
                utc.Time.Minute,
                utc.Time.Second,
                tzinfo=dt.UTC,
            )
            self.offset = (camera - dt.datetime.now(dt.UTC)).total_seconds()
        self.client.wsse = _skewed_token_class()(self.username, password, self.offset)

    # reads
    def device_information(self):
        info = self.call("GetDeviceInformation")
        return {
            "manufacturer": info.Manufacturer,
            "model": info.Model,
            "firmware": info.FirmwareVersion,
            "serial": info.SerialNumber,
            "hardware_id": info.HardwareId,
        }

    def time_settings(self):
        """{'time_mode': 'NTP'|'Manual', 'timezone': POSIX TZ, 'daylight_savings': bool} (from the
        unauthenticated call made at connect; an authenticated read proves the login first)."""
        info = self._time
        return {
            "time_mode": info.DateTimeType,
            "timezone": info.TimeZone.TZ if info.TimeZone is not None else None,
            "daylight_savings": bool(info.DaylightSavings),
        }

    def ntp_servers(self):
        info = self.call("GetNTP")
        out = []
        for host in info.NTPManual or []:
            out.append(host.IPv4Address or host.IPv6Address or host.DNSname)
        return [s for s in out if s]

    def hostname(self):
        return self.call("GetHostname").Name

    def discoverable(self):
        return self.call("GetDiscoveryMode") == "Discoverable"

    def users(self):
        """{name: level}."""
        return {u.Username: u.UserLevel for u in self.call("GetUsers") or []}

    # writes
    def set_ntp(self, servers):
        manual = []
        for server in servers:
            kind = ntp_type(server)
            key = {"IPv4": "IPv4Address", "IPv6": "IPv6Address", "DNS": "DNSname"}[kind]
            manual.append({"Type": kind, key: server})
        self.call("SetNTP", FromDHCP=False, NTPManual=manual)

    def set_time(self, time_mode, timezone):
        current = self.time_settings()
        self.call(
            "SetSystemDateAndTime",
            DateTimeType=time_mode or current["time_mode"],
            DaylightSavings=False,
            TimeZone={"TZ": timezone or current["timezone"]},
        )

    def set_hostname(self, name):
        self.call("SetHostname", Name=name)

    def set_discoverable(self, enabled):
        self.call("SetDiscoveryMode", DiscoveryMode="Discoverable" if enabled else "NonDiscoverable")

    def create_users(self, users):
        self.call("CreateUsers", User=[_onvif_user(u) for u in users])

    def set_users(self, users):
        self.call("SetUser", User=[_onvif_user(u) for u in users])

    def delete_users(self, names):
        self.call("DeleteUsers", Username=list(names))


def _onvif_user(user):
    out = {"Username": user["name"], "UserLevel": user.get("level", "User")}
    if user.get("password"):
        out["Password"] = user["password"]
    return out


# --- vendor drivers --------------------------------------------------------------------------------

VENDORS = {}


def register_vendor(name):
    def wrap(cls):
        VENDORS[name] = cls
        cls.name = name
        return cls

    return wrap


def vendor_driver(name, host, port, username, password, timeout=10, device_name=None):
    """The driver for a vendor name, or None for 'none'."""
    if name in (None, "none"):
        return None
    if name not in VENDORS:
        raise CameraError(f"{device_label(device_name, host, port)}: no driver for vendor {name}")
    return VENDORS[name](host, port, username, password, timeout=timeout, device_name=device_name)


class Vendor:
    """What ONVIF lacks. Subclasses implement every method; values are plain Python types."""

    name = "base"

    def cloud(self):
        """Whether the vendor's P2P/cloud service is on."""
        raise NotImplementedError

    def set_cloud(self, enabled):
        raise NotImplementedError

    def upnp(self):
        raise NotImplementedError

    def set_upnp(self, enabled):
        raise NotImplementedError

    def timezone(self):
        """The vendor's own time zone string (it may be kept apart from the ONVIF TZ)."""
        raise NotImplementedError

    def set_timezone(self, value):
        raise NotImplementedError

    @staticmethod
    def timezone_form(posix_and_vendor):
        """Pick this vendor's form from timezone_forms()'s pair."""
        return posix_and_vendor[1]


HIK_NS = "http://www.hikvision.com/ver20/XMLSchema"


@register_vendor("hikvision")
class HikvisionIsapi(Vendor):
    """Hikvision ISAPI over HTTP Digest: EZVIZ/Hik-Connect, UPnP and the time zone."""

    def __init__(self, host, port, username, password, timeout=10, device_name=None, scheme="http"):
        import requests
        from requests.auth import HTTPDigestAuth

        self.label = device_label(device_name, host, port)
        self.base = f"{scheme}://{host}:{port}"
        self.timeout = timeout
        self.session = requests.Session()
        self.session.trust_env = False
        self.session.auth = HTTPDigestAuth(username, password)

    def _request(self, method, path, body=None):
        import requests

        try:
            response = self.session.request(
                method,
                self.base + path,
                data=body,
                timeout=self.timeout,
                headers={"Content-Type": "application/xml"} if body is not None else None,
            )
        except requests.exceptions.Timeout:
            raise CameraError(f"{self.label}: unreachable (timed out)") from None
        except requests.exceptions.ConnectionError:
            raise CameraError(f"{self.label}: unreachable (connection refused or no route)") from None
        if response.status_code == 401:
            raise CameraError(f"{self.label}: authentication rejected (ISAPI)")
        if response.status_code == 403:
            raise CameraError(f"{self.label}: {method} {path} refused: the login lacks administrator rights")
        if response.status_code != 200:
            status = _isapi_status(response.text)
            raise CameraError(f"{self.label}: {method} {path} failed: HTTP {response.status_code} {status}".rstrip())
        return response.text

    def _get_field(self, path, field):
        import xmltodict

        doc = xmltodict.parse(self._request("GET", path), process_namespaces=False)
        root = next(iter(doc.values()))
        return root.get(field) if isinstance(root, dict) else None

    def _put(self, path, root, fields):
        inner = "".join(f"<{k}>{_xml_escape(v)}</{k}>" for k, v in fields)
        body = f'<?xml version="1.0" encoding="UTF-8"?><{root} version="2.0" xmlns="{HIK_NS}">{inner}</{root}>'
        self._request("PUT", path, body.encode("utf-8"))

    def cloud(self):
        return self._get_field("/ISAPI/System/Network/EZVIZ", "enabled") == "true"

    def set_cloud(self, enabled):
        self._put("/ISAPI/System/Network/EZVIZ", "EZVIZ", [("enabled", "true" if enabled else "false")])

    def upnp(self):
        return self._get_field("/ISAPI/System/Network/UPnP", "enabled") == "true"

    def set_upnp(self, enabled):
        self._put("/ISAPI/System/Network/UPnP", "UPnP", [("enabled", "true" if enabled else "false")])

    def timezone(self):
        return self._get_field("/ISAPI/System/time", "timeZone")

    def set_timezone(self, value):
        self._put("/ISAPI/System/time", "Time", [("timeMode", "NTP"), ("timeZone", value)])


def _xml_escape(value):
    return str(value).replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def _isapi_status(text):
    match = re.search(r"<statusString>([^<]*)</statusString>", text or "")
    return match.group(1) if match else ""


# --- shared module plumbing ------------------------------------------------------------------------

CONNECTION_ARGS = {
    "host": {"type": "str", "required": True},
    "port": {"type": "int", "default": 80},
    "username": {"type": "str", "required": True},
    "password": {"type": "str", "required": True, "no_log": True},
    "name": {"type": "str"},
    "timeout": {"type": "int", "default": 10},
}


def connect(params):
    """OnvifDevice from the common module parameters."""
    return OnvifDevice(
        params["host"],
        params["port"],
        params["username"],
        params["password"],
        timeout=params["timeout"],
        name=params.get("name"),
    )


def missing_libraries():
    """Names of the Python packages the camera modules need that the controller lacks."""
    return [m for m in ("zeep", "requests", "xmltodict", "onvif") if importlib.util.find_spec(m) is None]


def require_libraries(module):
    """Fail the module cleanly when the controller's Python lacks a library the camera modules use."""
    missing = missing_libraries()
    if missing:
        module.fail_json(msg=f"the controller's Python lacks {', '.join(missing)}")
