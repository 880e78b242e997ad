"""Behaviour of the nftables gateway on a converged Debian 12 host.

prepare.yml built two segments inside the instance: namespace `inside` (10.231.251.2, zone
icerisi) and namespace `outside` (10.231.252.2, zone dis) with listeners on 8080 and 8081. The
policy (molecule.yml) lets the inside reach 8080 on the outside listener, logged and translated
to the gateway's outside address; everything else between them is dropped and logged at a
limited rate. Every test sends real packets through the gateway.
"""

from __future__ import annotations

import re
import time
import uuid

import pytest

LISTENER = "10.231.252.2"
GATEWAY_OUTSIDE = "10.231.252.1"
INSIDE = "10.231.251.2"
RULESET = "/etc/nftables.d/belediye.nft"


@pytest.fixture(scope="module")
def root(host):
    """The instance, with commands run as root."""
    with host.sudo():
        yield host


def in_namespace(root, name: str, command: str):
    """Run a shell command in the network namespace of segment `name` (inside or outside)."""
    pid = root.check_output(f"systemctl show -p MainPID --value mol-fw-{name}")
    assert pid not in ("", "0"), f"the namespace of segment {name} (unit mol-fw-{name}) is gone"
    quoted = command.replace("'", "'\\''")
    return root.run(f"nsenter -t {pid} -U -n --preserve-credentials sh -c '{quoted}'")


def journal_since(root, since: str) -> str:
    return root.check_output(f"journalctl --no-pager -o cat --since '{since}'")


def now(root) -> str:
    return root.check_output("date '+%Y-%m-%d %H:%M:%S'")


def wait_for(check, timeout: float = 15.0):
    deadline = time.monotonic() + timeout
    while True:
        result = check()
        if result or time.monotonic() > deadline:
            return result
        time.sleep(0.5)


def test_the_ruleset_is_loaded_and_loads_at_boot(root):
    assert root.run("nft list table inet belediye").rc == 0
    assert root.run("nft list table ip belediye_nat").rc == 0
    assert root.service("nftables").is_enabled
    assert root.service("ulogd2").is_running
    assert root.file("/proc/sys/net/ipv4/ip_forward").content_string.strip() == "1"
    assert "net.ipv4.ip_forward = 1" in root.file("/etc/sysctl.d/60-belediye-firewall.conf").content_string


def test_the_inside_reaches_8080_and_the_listener_sees_the_gateway(root):
    token = uuid.uuid4().hex
    res = in_namespace(
        root, "inside", f"curl -sf -m 10 -o /dev/null -w '%{{http_code}}' http://{LISTENER}:8080/?{token}"
    )
    assert res.rc == 0, res.stderr

    # python3 -m http.server logs "<client address> - - [date] "GET /?<token> HTTP/1.1" 200 -" to its unit's journal.
    def request_line():
        log = root.check_output("journalctl --no-pager -o cat -u mol-fw-listen-8080")
        return [line for line in log.splitlines() if token in line]

    lines = wait_for(request_line)
    assert lines, "the listener did not log the request"
    assert lines[0].split()[0] == GATEWAY_OUTSIDE, f"source NAT missing: {lines[0]}"
    assert INSIDE not in lines[0]


def test_8081_is_dropped_not_refused(root):
    res = in_namespace(root, "inside", f"curl -s -m 4 -o /dev/null http://{LISTENER}:8081/")
    # 28: the time-out of curl (the SYN was dropped); 7 would be a refused connection (a reset).
    assert res.rc == 28, f"curl ended with {res.rc}: {res.stderr}"
    # The listener is up: from its own namespace it answers.
    assert in_namespace(root, "outside", f"curl -sf -m 4 -o /dev/null http://{LISTENER}:8081/").rc == 0


def test_the_outside_cannot_open_connections_to_the_inside(root):
    res = in_namespace(root, "outside", f"curl -s -m 3 -o /dev/null http://{INSIDE}:22/")
    assert res.rc == 28, f"curl ended with {res.rc}: {res.stderr}"


def test_a_logged_connection_is_counted_and_reaches_syslog(root):
    since = now(root)
    before = _counter(root, "icerisi-web")
    assert in_namespace(root, "inside", f"curl -sf -m 10 -o /dev/null http://{LISTENER}:8080/").rc == 0
    assert _counter(root, "icerisi-web") > before
    # ulogd2 writes the NFLOG packet to syslog: prefix, interfaces and addresses of the first packet.
    pattern = re.compile(rf"fw icerisi-web .*IN=fw-ic OUT=fw-dis .*SRC={INSIDE} DST={LISTENER} .*DPT=8080")
    lines = wait_for(lambda: [ln for ln in journal_since(root, since).splitlines() if pattern.search(ln)])
    assert lines, "no ulogd2 line for the logged connection"
    # only the first packet of the connection is logged (ct state new)
    assert len(lines) == 1, lines


def test_an_unmatched_drop_is_logged(root):
    since = now(root)
    in_namespace(root, "inside", f"curl -s -m 2 -o /dev/null http://{LISTENER}:8081/")
    pattern = re.compile(rf"fw drop forward .*SRC={INSIDE} DST={LISTENER} .*DPT=8081")
    lines = wait_for(lambda: [ln for ln in journal_since(root, since).splitlines() if pattern.search(ln)])
    assert lines, "no ulogd2 line for the dropped connection"


def test_a_broken_ruleset_is_refused_and_the_loaded_one_stays(root):
    before = _ruleset(root)
    good = root.file(RULESET).content_string
    broken = good.replace("policy drop;", "policy dorp;", 1)
    assert broken != good
    put = root.run(f"printf '%s' '{_sh_quote(broken)}' > /tmp/mol-broken.nft")
    assert put.rc == 0, put.stderr
    # The check the role's template task runs (validate: nft -c -f %s) refuses it ...
    assert root.run("nft -c -f /tmp/mol-broken.nft").rc != 0
    # ... and even a real load of it changes nothing: nft -f is one transaction.
    assert root.run("nft -f /tmp/mol-broken.nft").rc != 0
    assert _ruleset(root) == before
    root.run("rm -f /tmp/mol-broken.nft")


def _sh_quote(text: str) -> str:
    return text.replace("'", "'\\''")


def _ruleset(root) -> str:
    return re.sub(r"packets \d+ bytes \d+", "", root.check_output("nft list ruleset"))


def _counter(root, rule: str) -> int:
    table = root.check_output("nft list table inet belediye")
    for line in table.splitlines():
        if f'comment "{rule}"' in line:
            return int(re.search(r"counter packets (\d+)", line).group(1))
    raise AssertionError(f"rule {rule} not in the loaded table")
