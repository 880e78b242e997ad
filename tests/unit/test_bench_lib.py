"""The pure parts of the lab benchmarks (bench/benchlib.py, bench/scale.py, bench/ansible_tuning.py):
Markdown tables, the SVG plot, the profile_tasks parser and the verdicts against the issue's targets."""

import sys
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "bench"))
import ansible_tuning  # noqa: E402
import benchlib  # noqa: E402
import scale  # noqa: E402

SVG = "{http://www.w3.org/2000/svg}"


def test_table_right_aligns_numbers_and_keeps_every_row():
    text = benchlib.table(["host", "s"], [["log01", 1.5], ["app01", 12]])
    lines = text.splitlines()
    assert lines[1] == "|---|---:|"
    assert lines[2:] == ["| log01 | 1.5 |", "| app01 | 12 |"]


def test_table_takes_an_explicit_alignment():
    assert benchlib.table(["a", "b"], [[1, 2]], "lr").splitlines()[1] == "|---|---:|"


@pytest.mark.parametrize(("value", "ceiling"), [(0.4, 1), (3, 5), (7.2, 10), (11, 20), (240, 250), (251, 500)])
def test_the_y_axis_ends_on_a_round_number_above_the_largest_value(value, ceiling):
    assert benchlib._nice_ceiling(value) == ceiling


def plot_points(svg: str) -> tuple[dict[int, list[tuple[float, ...]]], list[str], ET.Element]:
    root = ET.fromstring(svg)  # noqa: S314 - our own output, made by the line above the call
    lines = root.findall(f"{SVG}polyline")
    labels = [t.text for t in root.findall(f"{SVG}text")]
    points = {}
    for line in lines:
        pairs = [tuple(float(v) for v in p.split(",")) for p in line.get("points").split()]
        points[len(points)] = pairs
    return points, labels, root


def test_the_plot_draws_one_line_per_series_inside_the_canvas():
    series = {"tuned": [(1, 30.0), (5, 40.0), (20, 80.0)], "stock": [(1, 60.0), (5, 120.0), (20, 400.0)]}
    points, labels, root = plot_points(benchlib.svg_plot(series, "hosts", "seconds", "title"))
    width, height = float(root.get("width")), float(root.get("height"))
    assert len(points) == 2
    assert {"tuned", "stock", "hosts", "seconds", "title"} <= set(labels)
    for pairs in points.values():
        assert len(pairs) == 3
        assert all(0 <= x <= width and 0 <= y <= height for x, y in pairs)
    # SVG's y grows downwards: the slower setup is drawn above the faster one at every host count,
    # and more hosts are further right.
    tuned, stock = points[0], points[1]
    assert all(s[1] < t[1] for t, s in zip(tuned, stock, strict=True))
    assert [p[0] for p in tuned] == sorted(p[0] for p in tuned)


def test_the_plot_escapes_names():
    svg = benchlib.svg_plot({"a<b": [(1, 1.0)]}, "x & y", "s", "t")
    _, labels, _ = plot_points(svg)
    assert "a<b" in labels
    assert "x & y" in labels


PROFILE_OUTPUT = """\
PLAY RECAP *********************************************************************
scale01                    : ok=120  changed=0    unreachable=0    failed=0    skipped=40   rescued=0    ignored=0

TASKS RECAP ********************************************************************
Wednesday 02 December 2026  15:40:12 +0000 (0:00:00.512)       0:01:10.123 ****
===============================================================================
common : Packages are installed ------------------------------------------ 4.21s
Gathering Facts ---------------------------------------------------------- 3.02s
isms_baseline : AIDE's database is current ---------------------------- 12.50s
a task whose name is long enough to leave no room for the dashes at all 101.25s
"""


def test_profile_tasks_recap_is_read_slowest_first():
    # profile_tasks prints a recap after each playbook of the run; the last one covers them all
    found = scale.slowest_tasks("TASKS RECAP ***\nGathering Facts ---- 1.00s\n" + PROFILE_OUTPUT)
    assert found == [
        ("a task whose name is long enough to leave no room for the dashes at all", 101.25),
        ("isms_baseline : AIDE's database is current", 12.5),
        ("common : Packages are installed", 4.21),
        ("Gathering Facts", 3.02),
    ]
    assert scale.slowest_tasks(PROFILE_OUTPUT, limit=1)[0][1] == 101.25


def test_no_tasks_recap_gives_no_tasks():
    assert scale.slowest_tasks("PLAY RECAP ***\nhost : ok=1 changed=0\n") == []


def result(median: float, tasks: int = 100, hosts: int = 1) -> dict:
    return {"median_s": median, "runs_s": [median], "cpu_s": median / 2, "tasks": tasks, "hosts": hosts}


@pytest.mark.parametrize(("twenty", "verdict"), [(89.0, "meets"), (91.0, "misses")])
def test_scale_verdict_is_three_times_one_host(twenty, verdict):
    results = {1: {"tuned": result(30.0), "stock": result(60.0)}, 20: {"tuned": result(twenty), "stock": result(400.0)}}
    text = scale.markdown(results, [1, 20], [("common : x", 2.0)], 100.0, "scale.svg", 1)
    assert f"tuned {verdict} it" in text
    assert f"{twenty / 30:.2f}x the time of 1" in text
    assert "![no-change run time against host count](scale.svg)" in text
    assert "| 1 | common : x | 2.0 | 100% |" in text


@pytest.mark.parametrize(("stock", "verdict"), [(200.0, "meets"), (150.0, "misses")])
def test_tuning_verdict_is_twice_as_fast_on_the_lab(stock, verdict):
    results = {"app01": {"tuned": result(40.0), "stock": result(80.0)},
               "lab": {"tuned": result(100.0, hosts=9), "stock": result(stock, hosts=9)}}  # fmt: skip
    text = ansible_tuning.markdown(results, {"ANSIBLE_FORKS": "25"}, "app01", 1)
    assert f"{stock / 100:.2f}x on the whole lab" in text
    assert f"the lab run {verdict} it" in text
    assert "| `ANSIBLE_FORKS` | `5` | `25` |" in text
    assert "whole lab (9 hosts)" in text


def test_scale_table_has_stock_only_where_it_ran_and_the_hosts_cpu():
    results = {
        1: {"tuned": {**result(50.0), "hosts_cpu_s": 35.0}, "stock": {**result(100.0), "hosts_cpu_s": 40.0}},
        5: {"tuned": {**result(150.0), "hosts_cpu_s": 175.0}},
        20: {"tuned": {**result(600.0), "hosts_cpu_s": None}, "stock": result(1200.0)},
    }
    text = scale.markdown(results, [1, 5, 20], [], 10.0, None, 1)
    assert "| 5 | tuned | 150.0 | 30.0 | 75.0 | 35.0 |" in text
    assert "| 5 | stock" not in text
    assert "| 20 | tuned | 600.0 | 30.0 | 300.0 | ? |" in text
    assert "Stock / tuned: 2.00x at 1, 2.00x at 20." in text
    assert "12.00x the time of 1 (tuned)** and 12.00x (stock)" in text
    assert "tuned misses it" in text


def test_scale_says_when_the_hosts_were_converged_before():
    results = {1: {"tuned": result(50.0)}, 20: {"tuned": result(140.0)}}
    assert "(converged before)" in scale.markdown(results, [1, 20], [], None, None, 1)
    assert "(converged first in 1620s)" in scale.markdown(results, [1, 20], [], 1620.0, None, 1)
    assert "tuned meets it" in scale.markdown(results, [1, 20], [], None, None, 1)


def test_a_stage_writes_its_json_and_its_section_where_asked(tmp_path):
    out = tmp_path / "reports" / "bench"
    benchlib.write_outputs(out / "x.json", {"a": [1, 2]}, out / "x.md", "## X\n")
    assert (out / "x.md").read_text() == "## X\n"
    assert benchlib.json.loads((out / "x.json").read_text()) == {"a": [1, 2]}
    benchlib.write_outputs(None, {}, None, "")  # nothing asked, nothing written
    assert sorted(p.name for p in out.iterdir()) == ["x.json", "x.md"]
