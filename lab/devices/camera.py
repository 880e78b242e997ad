#!/usr/bin/env python3
"""IP camera simulator for the lab and the tests: ONVIF Device service plus Hikvision ISAPI.

One HTTP server answers two protocols on a loopback address:

* ONVIF SOAP 1.2 at ``/onvif/device_service``. Requests are typed, and responses are built, by zeep
  from the real ``devicemgmt.wsdl`` shipped in the onvif-zeep-async wheel, so every answer has the
  shape the WSDL prescribes. WS-Security UsernameToken is checked (PasswordDigest, and PasswordText);
  a bad login is answered with the SOAP 1.2 fault ``ter:NotAuthorized``.
* Hikvision ISAPI XML resources under ``/ISAPI/...`` behind RFC 7616 HTTP Digest (MD5, qop=auth).

Both protocols share one account store. The state is written to a JSON file after every change, so
a restarted simulator comes back with what was configured. Start it from the command line::

    python lab/devices/camera.py --listen 127.0.2.11 --port 8080 --state /tmp/cam1.json \\
        --user admin --password 'S3cret!' --model DS-2CD2143G2-I --firmware V5.7.3 --serial DS0001

or in-process (tests): ``server = serve("127.0.0.1", 0, "/tmp/s.json", ...); server.port; server.shutdown()``.
"""

from __future__ import annotations

import argparse
import base64
import copy
import datetime as dt
import hashlib
import hmac
import importlib.util
import json
import os
import re
import secrets
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from xml.etree import ElementTree as ET  # noqa: S405 - only builds XML and parses the tester's PUT bodies

from lxml import etree
from zeep import Settings
from zeep.transports import Transport
from zeep.wsdl import Document

SOAP12 = "http://www.w3.org/2003/05/soap-envelope"
WSSE = "http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-wssecurity-secext-1.0.xsd"
WSU = "http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-wssecurity-utility-1.0.xsd"
TER = "http://www.onvif.org/ver10/error"
DEVICE_NS = "http://www.onvif.org/ver10/device/wsdl"
HIK_NS = "http://www.hikvision.com/ver20/XMLSchema"
REALM = "IP Camera"
# Operations ONVIF puts in the PRE_AUTH class: answered without credentials.
PRE_AUTH = {"GetSystemDateAndTime", "GetServices", "GetCapabilities", "GetWsdlUrl"}
# Operations that change the device; only Administrator accounts may call them.
WRITE_OPS = {
    "SetSystemDateAndTime",
    "SetHostname",
    "SetNTP",
    "CreateUsers",
    "SetUser",
    "DeleteUsers",
    "SetDiscoveryMode",
}
USER_LEVELS = ("Administrator", "Operator", "User")
MAX_SKEW = 300  # seconds a UsernameToken's Created may differ from the device clock
_XML_PARSER = etree.XMLParser(resolve_entities=False, no_network=True, huge_tree=False)


def wsdl_dir():
    """The ONVIF WSDL directory bundled with onvif-zeep-async, found without importing the package."""
    spec = importlib.util.find_spec("onvif")
    if spec is None or spec.origin is None:
        raise RuntimeError("onvif-zeep-async is not installed: its WSDL files are needed")
    return os.path.join(os.path.dirname(spec.origin), "wsdl")


_DOC_LOCK = threading.Lock()
_DOC = {}


def device_document():
    """The parsed devicemgmt.wsdl, once per process."""
    with _DOC_LOCK:
        if "doc" not in _DOC:
            _DOC["doc"] = Document(os.path.join(wsdl_dir(), "devicemgmt.wsdl"), Transport(), settings=Settings())
        return _DOC["doc"]


def default_state(user, password, model, firmware, serial, hostname):
    return {
        "hostname": hostname,
        "ntp": {"from_dhcp": False, "servers": [{"type": "IPv4", "address": "192.168.1.1"}]},
        "datetime_type": "Manual",
        "daylight_savings": False,
        "tz": "GMT0",
        "users": [{"name": user, "level": "Administrator", "password": password}],
        "discovery_mode": "Discoverable",
        "device": {
            "manufacturer": "HIKVISION",
            "model": model,
            "firmware": firmware,
            "serial": serial,
            "hardware_id": "88",
        },
        "isapi": {"ezviz_enabled": True, "upnp_enabled": True, "time_zone": "CST+0:00:00"},
    }


class CameraState:
    """The device's configuration, persisted as JSON after every change."""

    def __init__(self, path, initial):
        self.path = Path(path)
        self.lock = threading.RLock()
        if self.path.exists():
            self.data = json.loads(self.path.read_text(encoding="utf-8"))
        else:
            self.data = initial
            self.save()

    def save(self):
        tmp = self.path.with_suffix(self.path.suffix + ".tmp")
        tmp.write_text(json.dumps(self.data, indent=2, sort_keys=True), encoding="utf-8")
        os.replace(tmp, self.path)

    def user(self, name):
        for user in self.data["users"]:
            if user["name"] == name:
                return user
        return None


class Fault(Exception):
    """A SOAP 1.2 fault to return: code Sender/Receiver, ter: subcodes and the reason text."""

    def __init__(self, reason, subcodes=("ter:InvalidArgVal",), code="Sender", status=400):
        super().__init__(reason)
        self.reason = reason
        self.subcodes = subcodes
        self.code = code
        self.status = status


def not_authorized():
    return Fault("Sender not Authorized", ("ter:NotAuthorized",))


def fault_envelope(fault):
    env = etree.Element(f"{{{SOAP12}}}Envelope", nsmap={"env": SOAP12, "ter": TER})
    body = etree.SubElement(env, f"{{{SOAP12}}}Body")
    node = etree.SubElement(body, f"{{{SOAP12}}}Fault")
    code = etree.SubElement(node, f"{{{SOAP12}}}Code")
    etree.SubElement(code, f"{{{SOAP12}}}Value").text = f"env:{fault.code}"
    parent = code
    for sub in fault.subcodes:
        subcode = etree.SubElement(parent, f"{{{SOAP12}}}Subcode")
        etree.SubElement(subcode, f"{{{SOAP12}}}Value").text = sub
        parent = subcode
    reason = etree.SubElement(node, f"{{{SOAP12}}}Reason")
    text = etree.SubElement(reason, f"{{{SOAP12}}}Text")
    text.set("{http://www.w3.org/XML/1998/namespace}lang", "en")
    text.text = fault.reason
    return etree.tostring(env, xml_declaration=True, encoding="utf-8")


def parse_created(text):
    return dt.datetime.fromisoformat(text.strip().replace("Z", "+00:00"))


def check_username_token(header, state, now):
    """Return the authenticated user's record, or raise NotAuthorized."""
    if header is None:
        raise not_authorized()
    token = header.find(f"{{{WSSE}}}Security/{{{WSSE}}}UsernameToken")
    if token is None:
        raise not_authorized()
    name = (token.findtext(f"{{{WSSE}}}Username") or "").strip()
    password = token.find(f"{{{WSSE}}}Password")
    user = state.user(name)
    if user is None or password is None:
        raise not_authorized()
    kind = password.get("Type", "#PasswordText")
    supplied = (password.text or "").strip()
    if kind.endswith("#PasswordDigest"):
        nonce_text = token.findtext(f"{{{WSSE}}}Nonce") or ""
        created = token.findtext(f"{{{WSU}}}Created") or ""
        try:
            skew = abs((parse_created(created) - now).total_seconds())
            nonce = base64.b64decode(nonce_text)
        except ValueError as exc:
            raise not_authorized() from exc
        if skew > MAX_SKEW:
            raise not_authorized()
        expected = base64.b64encode(
            hashlib.sha1(nonce + created.encode("utf-8") + user["password"].encode("utf-8")).digest()  # noqa: S324
        ).decode("ascii")
        ok = hmac.compare_digest(expected, supplied)
    else:
        ok = hmac.compare_digest(user["password"].encode("utf-8"), supplied.encode("utf-8"))
    if not ok:
        raise not_authorized()
    return user


# --- ONVIF operations: typed request in, keyword arguments for the output message out ------------


def _ntp_host(item):
    kind = item.Type
    address = {"IPv4": item.IPv4Address, "IPv6": item.IPv6Address, "DNS": item.DNSname}.get(kind)
    if not address:
        raise Fault("NTP entry without an address")
    return {"type": kind, "address": address}


def _ntp_out(server):
    key = {"IPv4": "IPv4Address", "IPv6": "IPv6Address", "DNS": "DNSname"}[server["type"]]
    return {"Type": server["type"], key: server["address"]}


class OnvifDevice:
    def __init__(self, state, xaddr_host, clock_offset):
        self.state = state
        self.xaddr_host = xaddr_host
        self.clock_offset = clock_offset

    def now(self):
        return dt.datetime.now(dt.UTC) + dt.timedelta(seconds=self.clock_offset)

    def GetSystemDateAndTime(self, req):  # noqa: N802 - named after the ONVIF operation
        now = self.now()
        data = self.state.data
        return {
            "SystemDateAndTime": {
                "DateTimeType": data["datetime_type"],
                "DaylightSavings": data["daylight_savings"],
                "TimeZone": {"TZ": data["tz"]},
                "UTCDateTime": {
                    "Time": {"Hour": now.hour, "Minute": now.minute, "Second": now.second},
                    "Date": {"Year": now.year, "Month": now.month, "Day": now.day},
                },
            }
        }

    def SetSystemDateAndTime(self, req):  # noqa: N802
        if req.DateTimeType not in ("NTP", "Manual"):
            raise Fault(f"invalid DateTimeType {req.DateTimeType}")
        data = self.state.data
        data["datetime_type"] = req.DateTimeType
        data["daylight_savings"] = bool(req.DaylightSavings)
        if req.TimeZone is not None and req.TimeZone.TZ:
            if not re.match(r"^(<[+-]?\w+>|[A-Za-z]{3,})[+-]?\d", req.TimeZone.TZ):
                raise Fault("invalid TZ", ("ter:InvalidArgVal", "ter:InvalidTimeZone"))
            data["tz"] = req.TimeZone.TZ
        return {}

    def GetDeviceInformation(self, req):  # noqa: N802
        dev = self.state.data["device"]
        return {
            "Manufacturer": dev["manufacturer"],
            "Model": dev["model"],
            "FirmwareVersion": dev["firmware"],
            "SerialNumber": dev["serial"],
            "HardwareId": dev["hardware_id"],
        }

    def GetHostname(self, req):  # noqa: N802
        return {"HostnameInformation": {"FromDHCP": False, "Name": self.state.data["hostname"]}}

    def SetHostname(self, req):  # noqa: N802
        if not re.match(r"^[A-Za-z0-9][A-Za-z0-9-]{0,62}$", req.Name or ""):
            raise Fault("invalid hostname", ("ter:InvalidArgVal", "ter:InvalidHostname"))
        self.state.data["hostname"] = req.Name
        return {}

    def GetNTP(self, req):  # noqa: N802
        ntp = self.state.data["ntp"]
        return {"NTPInformation": {"FromDHCP": ntp["from_dhcp"], "NTPManual": [_ntp_out(s) for s in ntp["servers"]]}}

    def SetNTP(self, req):  # noqa: N802
        self.state.data["ntp"] = {
            "from_dhcp": bool(req.FromDHCP),
            "servers": [_ntp_host(item) for item in (req.NTPManual or [])],
        }
        return {}

    def GetUsers(self, req):  # noqa: N802
        return {"User": [{"Username": u["name"], "UserLevel": u["level"]} for u in self.state.data["users"]]}

    def CreateUsers(self, req):  # noqa: N802
        new = []
        for user in req.User:
            if self.state.user(user.Username) or any(u["name"] == user.Username for u in new):
                raise Fault("user exists", ("ter:OperationProhibited", "ter:UsernameClash"))
            if user.UserLevel not in USER_LEVELS:
                raise Fault("user level not allowed", ("ter:OperationProhibited", "ter:AnonymousNotAllowed"))
            if not user.Password:
                raise Fault("password required", ("ter:OperationProhibited", "ter:PasswordTooWeak"))
            new.append({"name": user.Username, "level": user.UserLevel, "password": user.Password})
        self.state.data["users"].extend(new)
        return {}

    def SetUser(self, req):  # noqa: N802
        for user in req.User:
            record = self.state.user(user.Username)
            if record is None:
                raise Fault("unknown user", ("ter:InvalidArgVal", "ter:UsernameMissing"))
            if user.UserLevel not in USER_LEVELS:
                raise Fault("user level not allowed", ("ter:OperationProhibited", "ter:AnonymousNotAllowed"))
            record["level"] = user.UserLevel
            if user.Password:
                record["password"] = user.Password
        return {}

    def DeleteUsers(self, req):  # noqa: N802
        names = list(req.Username)
        for name in names:
            if self.state.user(name) is None:
                raise Fault("unknown user", ("ter:InvalidArgVal", "ter:UsernameMissing"))
        remaining = [u for u in self.state.data["users"] if u["name"] not in names]
        if not any(u["level"] == "Administrator" for u in remaining):
            raise Fault("cannot delete the last administrator", ("ter:OperationProhibited", "ter:FixedUser"))
        self.state.data["users"] = remaining
        return {}

    def GetDiscoveryMode(self, req):  # noqa: N802
        return {"DiscoveryMode": self.state.data["discovery_mode"]}

    def SetDiscoveryMode(self, req):  # noqa: N802
        if req.DiscoveryMode not in ("Discoverable", "NonDiscoverable"):
            raise Fault("invalid discovery mode")
        self.state.data["discovery_mode"] = req.DiscoveryMode
        return {}

    def GetServices(self, req):  # noqa: N802
        return {
            "Service": [
                {
                    "Namespace": DEVICE_NS,
                    "XAddr": f"{self.xaddr_host}/onvif/device_service",
                    "Version": {"Major": 2, "Minor": 60},
                },
            ]
        }

    def GetCapabilities(self, req):  # noqa: N802
        return {
            "Capabilities": {
                "Device": {
                    "XAddr": f"{self.xaddr_host}/onvif/device_service",
                    "Network": {"IPFilter": False, "ZeroConfiguration": False, "IPVersion6": False, "DynDNS": False},
                    "System": {
                        "DiscoveryResolve": False,
                        "DiscoveryBye": True,
                        "RemoteDiscovery": False,
                        "SystemBackup": False,
                        "SystemLogging": True,
                        "FirmwareUpgrade": True,
                        "SupportedVersions": [{"Major": 2, "Minor": 60}],
                    },
                    "Security": {
                        "TLS1.1": False,
                        "TLS1.2": False,
                        "OnboardKeyGeneration": False,
                        "AccessPolicyConfig": False,
                        "X.509Token": False,
                        "SAMLToken": False,
                        "KerberosToken": False,
                        "RELToken": False,
                    },
                }
            }
        }


class OnvifEndpoint:
    """Maps a SOAP body element to the WSDL operation and runs it."""

    def __init__(self, device):
        self.device = device
        doc = device_document()
        binding = doc.bindings[f"{{{DEVICE_NS}}}DeviceBinding"]
        self.ops = {}
        for name, op in binding._operations.items():
            self.ops[f"{{{DEVICE_NS}}}{name}"] = op

    def handle(self, raw):
        """Return (http status, response bytes)."""
        try:
            env = etree.fromstring(raw, parser=_XML_PARSER)  # noqa: S320 - entities and network disabled
        except etree.XMLSyntaxError:
            return 400, fault_envelope(Fault("malformed XML", ("ter:WellFormed",)))
        body = env.find(f"{{{SOAP12}}}Body")
        if env.tag != f"{{{SOAP12}}}Envelope" or body is None or len(body) == 0:
            return 400, fault_envelope(Fault("not a SOAP 1.2 envelope", ("ter:WellFormed",)))
        op = self.ops.get(body[0].tag)
        handler = getattr(self.device, op.name, None) if op is not None else None
        if handler is None:
            return 400, fault_envelope(Fault("Optional Action Not Implemented", ("ter:ActionNotSupported",)))
        state = self.device.state
        with state.lock:
            before = copy.deepcopy(state.data)
            try:
                if op.name not in PRE_AUTH:
                    user = check_username_token(env.find(f"{{{SOAP12}}}Header"), state, self.device.now())
                    if op.name in WRITE_OPS and user["level"] != "Administrator":
                        raise not_authorized()
                request = op.input._deserialize_body(body)["body"]
                result = handler(request)
                if state.data != before:
                    state.save()
            except Fault as fault:
                state.data = before
                return fault.status, fault_envelope(fault)
        message = op.output.serialize(**result)
        return 200, etree.tostring(message.content, xml_declaration=True, encoding="utf-8")


# --- Hikvision ISAPI ---------------------------------------------------------------------------


def _hik_xml(root, fields):
    node = ET.Element(root, {"version": "2.0", "xmlns": HIK_NS})
    for key, value in fields:
        ET.SubElement(node, key).text = value
    return ET.tostring(node, encoding="utf-8", xml_declaration=True)


def _hik_read(raw):
    """{local tag: text} of the direct children of a PUT body."""
    root = ET.fromstring(raw)  # noqa: S314 - loopback test double, bodies come from the tests
    return root.tag.rsplit("}", 1)[-1], {child.tag.rsplit("}", 1)[-1]: (child.text or "").strip() for child in root}


def _bool(text):
    if text not in ("true", "false"):
        raise ValueError(f"expected true or false, got {text!r}")
    return text == "true"


class IsapiResources:
    def __init__(self, state, clock):
        self.state = state
        self.clock = clock

    def get(self, path):
        data = self.state.data
        isapi = data["isapi"]
        dev = data["device"]
        if path == "/ISAPI/System/deviceInfo":
            return _hik_xml(
                "DeviceInfo",
                [
                    ("deviceName", data["hostname"]),
                    ("model", dev["model"]),
                    ("serialNumber", dev["serial"]),
                    ("firmwareVersion", dev["firmware"]),
                    ("hardwareVersion", dev["hardware_id"]),
                    ("deviceType", "IPCamera"),
                ],
            )
        if path == "/ISAPI/System/Network/EZVIZ":
            return _hik_xml("EZVIZ", [("enabled", str(isapi["ezviz_enabled"]).lower())])
        if path == "/ISAPI/System/Network/UPnP":
            return _hik_xml("UPnP", [("enabled", str(isapi["upnp_enabled"]).lower())])
        if path == "/ISAPI/System/time":
            return _hik_xml(
                "Time",
                [
                    ("timeMode", data["datetime_type"]),
                    ("localTime", self.clock().strftime("%Y-%m-%dT%H:%M:%S")),
                    ("timeZone", isapi["time_zone"]),
                ],
            )
        return None

    def put(self, path, raw):
        """Apply a PUT; returns True when the resource exists. Raises ValueError on a bad body."""
        isapi = self.state.data["isapi"]
        if path not in ("/ISAPI/System/Network/EZVIZ", "/ISAPI/System/Network/UPnP", "/ISAPI/System/time"):
            return False
        try:
            root, fields = _hik_read(raw)
        except ET.ParseError as exc:
            raise ValueError("malformed XML") from exc
        if path.endswith("/EZVIZ"):
            if root != "EZVIZ" or "enabled" not in fields:
                raise ValueError("EZVIZ/enabled expected")
            isapi["ezviz_enabled"] = _bool(fields["enabled"])
        elif path.endswith("/UPnP"):
            if root != "UPnP" or "enabled" not in fields:
                raise ValueError("UPnP/enabled expected")
            isapi["upnp_enabled"] = _bool(fields["enabled"])
        else:
            if root != "Time":
                raise ValueError("Time expected")
            if "timeMode" in fields:
                if fields["timeMode"] not in ("NTP", "manual", "Manual"):
                    raise ValueError("timeMode must be NTP or manual")
                self.state.data["datetime_type"] = "NTP" if fields["timeMode"] == "NTP" else "Manual"
            if "timeZone" in fields:
                if not re.match(r"^[A-Z]{3}[+-]\d{1,2}:\d{2}:\d{2}$", fields["timeZone"]):
                    raise ValueError("timeZone must look like CST-3:00:00")
                isapi["time_zone"] = fields["timeZone"]
        return True


def _md5(text):
    return hashlib.md5(text.encode("utf-8")).hexdigest()  # noqa: S324 - RFC 7616 MD5 is what the cameras speak


def parse_digest_header(value):
    """Authorization: Digest k=v, k="v" ... -> dict."""
    if not value or not value.lower().startswith("digest "):
        return None
    out = {}
    for match in re.finditer(r'(\w+)=(?:"((?:[^"\\]|\\.)*)"|([^,\s]*))', value[7:]):
        out[match.group(1).lower()] = match.group(2) if match.group(2) is not None else match.group(3)
    return out


class DigestAuth:
    """Server side of RFC 7616 Digest, MD5 with qop=auth. Nonces are HMACs of a timestamp."""

    def __init__(self, realm=REALM, lifetime=600):
        self.realm = realm
        self.key = secrets.token_bytes(16)
        self.lifetime = lifetime
        self.opaque = secrets.token_hex(8)

    def challenge(self, stale=False):
        stamp = str(int(time.time()))
        mac = hmac.new(self.key, stamp.encode(), hashlib.sha256).hexdigest()[:24]
        nonce = base64.b64encode(f"{stamp}:{mac}".encode()).decode()
        header = f'Digest realm="{self.realm}", qop="auth", algorithm=MD5, nonce="{nonce}", opaque="{self.opaque}"'
        return header + (", stale=true" if stale else "")

    def _nonce_fresh(self, nonce):
        try:
            stamp, mac = base64.b64decode(nonce).decode().split(":", 1)
        except (ValueError, UnicodeDecodeError):
            return False
        expected = hmac.new(self.key, stamp.encode(), hashlib.sha256).hexdigest()[:24]
        return hmac.compare_digest(mac, expected) and time.time() - int(stamp) < self.lifetime

    def verify(self, header, method, state):
        """Return (user record or None, stale flag)."""
        fields = parse_digest_header(header)
        if not fields:
            return None, False
        needed = ("username", "realm", "nonce", "uri", "response", "qop", "nc", "cnonce")
        if any(k not in fields for k in needed) or fields["qop"] != "auth" or fields["realm"] != self.realm:
            return None, False
        if fields.get("algorithm", "MD5").upper() != "MD5":
            return None, False
        user = state.user(fields["username"])
        if user is None:
            return None, False
        ha1 = _md5(f"{user['name']}:{self.realm}:{user['password']}")
        ha2 = _md5(f"{method}:{fields['uri']}")
        expected = _md5(f"{ha1}:{fields['nonce']}:{fields['nc']}:{fields['cnonce']}:auth:{ha2}")
        if not hmac.compare_digest(expected, fields["response"]):
            return None, False
        if not self._nonce_fresh(fields["nonce"]):
            return None, True
        return user, False


# --- HTTP -------------------------------------------------------------------------------------------


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "App-webs/"

    def log_message(self, format, *args):  # noqa: A002 - signature of the base class
        if self.server.verbose:
            super().log_message(format, *args)

    def _body(self):
        length = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(length) if length else b""

    def _send(self, status, body, ctype="application/xml; charset=utf-8", extra=()):
        self.send_response(status)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(body)))
        for key, value in extra:
            self.send_header(key, value)
        self.end_headers()
        self.wfile.write(body)

    def _status_xml(self, code, text):
        return _hik_xml(
            "ResponseStatus",
            [
                ("requestURL", self.path),
                ("statusCode", str(code)),
                ("statusString", text),
                ("subStatusCode", text.lower()),
            ],
        )

    def do_POST(self):  # noqa: N802
        raw = self._body()
        if self.path.split("?")[0] != "/onvif/device_service":
            self._send(404, b"not found", "text/plain")
            return
        status, payload = self.server.onvif.handle(raw)
        self._send(status, payload, "application/soap+xml; charset=utf-8")

    def _isapi(self, method):
        raw = self._body()
        path = self.path.split("?")[0]
        if not path.startswith("/ISAPI/"):
            self._send(404, b"not found", "text/plain")
            return
        state = self.server.state
        user, stale = self.server.digest.verify(self.headers.get("Authorization"), method, state)
        if user is None:
            self._send(
                401,
                self._status_xml(4, "Invalid Operation"),
                extra=[("WWW-Authenticate", self.server.digest.challenge(stale))],
            )
            return
        resources = self.server.isapi
        with state.lock:
            if method == "GET":
                body = resources.get(path)
                if body is None:
                    self._send(404, self._status_xml(4, "Invalid Operation"))
                else:
                    self._send(200, body)
                return
            if user["level"] != "Administrator":
                self._send(403, self._status_xml(4, "Invalid Operation"))
                return
            before = copy.deepcopy(state.data)
            try:
                found = resources.put(path, raw)
            except ValueError as exc:
                state.data = before
                self._send(400, self._status_xml(6, f"Invalid Content: {exc}"))
                return
            if not found:
                self._send(404 if resources.get(path) is None else 405, self._status_xml(4, "Invalid Operation"))
                return
            if state.data != before:
                state.save()
            self._send(200, self._status_xml(1, "OK"))

    def do_GET(self):  # noqa: N802
        self._isapi("GET")

    def do_PUT(self):  # noqa: N802
        self._isapi("PUT")


class CameraServer(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True

    def __init__(self, listen, port, state, clock_offset=0, verbose=False):
        if not listen.startswith("127."):
            raise ValueError(f"the simulator only binds to loopback addresses, not {listen}")
        super().__init__((listen, port), Handler)
        self.state = state
        self.verbose = verbose
        self.port = self.server_address[1]
        self.host = listen
        device = OnvifDevice(state, f"http://{listen}:{self.port}", clock_offset)
        self.onvif = OnvifEndpoint(device)
        self.isapi = IsapiResources(state, device.now)
        self.digest = DigestAuth()
        self._thread = None

    def start(self):
        self._thread = threading.Thread(target=self.serve_forever, name=f"camera-{self.port}", daemon=True)
        self._thread.start()
        return self

    def shutdown(self):
        super().shutdown()
        self.server_close()
        if self._thread is not None:
            self._thread.join(timeout=5)


def serve(
    listen="127.0.0.1",
    port=0,
    state_path="camera-state.json",
    user="admin",
    password="admin12345",  # noqa: S107 - lab default, overridden on the command line
    model="DS-2CD2143G2-I",
    firmware="V5.7.3",
    serial="DS-2CD2143G2-I20230101AAWRJ00001",
    hostname="camera",
    clock_offset=0,
    verbose=False,
):
    """Start the simulator in a background thread; returns the server (``.port``, ``.shutdown()``)."""
    state = CameraState(state_path, default_state(user, password, model, firmware, serial, hostname))
    return CameraServer(listen, port, state, clock_offset=clock_offset, verbose=verbose).start()


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--listen", default="127.0.0.1", help="loopback address to bind (127.0.0.0/8)")
    parser.add_argument("--port", type=int, default=8080)
    parser.add_argument("--state", required=True, help="JSON state file (created on first start)")
    parser.add_argument("--user", default="admin", help="initial administrator (first start only)")
    parser.add_argument("--password", default=os.environ.get("CAMERA_PASSWORD", "admin12345"))
    parser.add_argument("--model", default="DS-2CD2143G2-I")
    parser.add_argument("--firmware", default="V5.7.3")
    parser.add_argument("--serial", default="DS-2CD2143G2-I20230101AAWRJ00001")
    parser.add_argument("--hostname", default="camera")
    parser.add_argument("--clock-offset", type=int, default=0, help="seconds the device clock is off")
    parser.add_argument("--verbose", action="store_true")
    args = parser.parse_args(argv)
    server = serve(
        args.listen,
        args.port,
        args.state,
        args.user,
        args.password,
        args.model,
        args.firmware,
        args.serial,
        args.hostname,
        args.clock_offset,
        args.verbose,
    )
    print(f"camera simulator on http://{args.listen}:{server.port} state {args.state}", flush=True)
    try:
        while True:
            time.sleep(3600)
    except KeyboardInterrupt:
        pass
    finally:
        server.shutdown()


if __name__ == "__main__":
    main()
