"""Shared helpers for the camera tests: start simulators in-process on loopback, talk to them with the
maintained client libraries (sync zeep + the onvif-zeep-async WSDLs, requests + HTTPDigestAuth)."""

from __future__ import annotations

import json
import os
import socket
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "lab" / "devices"))

import camera  # noqa: E402 - the simulator lives outside any package

DEVICE_BINDING = "{http://www.onvif.org/ver10/device/wsdl}DeviceBinding"
ADMIN = "admin"
ADMIN_PASSWORD = "Ilk-Sifre-2026"  # noqa: S105 - test double's password


def start(tmp_path, address="127.0.0.1", name="cam", **kwargs):
    """A simulator on an ephemeral port of a loopback address; its state file sits in tmp_path."""
    state = tmp_path / f"{name}-{address}.json"
    kwargs.setdefault("password", ADMIN_PASSWORD)
    kwargs.setdefault("user", ADMIN)
    server = camera.serve(address, 0, str(state), **kwargs)
    server.state_path = state
    return server


def state_of(server):
    return json.loads(Path(server.state_path).read_text(encoding="utf-8"))


def onvif_service(server, user=ADMIN, password=ADMIN_PASSWORD, digest=True):
    """A sync zeep proxy of the Device service, authenticated with a UsernameToken."""
    from zeep import Client
    from zeep.wsse.username import UsernameToken

    wsdl = os.path.join(camera.wsdl_dir(), "devicemgmt.wsdl")
    wsse = UsernameToken(user, password, use_digest=digest) if user else None
    client = Client(wsdl, wsse=wsse)
    return client.create_service(DEVICE_BINDING, f"http://{server.host}:{server.port}/onvif/device_service")


def isapi(server, method, path, user=ADMIN, password=ADMIN_PASSWORD, body=None):
    import requests
    from requests.auth import HTTPDigestAuth

    return requests.request(
        method, f"http://{server.host}:{server.port}{path}", data=body, auth=HTTPDigestAuth(user, password), timeout=10
    )


def free_port(address="127.0.0.1"):
    """A port nothing listens on (bound, then released)."""
    with socket.socket() as sock:
        sock.bind((address, 0))
        return sock.getsockname()[1]
