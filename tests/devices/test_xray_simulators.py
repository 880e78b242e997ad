"""The lab simulators speak the real protocols: the SNMP agent driven by pysnmp's client and the
WS-Man fake driven by pywinrm, with right and wrong credentials."""

import asyncio
import json

import pytest
import winrm
from pysnmp.hlapi.v3arch import asyncio as hl
from winrm.exceptions import InvalidCredentialsError
from xray_fixtures import AUTH_KEY, COMMUNITY, PRIV_KEY, V3_USER, WS_PASSWORD, WS_USER, start_agent, start_fake

SYS_NAME = "1.3.6.1.2.1.1.5.0"
HR_STORAGE_USED_C = "1.3.6.1.2.1.25.2.3.1.6.1"


@pytest.fixture(scope="module")
def agent(tmp_path_factory):
    running = start_agent(tmp_path_factory.mktemp("snmp"))
    yield running
    running.shutdown()


@pytest.fixture
def fake(tmp_path):
    running = start_fake(tmp_path)
    yield running
    running.shutdown()


def snmp_get(port, auth, *oids):
    async def ask():
        engine = hl.SnmpEngine()
        try:
            target = await hl.UdpTransportTarget.create(("127.0.0.1", port), timeout=0.5, retries=0)
            objects = [hl.ObjectType(hl.ObjectIdentity(oid)) for oid in oids]
            indication, status, _, binds = await hl.get_cmd(engine, auth, target, hl.ContextData(), *objects)
            return str(indication) if indication else None, [v.prettyPrint() for _, v in binds]
        finally:
            engine.close_dispatcher()

    return asyncio.run(ask())


def v3(auth_key=AUTH_KEY, priv_key=PRIV_KEY):
    return hl.UsmUserData(
        V3_USER, auth_key, priv_key, authProtocol=hl.usmHMACSHAAuthProtocol, privProtocol=hl.usmAesCfb128Protocol
    )


SNMP_CASES = [
    ("v2c with the right community answers", hl.CommunityData(COMMUNITY), None),
    ("v2c with a wrong community times out", hl.CommunityData("wrong"), "No SNMP response"),
    ("v3 with the right keys answers", v3(), None),
    ("v3 with a wrong auth key is rejected", v3(auth_key="not-the-key-1"), "Wrong SNMP PDU digest"),
    ("v3 with a wrong priv key cannot be decrypted", v3(priv_key="not-the-key-1"), "ciphertext is broken"),
]


@pytest.mark.parametrize(("auth", "error"), [c[1:] for c in SNMP_CASES], ids=[c[0] for c in SNMP_CASES])
def test_snmp_agent_with_pysnmp_client(agent, auth, error):
    indication, values = snmp_get(agent.port, auth, SYS_NAME, HR_STORAGE_USED_C)
    if error is None:
        assert indication is None
        assert values == ["xray-giris-01", "420000"]
    else:
        assert error in indication


def test_snmp_agent_rereads_its_state(agent):
    state = json.loads(agent.state_path.read_text())
    state["sysName"] = "renamed"
    agent.state_path.write_text(json.dumps(state))
    try:
        assert snmp_get(agent.port, hl.CommunityData(COMMUNITY), SYS_NAME) == (None, ["renamed"])
    finally:
        state["sysName"] = "xray-giris-01"
        agent.state_path.write_text(json.dumps(state))


def test_snmp_agent_answers_no_such_instance(agent):
    assert snmp_get(agent.port, hl.CommunityData(COMMUNITY), "1.3.6.1.2.1.1.9.0")[1] == [
        "No Such Instance currently exists at this OID"
    ]


def session(fake, password=WS_PASSWORD):
    return winrm.Session(f"http://127.0.0.1:{fake.port}/wsman", auth=(WS_USER, password), transport="basic")


def test_wsman_fake_run_ps_read_returns_json(fake):
    response = session(fake).run_ps("# belediye-xray:read\nGet-LocalUser")
    assert response.status_code == 0
    state = json.loads(response.std_out)
    assert state["usbstor_start"] == 3
    assert state["time"]["peers"] == ["time.windows.com"]
    assert fake.scripts == ["# belediye-xray:read\nGet-LocalUser"]


def test_wsman_fake_run_ps_apply_changes_the_state(fake):
    script = '# belediye-xray:apply\n$plan = @\'\n{"usbstor_start": 4, "accounts": []}\n\'@ | ConvertFrom-Json'
    assert session(fake).run_ps(script).status_code == 0
    assert json.loads(fake.state_path.read_text())["usbstor_start"] == 4


CMD_CASES = [
    ("w32tm query source", "w32tm", ["/query", "/source"], 0, b"time.windows.com\r\n"),
    ("hostname", "hostname", [], 0, b"XRAY-OP-01\r\n"),
    ("unknown command fails", "format", ["c:"], 1, b""),
]


@pytest.mark.parametrize(("cmd", "args", "rc", "out"), [c[1:] for c in CMD_CASES], ids=[c[0] for c in CMD_CASES])
def test_wsman_fake_run_cmd(fake, cmd, args, rc, out):
    response = session(fake).run_cmd(cmd, args)
    assert (response.status_code, response.std_out) == (rc, out)


def test_wsman_fake_rejects_a_wrong_password(fake):
    with pytest.raises(InvalidCredentialsError):
        session(fake, "wrong").run_ps("# belediye-xray:read")
    assert fake.rejected == 1
    assert fake.scripts == []
