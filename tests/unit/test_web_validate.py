"""playbooks/validate.yml on the web servers and the firewall's blocklist: the lab's data passes,
and each kind of bad value is refused before any change, naming the host, the variable and the
problem. Like tests/unit/test_validate.py, it runs on a copy of the lab inventory and connects to
no host."""

import pytest
from test_validate import lab_copy, run_playbook, set_host_vars  # noqa: F401 - lab_copy is a fixture

BAD = [
    ("allowlist-host-bits", "app01", {"fail2ban_allowlist": ["10.231.0.5/24"]}, ["fail2ban_allowlist[0]", "host bits"]),
    ("allowlist-too-wide", "app01", {"fail2ban_allowlist": ["0.0.0.0/0"]}, ["fail2ban_allowlist[0]", "wider than /8"]),
    ("allowlist-not-a-network", "app01", {"fail2ban_allowlist": ["mail01"]}, ["fail2ban_allowlist[0]", "CIDR"]),
    ("bantime-forever", "app01", {"fail2ban_bantime": -1}, ["fail2ban_bantime"]),
    ("share-with-unknown-firewall", "app01", {"fail2ban_share_firewalls": ["fw99"]}, ["fail2ban_share_firewalls"]),
    (
        "site-name-served-twice",
        "app01",
        {"web_server_sites": [{"name": "a", "server_names": ["x.lab"]}, {"name": "b", "server_names": ["x.lab"]}]},
        ["web_server_sites[1] (b)", "already served"],
    ),
    (
        "section-without-slash",
        "app01",
        {
            "web_server_sites": [
                {"name": "a", "server_names": ["x.lab"], "sections": [{"path": "/en", "language": "x"}]}
            ]
        },
        ["sections[0]", "sub-path"],
    ),
    (
        "listen-on-a-network",
        "app01",
        {"web_server_listen_addresses": ["10.231.0.0/24"]},
        ["web_server_listen_addresses", "single addresses"],
    ),
    ("listen-not-an-address", "app01", {"web_server_listen_addresses": ["app01"]}, ["web_server_listen_addresses[0]"]),
    ("hsts-too-short", "app01", {"web_server_hsts_max_age": 3600}, ["web_server_hsts_max_age"]),
    ("acme-without-email", "app01", {"web_server_tls_source": "acme"}, ["web_server_acme_email"]),
    (
        "firewall-allowlist-host-bits",
        "fw01",
        {"firewall_blocklist_allowlist": ["10.231.8.1/24"]},
        ["firewall_blocklist_allowlist[0]", "host bits"],
    ),
    ("firewall-blocklist-user-root", "fw01", {"firewall_blocklist_user": "root"}, ["firewall_blocklist_user"]),
]


@pytest.mark.parametrize(("case", "host", "values", "expected"), BAD, ids=[row[0] for row in BAD])
def test_bad_web_and_blocklist_data_is_refused(lab_copy, case, host, values, expected):  # noqa: F811
    set_host_vars(lab_copy, host, values)
    res = run_playbook("validate.yml", lab_copy, "--limit", host)
    out = res.stdout + res.stderr
    assert res.returncode != 0, f"{case}: validation accepted {values}:\n{out[-3000:]}"
    for text in [host, *expected]:
        assert text in out, f"{case}: {text!r} not in the failure:\n{out[-3000:]}"


def test_the_lab_web_server_and_firewall_pass(lab_copy):  # noqa: F811
    res = run_playbook("validate.yml", lab_copy, "--limit", "app01,fw01")
    assert res.returncode == 0, (res.stdout + res.stderr)[-3000:]
