"""The pure parts of bench/devices_nochange.py: the generated fleet inventory, the check that the
bench's loopback addresses are free, the per-setup results and the Markdown section with its verdict."""

import ipaddress
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "bench"))
import devices_nochange as bench  # noqa: E402
from benchlib import Run  # noqa: E402

LAB_NETWORKS = [ipaddress.ip_network(n) for n in ("127.0.0.0/24", "127.0.1.0/24", "127.0.2.0/24", "127.0.3.0/24",
                                                  "127.0.4.0/24", "127.0.5.0/24")]  # fmt: skip


# --- the inventory -----------------------------------------------------------------------------------


def test_the_fleet_has_the_asked_number_of_cameras_and_terminals():
    hosts = bench.fleet_hosts(50, 20)
    assert len(hosts["cameras"]) == 50
    assert len(hosts["pdks_terminals"]) == 20
    assert next(iter(hosts["cameras"])) == "kamera-bench-01"
    assert list(hosts["pdks_terminals"])[-1] == "pdks-bench-20"


def test_every_device_has_its_own_loopback_address_outside_the_lab_and_test_networks():
    hosts = bench.fleet_hosts(bench.MAX_PER_GROUP, bench.MAX_PER_GROUP)
    addresses = [ipaddress.ip_address(v["ansible_host"]) for group in hosts.values() for v in group.values()]
    assert len(set(addresses)) == len(addresses)
    assert all(a.is_loopback for a in addresses)
    assert not [a for a in addresses if any(a in net for net in LAB_NETWORKS)]
    assert str(addresses[0]) == "127.0.62.11"


def test_cameras_follow_the_production_mix_and_every_one_has_a_firmware_policy():
    cameras = bench.fleet_hosts(50, 0)["cameras"]
    vendors = [v["camera_vendor"] for v in cameras.values()]
    assert vendors.count("hikvision") == 30
    assert vendors.count("axis") == 10
    assert vendors.count("dahua") == 10
    assert all(v["camera_firmware_policy"] in ("pinned", "minimum") and v["camera_firmware_version"]
               for v in cameras.values())  # fmt: skip


@pytest.mark.parametrize(
    ("cameras", "terminals"),
    [
        pytest.param(-1, 20, id="negative cameras"),
        pytest.param(50, bench.MAX_PER_GROUP + 1, id="more terminals than the /24 holds"),
        pytest.param(0, 0, id="no device at all"),
    ],
)
def test_a_fleet_size_the_networks_cannot_hold_is_refused(cameras, terminals):
    with pytest.raises(ValueError, match="between|at least one"):
        bench.fleet_hosts(cameras, terminals)


def test_the_inventory_puts_both_groups_under_devices_and_leaves_out_an_empty_one():
    groups = bench.inventory(2, 0)["all"]["children"]["devices"]["children"]
    assert list(groups) == ["cameras"]
    assert list(groups["cameras"]["hosts"]) == ["kamera-bench-01", "kamera-bench-02"]


def test_the_written_inventory_links_the_lab_group_vars(tmp_path):
    hosts = bench.write_inventory(tmp_path / "inv", 3, 2)
    assert hosts == {"kamera-bench-01", "kamera-bench-02", "kamera-bench-03", "pdks-bench-01", "pdks-bench-02"}
    links = {p.name: p.resolve() for p in (tmp_path / "inv" / "group_vars").iterdir()}
    assert set(links) == set(bench.LAB_GROUP_VARS)
    assert all(target.exists() for target in links.values())
    assert (tmp_path / "inv" / "hosts.yml").is_file()


# --- the addresses are free --------------------------------------------------------------------------

PROC_NET_TCP = """\
  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode
   0: 0B02007F:1F90 00000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 1 1
   1: 0B01007F:1112 00000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 2 1
   2: 0B3E007F:1F90 00000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 3 1
   3: 0C48007F:1112 0100007F:9C40 01 00000000:00000000 00:00000000 00000000     0        0 4 1
   4: 00000000:07E8 00000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 5 1
"""


def test_listeners_are_read_from_proc_net_tcp_and_connections_left_out():
    assert bench.tcp_listeners(PROC_NET_TCP) == [
        ("127.0.2.11", 8080),
        ("127.0.1.11", 4370),
        ("127.0.62.11", 8080),
        ("0.0.0.0", 2024),  # noqa: S104 - a listener in the sample, not a bind
    ]


def test_only_listeners_on_the_bench_networks_make_the_addresses_busy():
    assert bench.busy(bench.tcp_listeners(PROC_NET_TCP)) == ["127.0.62.11:8080"]
    assert bench.busy([("127.0.2.11", 8080), ("127.0.72.200", 4370)]) == ["127.0.72.200:4370"]


# --- results, verdict and Markdown -------------------------------------------------------------------


def test_the_machine_busy_time_leaves_out_idle_iowait_and_steal():
    proc_stat = "cpu  1000 10 300 5000 70 0 40 800 0 0\ncpu0 500 5 150 2500 35 0 20 400 0 0\n"
    assert bench.machine_busy_cpu(proc_stat, ticks_per_s=100) == pytest.approx(13.5)


def measures(*walls, cpu=100.0, simulators=1.0, others=0.0):
    return [bench.Measure(Run(wall=w, cpu=cpu, hosts={}), simulators, others) for w in walls]


def test_a_setup_reports_its_median_and_the_cost_per_device():
    result = bench.setup_result("B", 25, measures(70.0, 63.0, 65.0, cpu=119.0, simulators=1.1), 70, 2)
    assert result["median_s"] == 65.0
    assert result["runs_s"] == [70.0, 63.0, 65.0]
    assert result["s_per_device"] == pytest.approx(0.929)
    assert result["controller_cpu_s_per_device"] == pytest.approx(1.7)
    assert result["simulator_cpu_s_per_device"] == pytest.approx(0.0157)
    assert result["label"] == "our `ansible.cfg`"


def test_the_other_processes_share_is_their_cpu_time_over_the_cores_and_the_runs():
    result = bench.setup_result("A", 5, measures(50.0, 50.0, others=25.0), 70, 2)
    assert result["others_cpu_share"] == pytest.approx(0.25)


@pytest.mark.parametrize(
    ("per_device", "meets", "words"),
    [
        pytest.param(0.25, True, "meets the 0.3 s per device target: 0.25 s", id="under the target"),
        pytest.param(0.3, True, "meets the 0.3 s", id="on the target"),
        pytest.param(0.93, False, "misses the 0.3 s per device target: 0.93 s per device with B", id="over it"),
    ],
)
def test_the_verdict_takes_the_faster_setup_against_the_target(per_device, meets, words):
    results = [
        {"setup": "A", "label": "stock", "forks": 5, "s_per_device": per_device + 0.2},
        {"setup": "B", "label": "ours", "forks": 25, "s_per_device": per_device},
    ]
    got = bench.verdict(results)
    assert got["meets"] is meets
    assert got["setup"] == "B"
    assert words in got["text"]


def report():
    setups = [
        bench.setup_result("A", 5, measures(80.0, 79.0, 81.0, cpu=120.0, others=12.0), 70, 2),
        bench.setup_result("B", 25, measures(66.0, 65.0, 64.0, cpu=118.0, others=26.0), 70, 2),
    ]
    return {
        "date": "2026-12-02", "cores": 2, "ansible_core": "2.21.5", "cameras": 50, "terminals": 20, "devices": 70,
        "repeat": 3, "converge_s": 71.3, "setups": setups,
        "ratio_a_to_b": 80.0 / 65.0, "verdict": bench.verdict(setups),
    }  # fmt: skip


def test_the_markdown_section_is_self_contained():
    text = bench.markdown(report())
    lines = text.splitlines()
    assert lines[0].startswith("## ")
    assert "50 cameras and 20 PDKS terminals" in lines[0]
    assert "2026-12-02, 2 cores, ansible-core 2.21.5" in text
    assert "70 simulated devices (50 IP cameras, 20 PDKS terminals)" in text
    assert "Median of 3 interleaved round(s)" in text


def test_the_markdown_table_has_one_row_per_setup_with_its_forks_cost_per_device_and_neighbours_share():
    rows = [line for line in bench.markdown(report()).splitlines() if line.startswith("| ")]
    assert rows[0].startswith("| setup | forks | median s |")
    assert rows[1] == "| A: Ansible's stock settings | 5 | 80.0 | 80.0, 79.0, 81.0 | 1.14 | 1.71 | 0.014 | 8% |"
    assert rows[2] == "| B: our `ansible.cfg` | 25 | 65.0 | 66.0, 65.0, 64.0 | 0.93 | 1.69 | 0.014 | 20% |"


def test_the_markdown_ends_with_a_one_line_verdict_and_gives_the_ratio():
    text = bench.markdown(report())
    verdicts = [line for line in text.splitlines() if line.startswith("**Verdict")]
    assert verdicts == [
        "**Verdict: misses the 0.3 s per device target: 0.93 s per device with B "
        "(our `ansible.cfg`, forks 25), 3.1x the target.**"
    ]
    assert "A / B: 1.23x" in text
