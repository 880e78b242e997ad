#!/usr/bin/env python3
"""SNMP agent simulator for the X-ray scanners' operator PCs (lab and tests only).

A real SNMP agent built on pysnmp's agent side (SNMP engine, USM/VACM, command responders), so a
client speaks the real wire protocol to it: SNMPv2c with one read community, and SNMPv3 with one
USM user (HMAC-SHA authentication, AES-128 privacy). It answers GET, GETNEXT and GETBULK for:

* SNMPv2-MIB system group: sysDescr, sysObjectID, sysUpTime, sysContact, sysName, sysLocation;
* HOST-RESOURCES-MIB: hrSystemUptime and the hrStorageTable (index, type, descr, allocation units,
  size, used), which is what a Windows SNMP service or net-snmp reports for disk C: and memory.

The values come from a JSON state file that is read again on every request, so a test can change
the state while the agent runs. Example state:

    {"sysDescr": "Hardware: Intel64 ... Windows Version 10.0", "sysObjectID": "1.3.6.1.4.1.311.1.1.3.1.1",
     "sysContact": "bim@belediye.local", "sysName": "xray-giris-01", "sysLocation": "Ana giris",
     "uptime_seconds": 86400,
     "storage": [{"index": 1, "type": "fixedDisk", "descr": "C:\\\\", "allocation_units": 4096,
                  "size": 1000000, "used": 420000}]}

Without "uptime_seconds" the uptime counts from the agent's start. The agent is read-only: SET is
not registered, and there is nothing behind it that could change an X-ray scanner.

Command line:
    snmp_agent.py --state state.json --host 127.0.3.11 --port 1161 --community belediyeRO \\
        --v3-user xraymon --auth-key ... --priv-key ...

In-process (pytest): ``agent = serve(state_path, host="127.0.0.1", port=0, ...)``; ``agent.port`` is
the bound port; ``agent.shutdown()`` stops it.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import signal
import socket
import threading
import time
from pathlib import Path

from pysnmp.carrier.asyncio.dgram import udp
from pysnmp.entity import config, engine
from pysnmp.entity.rfc3413 import cmdrsp, context
from pysnmp.proto import rfc1902, rfc1905
from pysnmp.smi import instrum

SYSTEM = (1, 3, 6, 1, 2, 1, 1)
HR_SYSTEM_UPTIME = (1, 3, 6, 1, 2, 1, 25, 1, 1, 0)
HR_STORAGE_ENTRY = (1, 3, 6, 1, 2, 1, 25, 2, 3, 1)
HR_STORAGE_TYPES = {
    "other": (1, 3, 6, 1, 2, 1, 25, 2, 1, 1),
    "ram": (1, 3, 6, 1, 2, 1, 25, 2, 1, 2),
    "virtualMemory": (1, 3, 6, 1, 2, 1, 25, 2, 1, 3),
    "fixedDisk": (1, 3, 6, 1, 2, 1, 25, 2, 1, 4),
    "removableDisk": (1, 3, 6, 1, 2, 1, 25, 2, 1, 5),
}
READ_VIEW = (1, 3, 6, 1, 2, 1)


def oid_tuple(text):
    return tuple(int(part) for part in str(text).strip(".").split("."))


def text(value) -> rfc1902.OctetString:
    """An SNMP string: the state's text as UTF-8 bytes (pyasn1 would encode a str as Latin-1 only)."""
    return rfc1902.OctetString(str(value).encode("utf-8"))


def build_table(state, started):
    """The agent's whole MIB as {oid tuple: pysnmp value}, from the JSON state."""
    uptime = state.get("uptime_seconds")
    if uptime is None:
        uptime = time.monotonic() - started
    ticks = rfc1902.TimeTicks(int(float(uptime) * 100) % (2**32))
    table = {
        SYSTEM + (1, 0): text(state.get("sysDescr", "")),
        SYSTEM + (2, 0): rfc1902.ObjectIdentifier(oid_tuple(state.get("sysObjectID", "1.3.6.1.4.1.8072.3.2.10"))),
        SYSTEM + (3, 0): ticks,
        SYSTEM + (4, 0): text(state.get("sysContact", "")),
        SYSTEM + (5, 0): text(state.get("sysName", "")),
        SYSTEM + (6, 0): text(state.get("sysLocation", "")),
        HR_SYSTEM_UPTIME: ticks,
    }
    for row in state.get("storage", []):
        index = int(row["index"])
        kind = HR_STORAGE_TYPES.get(row.get("type", "other"), HR_STORAGE_TYPES["other"])
        table[HR_STORAGE_ENTRY + (1, index)] = rfc1902.Integer32(index)
        table[HR_STORAGE_ENTRY + (2, index)] = rfc1902.ObjectIdentifier(kind)
        table[HR_STORAGE_ENTRY + (3, index)] = text(row.get("descr", ""))
        table[HR_STORAGE_ENTRY + (4, index)] = rfc1902.Integer32(int(row.get("allocation_units", 4096)))
        table[HR_STORAGE_ENTRY + (5, index)] = rfc1902.Integer32(int(row.get("size", 0)))
        table[HR_STORAGE_ENTRY + (6, index)] = rfc1902.Integer32(int(row.get("used", 0)))
    return table


class StateMib(instrum.AbstractMibInstrumController):
    """A MIB instrumentation that answers from the JSON state instead of pysnmp's own MIB objects."""

    def __init__(self, state_path, started):
        self.state_path = Path(state_path)
        self.started = started

    def _table(self):
        state = json.loads(self.state_path.read_text(encoding="utf-8"))
        return build_table(state, self.started)

    @staticmethod
    def _allowed(name, value, idx, ctx):
        """VACM check through the command responder's access function; False when not in view."""
        check = ctx.get("acFun")
        if check is None:
            return True
        return check("read", (name, value), **dict(ctx, idx=idx)) is not True

    def read_variables(self, *var_binds, **ctx):
        table = self._table()
        answer = []
        for idx, (name, _) in enumerate(var_binds):
            key = tuple(name)
            value = table.get(key)
            if value is None or not self._allowed(name, value, idx, ctx):
                answer.append((rfc1902.ObjectName(key), rfc1905.noSuchInstance))
            else:
                answer.append((rfc1902.ObjectName(key), value))
        return answer

    def read_next_variables(self, *var_binds, **ctx):
        table = self._table()
        ordered = sorted(table)
        answer = []
        for idx, (name, _) in enumerate(var_binds):
            start = tuple(name)
            found = None
            for key in ordered:
                if key > start and self._allowed(rfc1902.ObjectName(key), table[key], idx, ctx):
                    found = key
                    break
            if found is None:
                answer.append((rfc1902.ObjectName(start), rfc1905.endOfMibView))
            else:
                answer.append((rfc1902.ObjectName(found), table[found]))
        return answer


class SnmpAgent:
    """One simulated agent running in its own thread and asyncio loop."""

    def __init__(
        self, state_path, host="127.0.0.1", port=0, community="public", v3_user=None, auth_key=None, priv_key=None
    ):
        if not host.startswith("127."):
            raise ValueError(f"the simulator binds loopback addresses only, not {host}")
        self.state_path = state_path
        self.host = host
        self.community = community
        self.v3_user = v3_user
        self.auth_key = auth_key
        self.priv_key = priv_key
        self._sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self._sock.bind((host, port))
        self.port = self._sock.getsockname()[1]
        self._loop = None
        self._engine = None
        self._ready = threading.Event()
        self._error = None
        self._thread = threading.Thread(target=self._run, name=f"snmp-agent-{host}:{self.port}", daemon=True)

    def _configure(self):
        snmp_engine = engine.SnmpEngine()
        transport = udp.UdpAsyncioTransport(loop=self._loop).open_server_mode(sock=self._sock)
        config.add_transport(snmp_engine, udp.DOMAIN_NAME, transport)
        if self.community:
            config.add_v1_system(snmp_engine, "ro-area", self.community)
            config.add_vacm_user(snmp_engine, 2, "ro-area", "noAuthNoPriv", READ_VIEW)
        if self.v3_user:
            config.add_v3_user(
                snmp_engine,
                self.v3_user,
                config.USM_AUTH_HMAC96_SHA,
                self.auth_key,
                config.USM_PRIV_CFB128_AES,
                self.priv_key,
            )
            config.add_vacm_user(snmp_engine, 3, self.v3_user, "authPriv", READ_VIEW)
        snmp_context = context.SnmpContext(snmp_engine)
        snmp_context.context_names[b""] = StateMib(self.state_path, time.monotonic())
        cmdrsp.GetCommandResponder(snmp_engine, snmp_context)
        cmdrsp.NextCommandResponder(snmp_engine, snmp_context)
        cmdrsp.BulkCommandResponder(snmp_engine, snmp_context)
        snmp_engine.transport_dispatcher.job_started(1)
        return snmp_engine

    def _run(self):
        self._loop = asyncio.new_event_loop()
        asyncio.set_event_loop(self._loop)
        try:
            self._engine = self._configure()
        except Exception as exc:  # reported to the starting thread
            self._error = exc
            self._ready.set()
            return
        self._loop.call_soon(self._ready.set)
        try:
            self._loop.run_forever()
        finally:
            self._engine.transport_dispatcher.close_dispatcher()
            self._loop.run_until_complete(asyncio.sleep(0))
            self._loop.close()

    def start(self):
        self._thread.start()
        if not self._ready.wait(10) or self._error:
            raise RuntimeError(f"SNMP agent on {self.host}:{self.port} did not start: {self._error}")
        return self

    def shutdown(self):
        if self._loop is not None and self._thread.is_alive():
            self._loop.call_soon_threadsafe(self._loop.stop)
            self._thread.join(10)
        self._sock.close()


def serve(state_path, host="127.0.0.1", port=0, community="public", v3_user=None, auth_key=None, priv_key=None):
    """Start an agent in a background thread and return it (``.port``, ``.shutdown()``)."""
    return SnmpAgent(state_path, host, port, community, v3_user, auth_key, priv_key).start()


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--state", required=True, help="JSON state file")
    parser.add_argument("--host", default="127.0.0.1", help="loopback address to bind")
    parser.add_argument("--port", type=int, default=1161)
    parser.add_argument("--community", default="public", help="SNMPv2c read community ('' disables v2c)")
    parser.add_argument("--v3-user", help="SNMPv3 USM user (SHA/AES)")
    parser.add_argument("--auth-key", help="SNMPv3 authentication passphrase (at least 8 characters)")
    parser.add_argument("--priv-key", help="SNMPv3 privacy passphrase (at least 8 characters)")
    args = parser.parse_args()
    agent = serve(args.state, args.host, args.port, args.community, args.v3_user, args.auth_key, args.priv_key)
    print(f"SNMP agent simulator on udp:{agent.host}:{agent.port}", flush=True)
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    signal.signal(signal.SIGINT, lambda *_: stop.set())
    stop.wait()
    agent.shutdown()


if __name__ == "__main__":
    main()
