"""Table-driven tests of the cups_queues module's parsers and plan (no CUPS, no Ansible run)."""

import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "plugins" / "modules"))

import cups_queues  # noqa: E402

DRIVER = "drv:///sample.drv/generpcl.ppd"


def test_parse_devices_reads_every_queue():
    text = "device for merkez-2-kat: ipp://10.10.20.250/ipp/print\ndevice for elle: socket://10.0.0.9:9100\n"
    assert cups_queues.parse_devices(text) == {
        "merkez-2-kat": "ipp://10.10.20.250/ipp/print",
        "elle": "socket://10.0.0.9:9100",
    }


@pytest.mark.parametrize(
    ("text", "name"),
    [("system default destination: merkez-2-kat\n", "merkez-2-kat"), ("no system default destination\n", "")],
    ids=["set", "none"],
)
def test_parse_default(text, name):
    assert cups_queues.parse_default(text) == name


def test_parse_options_unquotes_values():
    text = (
        "copies=1 device-uri=ipp://h/q printer-info='2. kat ortak yazıcı' printer-location='Ana bina'"
        " printer-is-shared=false"
    )
    options = cups_queues.parse_options(text)
    assert options["printer-info"] == "2. kat ortak yazıcı"
    assert options["printer-location"] == "Ana bina"


WANT = {
    "name": "kat2",
    "uri": "ipp://10.10.20.250/ipp/print",
    "description": "2. kat",
    "location": "Ana bina",
    "driver": None,
    "default": True,
}
HAVE = {"kat2": {"uri": "ipp://10.10.20.250/ipp/print", "description": "2. kat", "location": "Ana bina"}}
MINE = {"kat2": {"driver": DRIVER}}

PLANS = [
    ("missing queue is created and made default", {}, {}, [WANT], True, "", (["kat2"], {}, [], "kat2")),
    ("same queue, same default: nothing", HAVE, MINE, [WANT], True, "kat2", ([], {}, [], None)),
    (
        "new uri is an update",
        HAVE,
        MINE,
        [{**WANT, "uri": "ipp://10.10.20.251/ipp/print"}],
        True,
        "kat2",
        ([], {"kat2": ["uri"]}, [], None),
    ),
    (
        "a hand-made queue of the same name gets our driver",
        HAVE,
        {},
        [WANT],
        True,
        "kat2",
        ([], {"kat2": ["driver"]}, [], None),
    ),
    (
        "our old queue is purged",
        {**HAVE, "eski": {"uri": "ipp://h/e", "description": "", "location": ""}},
        {**MINE, "eski": {"driver": DRIVER}},
        [WANT],
        True,
        "kat2",
        ([], {}, ["eski"], None),
    ),
    (
        "a queue made by hand is never purged",
        {**HAVE, "elle": {"uri": "ipp://h/e", "description": "", "location": ""}},
        MINE,
        [WANT],
        True,
        "kat2",
        ([], {}, [], None),
    ),
    (
        "without purge our old queue stays",
        {**HAVE, "eski": {"uri": "ipp://h/e", "description": "", "location": ""}},
        {**MINE, "eski": {"driver": DRIVER}},
        [WANT],
        False,
        "kat2",
        ([], {}, [], None),
    ),
]


@pytest.mark.parametrize(
    ("current", "remembered", "wanted", "purge", "default", "expected"),
    [c[1:] for c in PLANS],
    ids=[c[0] for c in PLANS],
)
def test_plan(current, remembered, wanted, purge, default, expected):
    todo = cups_queues.plan(current, remembered, wanted, DRIVER, purge, default)
    assert (todo["create"], todo["update"], todo["remove"], todo["default"]) == expected


def test_plan_diff_shows_queues_before_and_after():
    todo = cups_queues.plan({}, {}, [WANT], DRIVER, True, "")
    assert todo["diff"]["before"] == {"queues": {}, "default": ""}
    assert todo["diff"]["after"]["queues"]["kat2"]["uri"] == WANT["uri"]
    assert todo["diff"]["after"]["default"] == "kat2"
