#!/usr/bin/env python3
"""Benchmark: the load time of the NetBox dynamic inventory (netbox.netbox.nb_inventory), a naive
source file against the tuned one the project ships in inventories/netbox/, in one invocation.

The bench brings up its own NetBox on loopback (lab/netbox/netboxctl.py up --fresh; the state lives
in .lab/bench-netbox and the ports are 8091/5491/6491 unless NETBOX_STATE, NETBOX_PORT,
NETBOX_PG_PORT and NETBOX_REDIS_PORT say otherwise, so it never touches the tests' instance). It
generates the estate with pynetbox bulk creates, modelled on the seed tool's data model: sites,
tenants (directorates), device roles (functional groups), tags (other groups) and config contexts
per site; every device has an interface mgmt0 with a unique primary IPv4 in 10.128.0.0/16 (never
contacted) and a local config context of a few keys. It measures the seeded-estate size first
(--small, about 90 devices), then adds devices up to --devices and measures again. Generation time
is printed, not compared.

For each size, `ansible-inventory -i <file> --list` runs from the repository root (its ansible.cfg,
its vars plugins), with the token in NETBOX_TOKEN and the URL in NETBOX_API, for these setups:

    A  naive: interfaces, services and config context fetched, no filter, no cache
    B  tuned + jsonfile cache, cold: the cache emptied before the run
    B  tuned + jsonfile cache, warm: the same file right after, its cache filled by the cold run
    C  tuned, no cache: the options inventories/netbox/ ships (bench/README.md says why no cache)

Each setup runs once unmeasured first (NetBox's workers load lazily and the plugin keeps NetBox's
OpenAPI schema in the local temp dir, as it would on any control node after its first run), then
--repeat rounds of A, B cold, B warm, C. Mean and min wall time are reported with the HTTP requests
the plugin made (its -v "Fetching:" lines) and the size of the --list output. Every run's inventory is checked
against setup A's: the same hosts, the same ansible_host, the same config context values and the
same groups. A faster but different inventory stops the bench with exit 1. Speed is not asserted.

    .venv/bin/python bench/netbox_inventory.py [--devices 2000] [--small 90] [--repeat 3] [--keep]
                                               [--reuse] [--json reports/bench/netbox-inventory.json]

--keep leaves NetBox running; --reuse then measures the estate already in it (no --fresh, only the
missing devices are generated; a size below the current device count is skipped).
"""

from __future__ import annotations

import argparse
import ipaddress
import json
import os
import platform
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[1]
NETBOXCTL = ROOT / "lab" / "netbox" / "netboxctl.py"
ANSIBLE_INVENTORY = ROOT / ".venv" / "bin" / "ansible-inventory"
BENCH_ENV = {
    "NETBOX_STATE": str(ROOT / ".lab" / "bench-netbox"),
    "NETBOX_PORT": "8091",
    "NETBOX_PG_PORT": "5491",
    "NETBOX_REDIS_PORT": "6491",
}
BATCH = 250
MGMT_NET = ipaddress.ip_network("10.128.0.0/16")

SITES = ["hizmet-binasi", "zabita", "fen-isleri", "kultur-merkezi", "su-idaresi"]
TENANTS = ["bilgi-islem", "zabita", "fen-isleri", "mali-hizmetler", "insan-kaynaklari", "kultur"]
# role slug (the functional group) -> the tags (other groups) its hosts carry
ROLES = {
    "app_servers": ["linux", "servers"],
    "log_servers": ["linux", "servers", "log5651"],
    "pardus_desktops": ["linux", "desktops"],
    "cameras": ["devices", "cctv"],
    "pdks_terminals": ["devices"],
    "switches": ["network"],
}
DEVICE_TYPES = {"Hikvision": ["DS-2CD2143G2-I"], "ZKTeco": ["SpeedFace-V5L"], "Generic": ["Server 1U", "Desktop"]}

# C is the file the project ships; A and B are derived from it, so that all three build the same
# groups and host variables and differ only in what the bench compares.
SHIPPED = ROOT / "inventories" / "netbox" / "netbox.yml"
# What C sets to keep requests and answers small; A drops these and fetches interfaces and services,
# as the plugin's examples do.
TUNING = ("interfaces", "services", "prefixes", "site_data", "racks", "virtual_disks", "fetch_all",
          "device_query_filters")  # fmt: skip
MANAGED_TAG = "belediye-iac"  # tools/netbox_seed.py marks its devices so; C asks only for those


def source_files(cache_dir: Path) -> dict[str, str]:
    """The three source files: A naive, B = C plus the jsonfile cache, C = inventories/netbox/netbox.yml."""
    shipped = SHIPPED.read_text(encoding="utf-8")
    options = yaml.safe_load(shipped)
    naive = {k: v for k, v in options.items() if k not in TUNING}
    naive.update({"interfaces": True, "services": True})
    header = "# A: the shipped grouping with the plugin's defaults: everything fetched, nothing filtered.\n"
    return {
        "A": header + yaml.safe_dump(naive, sort_keys=False),
        "B": shipped + CACHE.format(cache=cache_dir),
        "C": shipped,
    }


# B adds the inventory cache to C's options; {cache} is the cache directory.
CACHE = """\
# Every NetBox answer is cached per URL for 5 minutes; --flush-cache forces a fresh read.
cache: true
cache_plugin: ansible.builtin.jsonfile
cache_connection: {cache}
cache_timeout: 300
"""


def log(msg: str) -> None:
    print(f"netbox_inventory: {msg}", flush=True)


def fail(msg: str) -> None:
    print(f"netbox_inventory: error: {msg}", file=sys.stderr, flush=True)
    sys.exit(1)


# --------------------------------------------------------------------------- NetBox


def netboxctl(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, str(NETBOXCTL), *args], capture_output=True, text=True, check=False)


def netbox_up(fresh: bool) -> tuple[str, str]:
    """Bring the bench's NetBox up and return (url, token)."""
    start = time.monotonic()
    up = netboxctl("up", "--fresh") if fresh else netboxctl("up")
    if up.returncode != 0:
        detail = (up.stderr.strip() or up.stdout.strip() or "no output").splitlines()[-1]
        fail(f"netboxctl up failed for NETBOX_STATE={os.environ['NETBOX_STATE']}: {detail}")
    env = netboxctl("env")
    values = dict(line.removeprefix("export ").split("=", 1) for line in env.stdout.splitlines() if "=" in line)
    if env.returncode != 0 or "NETBOX_API" not in values:
        fail(f"netboxctl env gave no API and token: {env.stderr.strip()}")
    log(f"NetBox up on {values['NETBOX_API']} in {time.monotonic() - start:.0f}s")
    return values["NETBOX_API"], values["NETBOX_TOKEN"]


def get_or_create(endpoint, rows: list[dict]) -> dict[str, int]:
    """slug -> id for rows (each with a slug), creating the ones that are missing in one request."""
    existing = {rec.slug: rec.id for rec in endpoint.all()}
    missing = [row for row in rows if row["slug"] not in existing]
    if missing:
        existing.update({rec.slug: rec.id for rec in endpoint.create(missing)})
    return existing


def ensure_catalogue(nb) -> dict:
    """Sites (each with a config context), tenants, roles, tags, manufacturers and device types."""
    sites = get_or_create(nb.dcim.sites, [{"name": s.replace("-", " ").title(), "slug": s} for s in SITES])
    tenants = get_or_create(nb.tenancy.tenants, [{"name": t.replace("-", " ").title(), "slug": t} for t in TENANTS])
    roles = get_or_create(nb.dcim.device_roles, [{"name": r, "slug": r, "color": "607d8b"} for r in ROLES])
    tag_slugs = sorted({MANAGED_TAG, *(tag for tags in ROLES.values() for tag in tags)})
    tags = get_or_create(nb.extras.tags, [{"name": t, "slug": t, "color": "9e9e9e"} for t in tag_slugs])
    makers = get_or_create(nb.dcim.manufacturers, [{"name": m, "slug": m.lower()} for m in DEVICE_TYPES])
    types = get_or_create(
        nb.dcim.device_types,
        [
            {"manufacturer": makers[m.lower()], "model": model, "slug": model.lower().replace(" ", "-")}
            for m, models in DEVICE_TYPES.items()
            for model in models
        ],
    )
    contexts = {rec.name for rec in nb.extras.config_contexts.all()}
    for slug, site_id in sites.items():
        if f"site {slug}" not in contexts:
            data = {"ntp_servers": ["10.231.0.1", "10.231.0.2"], "timezone": "Europe/Istanbul", "site_key": slug}
            nb.extras.config_contexts.create({"name": f"site {slug}", "weight": 1000, "sites": [site_id], "data": data})
    return {"sites": sites, "tenants": tenants, "roles": roles, "tags": tags, "types": list(types.values())}


def device_row(i: int, cat: dict) -> dict:
    role = list(ROLES)[i % len(ROLES)]
    site = SITES[i % len(SITES)]
    return {
        "name": f"bench-{role.split('_')[0]}-{i:05d}",
        "role": cat["roles"][role],
        "site": cat["sites"][site],
        "tenant": cat["tenants"][TENANTS[i % len(TENANTS)]],
        "device_type": cat["types"][i % len(cat["types"])],
        "status": "active",
        "tags": [cat["tags"][t] for t in (MANAGED_TAG, *ROLES[role])],
        "local_context_data": {
            "bench_index": i,
            "maintenance_window": f"Sun 0{i % 4 + 1}:00",
            "backup": {"enabled": i % 3 != 0, "target": "yedek01"},
            "contact": "bilgi-islem@ornek.bel.tr",
        },
    }


def generate(nb, cat: dict, upto: int) -> int:
    """Create devices until the estate holds `upto` of them; return how many were created."""
    have = nb.dcim.devices.count()
    for start in range(have, upto, BATCH):
        indices = range(start, min(start + BATCH, upto))
        devices = nb.dcim.devices.create([device_row(i, cat) for i in indices])
        interfaces = nb.dcim.interfaces.create(
            [{"device": d.id, "name": "mgmt0", "type": "1000base-t", "mgmt_only": True} for d in devices]
        )
        addresses = nb.ipam.ip_addresses.create(
            [
                {
                    "address": f"{MGMT_NET.network_address + i + 1}/{MGMT_NET.prefixlen}",
                    "status": "active",
                    "assigned_object_type": "dcim.interface",
                    "assigned_object_id": iface.id,
                }
                for i, iface in zip(indices, interfaces, strict=True)
            ]
        )
        nb.dcim.devices.update([{"id": d.id, "primary_ip4": a.id} for d, a in zip(devices, addresses, strict=True)])
    return max(upto - have, 0)


# --------------------------------------------------------------------------- inventory runs


def children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def load(source: Path, env: dict[str, str], out: Path) -> dict:
    """One `ansible-inventory --list`: wall and CPU seconds, requests made, output size, the inventory."""
    argv = [str(ANSIBLE_INVENTORY), "-i", str(source), "--list", "--output", str(out), "-v"]
    cpu0, start = children_cpu(), time.monotonic()
    res = subprocess.run(argv, cwd=ROOT, capture_output=True, text=True, env=env, check=False)
    wall, cpu = time.monotonic() - start, children_cpu() - cpu0
    if res.returncode != 0 or not out.exists():
        tail = (res.stderr.strip() or res.stdout.strip() or "no output").splitlines()[-3:]
        fail(f"ansible-inventory -i {source.name} failed (rc {res.returncode}): " + " | ".join(tail))
    requests = sum(1 for line in res.stdout.splitlines() if line.startswith("Fetching: "))
    data = json.loads(out.read_text(encoding="utf-8"))
    size = out.stat().st_size
    out.unlink()
    return {"wall": wall, "cpu": cpu, "requests": requests, "kib": size / 1024, "inventory": data}


def summary(inventory: dict) -> dict:
    """What both setups must agree on: hosts, ansible_host, config context values and group members."""
    hostvars = inventory.get("_meta", {}).get("hostvars", {})
    hosts = {}
    for name, hv in hostvars.items():
        context = hv.get("config_context")
        if context is None:  # flattened: the keys are host vars of their own
            context = {key: hv.get(key) for key in ("ntp_servers", "timezone", "site_key", "bench_index",
                                                    "maintenance_window", "backup", "contact")}  # fmt: skip
        elif isinstance(context, list):  # plurals: a list of one dict
            context = context[0] if context else {}
        hosts[name] = {"ansible_host": hv.get("ansible_host"), "context": context}
    groups = {
        name: sorted(body.get("hosts", []))
        for name, body in inventory.items()
        if name not in ("_meta", "all", "ungrouped") and body.get("hosts")
    }
    return {"hosts": hosts, "groups": groups}


def compare(reference: dict, other: dict, label: str, expected_hosts: int) -> None:
    if len(reference["hosts"]) != expected_hosts:
        fail(f"setup A lists {len(reference['hosts'])} hosts, NetBox holds {expected_hosts} devices")
    missing = sorted(set(reference["hosts"]) - set(other["hosts"]))
    extra = sorted(set(other["hosts"]) - set(reference["hosts"]))
    if missing or extra:
        fail(f"{label}: not the same hosts as setup A (missing {missing[:5]}, extra {extra[:5]})")
    for name, want in reference["hosts"].items():
        got = other["hosts"][name]
        if got["ansible_host"] != want["ansible_host"] or not want["ansible_host"]:
            fail(f"{label}: {name} has ansible_host {got['ansible_host']!r}, setup A {want['ansible_host']!r}")
        if got["context"] != want["context"]:
            fail(f"{label}: {name} has config context {got['context']!r}, setup A {want['context']!r}")
    if other["groups"] != reference["groups"]:
        diff = sorted(set(other["groups"].items()) ^ set(reference["groups"].items()), key=str)[:3]
        fail(f"{label}: groups differ from setup A's: {diff}")


def stats(runs: list[dict]) -> dict:
    walls = [r["wall"] for r in runs]
    return {
        "mean_s": round(statistics.mean(walls), 2),
        "min_s": round(min(walls), 2),
        "runs_s": [round(w, 2) for w in walls],
        "cpu_s": round(statistics.mean(r["cpu"] for r in runs), 2),
        "requests": runs[-1]["requests"],
        "output_kib": round(runs[-1]["kib"]),
    }


def measure(size: int, workdir: Path, env: dict[str, str], repeat: int) -> dict:
    naive, cached, tuned = (workdir / f"{name}.netbox.yml" for name in ("naive", "cached", "tuned"))
    cache = workdir / "cache"
    out = workdir / "out.json"
    runs: dict[str, list[dict]] = {"A": [], "B cold": [], "B warm": [], "C": []}

    def one_round(record: bool) -> None:
        shutil.rmtree(cache, ignore_errors=True)
        for label, source in (("A", naive), ("B cold", cached), ("B warm", cached), ("C", tuned)):
            run = load(source, env, out)
            compare(reference, summary(run["inventory"]), label, size)
            if record:
                runs[label].append(run)

    reference = summary(load(naive, env, out)["inventory"])
    one_round(record=False)  # unmeasured warm-up of every setup
    for _ in range(repeat):
        one_round(record=True)
    if runs["B warm"][-1]["requests"]:
        fail(f"the warm run still made {runs['B warm'][-1]['requests']} requests: the cache was not used")
    return {label: stats(r) for label, r in runs.items()}


# --------------------------------------------------------------------------- main


def print_table(results: list[dict]) -> None:
    print()
    print(
        f"{'devices':>7}  {'setup':<7} {'requests':>8} {'out KiB':>8} {'mean s':>7} {'min s':>6} {'cpu s':>6}  runs s"
    )
    for res in results:
        for label, s in res["setups"].items():
            print(
                f"{res['devices']:>7}  {label:<7} {s['requests']:>8} {s['output_kib']:>8} {s['mean_s']:>7}"
                f" {s['min_s']:>6} {s['cpu_s']:>6}  {s['runs_s']}"
            )
    print()
    for res in results:
        a, cold, warm, tuned = (res["setups"][k]["mean_s"] for k in ("A", "B cold", "B warm", "C"))
        print(
            f"{res['devices']} devices: naive A takes {a / tuned:.1f}x the time of tuned C (no cache), "
            f"{a / cold:.1f}x B cold and {a / warm:.1f}x B warm (generation {res['generate_s']}s, not compared)"
        )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--devices", type=int, default=2000, help="the large estate (default 2000)")
    parser.add_argument("--small", type=int, default=90, help="the seeded-estate size, 0 to skip (default 90)")
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--keep", action="store_true", help="leave NetBox running at the end")
    parser.add_argument("--reuse", action="store_true", help="measure the estate of a kept NetBox (no --fresh)")
    parser.add_argument("--json", type=Path, default=ROOT / "reports" / "bench" / "netbox-inventory.json")
    args = parser.parse_args(argv)
    if args.devices < 1 or args.small < 0 or args.repeat < 1:
        parser.error("--devices and --repeat must be at least 1, --small at least 0")
    for key, value in BENCH_ENV.items():
        os.environ.setdefault(key, value)

    import pynetbox  # the controller venv's; imported here so that --help works without it

    url, token = netbox_up(fresh=not args.reuse)
    results = []
    try:
        nb = pynetbox.api(url, token=token)
        catalogue = ensure_catalogue(nb)
        with tempfile.TemporaryDirectory(prefix="bench-nbinv-") as tmp:
            workdir = Path(tmp)
            files = source_files(workdir / "cache")
            for label, name in (("A", "naive"), ("B", "cached"), ("C", "tuned")):
                (workdir / f"{name}.netbox.yml").write_text(files[label], encoding="utf-8")
            env = {**os.environ, "NETBOX_API": url, "NETBOX_TOKEN": token, "ANSIBLE_NOCOLOR": "1",
                   "ANSIBLE_LOCAL_TEMP": str(workdir / "tmp")}  # fmt: skip
            for size in sorted({s for s in (args.small, args.devices) if s}):
                have = nb.dcim.devices.count()
                if have > size:
                    log(f"skipping {size} devices: NetBox already holds {have} (--reuse)")
                    continue
                start = time.monotonic()
                created = generate(nb, catalogue, size)
                generate_s = round(time.monotonic() - start, 1)
                log(f"{size} devices: {created} generated in {generate_s}s; measuring")
                setups = measure(size, workdir, env, args.repeat)
                results.append({"devices": size, "generate_s": generate_s, "setups": setups})
        if not results:
            fail("nothing measured")
        print_table(results)
        report = {
            "netbox": str(nb.version),
            "cores": os.cpu_count(),
            "machine": platform.machine(),
            "repeat": args.repeat,
            "sizes": results,
            "tuned_options": SHIPPED.read_text(encoding="utf-8"),
            "cache_options": CACHE.format(cache="<cache dir>"),
        }
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps(report, indent=2) + "\n", encoding="utf-8")
        log(f"numbers written to {args.json}")
    finally:
        if not args.keep:
            down = netboxctl("down")
            log("NetBox stopped" if down.returncode == 0 else f"netboxctl down failed: {down.stderr.strip()}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
