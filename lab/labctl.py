#!/usr/bin/env python3
"""labctl: the belediye-iac lab of real Debian 12 hosts under rootful podman.

    labctl.py image            build (or reuse) the base image, cached by recipe hash
    labctl.py up [HOST ...]    network, apt proxy and lab hosts from inventories/lab (idempotent)
    labctl.py down             remove every lab and molecule container, the network, bridge and proxy
    labctl.py status           what is running
    labctl.py prepare          image, SSH key, network and apt proxy (before parallel molecule runs)
    labctl.py molecule-create  --instance-config FILE NAME[:pardus] ...   (molecule's create step)
    labctl.py molecule-destroy NAME ...                                    (molecule's destroy step)
    labctl.py scale COUNT      COUNT extra Debian servers scale01.. (10.231.0.101 up) for the scale benchmark,
                               in their own inventory .lab/scale/hosts.yml (`scale 0` removes them)
    labctl.py pki                    issue missing lab certificates (committed; keys vaulted)
    labctl.py tsa-start | tsa-stop   the lab's RFC 3161 time-stamp authority (lab/tsa/tsa.py; `up` starts it)
    labctl.py av-mirror [--bump]     the lab's ClamAV signature mirror (lab/avmirror.py; `up` and `prepare` start it)
    labctl.py devices | devices-stop the simulated cameras, PDKS terminals and X-ray scanners on loopback
                                     (lab/devices/fleet.py; `up` starts them, `down` stops them)

Lab hosts with `lab_clients_lan` in the inventory get a second interface, eth1, on the clients
bridge (blab1): a segment with no addresses from podman, where the lab DHCP server hands out
leases. The value is the host's own address on it (CIDR), or `dhcp` for a client.
Hosts with `lab_wan_lan` (a CIDR) get eth2 on the lab's "internet" segment (bridge blab2, no
podman addresses either): the lab gateway fw01 routes and NATs the clients LAN to it, and a server
there stands in for the internet. Neither segment has an address on the machine: traffic between
them crosses fw01's nftables ruleset, never the machine's own routing.
The lab PKI (a throw-away CA and a TLS certificate per lab host, for syslog over TLS) is committed
under inventories/lab/files/pki, keys encrypted with the lab vault; `labctl.py pki` issues what is
missing. `up` starts the lab TSA on the bridge address 10.231.0.1:3318; its CA and signing key are
committed the same way (inventories/lab/files/pki/tsa-*).
`up` and `prepare` also start the lab's ClamAV signature mirror on 10.231.0.1:3320 (lab/avmirror.py):
a custom database built with ClamAV's sigtool in a throw-away container, cached in .cache/avmirror.

Facts this file relies on are recorded in ../shared/research/testhosts.md: podman 4.3 needs the runc
runtime and capped ulimits here (lab/containers.conf), netavark deletes an empty bridge (so the lab
anchors its bridge with a veth end), and conmon must not inherit our stdout/stderr.
Everything the lab creates carries the label belediye.lab, so `down` can find leftovers of a killed run.
"""

from __future__ import annotations

import argparse
import contextlib
import fcntl
import hashlib
import ipaddress
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import avmirror

ROOT = Path(__file__).resolve().parent.parent
LAB = ROOT / "lab"
STATE = ROOT / ".lab"
CACHE = ROOT / ".cache" / "lab"

NETWORK = "belediye-lab"
BRIDGE = "blab0"
ANCHOR = ("blab0a", "blab0b")  # veth pair that keeps the bridge alive while no host runs
# The bridge's own MAC, pinned (locally administered; 0a:e7 is 10.231). Left to the kernel, a bridge
# takes the lowest MAC of its ports, so the gateway's MAC changed whenever a host with a lower veth
# MAC came or went, and hosts that had the old one in their ARP cache could not reach the proxy,
# the TSA or the AV mirror for up to a minute (apt: "connection timed out").
BRIDGE_MAC = "02:be:0a:e7:00:01"
SUBNET = ipaddress.ip_network("10.231.0.0/24")
GATEWAY = "10.231.0.1"
DYNAMIC_RANGE = "10.231.0.128/25"  # molecule instances; fixed lab hosts use .11-.99
PROXY_PORT = 3142
CLIENT_NETWORK = "belediye-clients"  # DHCP segment: no IPAM, the lab's own DHCP server serves it
CLIENT_BRIDGE = "blab1"
WAN_NETWORK = "belediye-wan"  # the "internet" behind the lab gateway: no IPAM, fixed addresses
WAN_BRIDGE = "blab2"


@dataclass(frozen=True)
class Segment:
    """A lab segment beyond the bridge: a podman network without IPAM, on a bridge of its own."""

    key: str  # the host variable lab_<key>_lan
    network: str
    bridge: str
    interface: str  # the same name in every host, so that roles can name it
    dhcp: bool  # whether `dhcp` (a lease taken later) is allowed instead of a fixed address


SEGMENTS = (
    Segment("clients", CLIENT_NETWORK, CLIENT_BRIDGE, "eth1", dhcp=True),
    Segment("wan", WAN_NETWORK, WAN_BRIDGE, "eth2", dhcp=False),
)
TSA_DIR = STATE / "tsa"
TSA_PORT = 3318
AVMIRROR_DIR = STATE / "avmirror"
AVMIRROR_CACHE = ROOT / ".cache" / "avmirror"
AVMIRROR_PORT = avmirror.PORT
IMAGE_REPO = "localhost/belediye-debian12"
IMAGE_TAG_LAB = f"{IMAGE_REPO}:lab"
LABEL = "belediye.lab"
CONTAINER_PREFIX = "lab-"
SSH_USER = "ansible"
SSH_DIR = STATE / "ssh"
SSH_KEY = SSH_DIR / "id_ed25519"
KNOWN_HOSTS = SSH_DIR / "known_hosts"
# The scale benchmark's extra servers (bench/scale.py): plain members of `servers`, addresses after the
# fixed hosts' .11-.99 and before molecule's .128/25.
SCALE_DIR = STATE / "scale"
SCALE_FIRST = 101
SCALE_MAX = 27
PODMAN_ENV = dict(os.environ, CONTAINERS_CONF=str(LAB / "containers.conf"))


def log(msg: str) -> None:
    print(f"labctl: {msg}", flush=True)


def die(msg: str) -> None:
    print(f"labctl: error: {msg}", file=sys.stderr, flush=True)
    sys.exit(1)


def run(cmd: list[str], check: bool = True, quiet: bool = False, **kw) -> subprocess.CompletedProcess:
    """Run a command without handing it our stdout (a daemon that inherits it keeps pipes open)."""
    kw.setdefault("env", PODMAN_ENV)
    res = subprocess.run(cmd, stdin=subprocess.DEVNULL, capture_output=True, text=True, **kw)
    if check and res.returncode != 0:
        die(f"{' '.join(cmd)} failed ({res.returncode}): {res.stderr.strip() or res.stdout.strip()}")
    if not quiet and res.returncode != 0:
        log(f"note: {' '.join(cmd[:4])}...: {res.stderr.strip()}")
    return res


def podman(*args: str, check: bool = True, quiet: bool = False) -> subprocess.CompletedProcess:
    return run(["podman", *args], check=check, quiet=quiet)


# --------------------------------------------------------------------------- machine preparation
def apt_sources(etc_apt: Path = Path("/etc/apt")) -> list[tuple[str, list[str]]]:
    """(URI, suites) of the machine's own apt sources, one-line and deb822 formats."""
    found: list[tuple[str, list[str]]] = []
    files = [etc_apt / "sources.list", *sorted((etc_apt / "sources.list.d").glob("*"))]
    for f in files:
        if not f.is_file():
            continue
        text = f.read_text(errors="replace")
        if f.suffix == ".sources":
            for stanza in re.split(r"\n\s*\n", text):
                fields = dict(re.findall(r"^(\w[\w-]*):\s*(.*)$", stanza, re.M))
                if "URIs" in fields:
                    for uri in fields["URIs"].split():
                        found.append((uri, fields.get("Suites", "").split()))
        else:
            for line in text.splitlines():
                m = re.match(r"^\s*deb\s+(?:\[[^]]*\]\s+)?(\S+)\s+(\S+)", line)
                if m:
                    found.append((m.group(1), [m.group(2)]))
    return found


def debian_mirrors(etc_apt: Path = Path("/etc/apt")) -> tuple[str, str, list[str]]:
    """The machine's Debian mirror and security mirror, and every host name they use."""
    main = security = None
    for uri, suites in apt_sources(etc_apt):
        if not uri.startswith("http://"):
            continue
        if any(s == "bookworm-security" for s in suites):
            security = security or uri.rstrip("/")
        elif any(s == "bookworm" for s in suites):
            main = main or uri.rstrip("/")
    main = main or "http://deb.debian.org/debian"
    security = security or "http://deb.debian.org/debian-security"
    hosts = sorted({re.sub(r"^http://([^/:]+).*", r"\1", u) for u in (main, security)})
    return main, security, hosts


def prepare_machine() -> None:
    """Kernel settings shared by all rootful containers (systemd needs one inotify instance each)."""
    wanted = {"fs.inotify.max_user_instances": 8192, "fs.inotify.max_user_watches": 524288}
    for key, value in wanted.items():
        path = Path("/proc/sys") / key.replace(".", "/")
        try:
            if int(path.read_text()) < value:
                path.write_text(str(value))
        except OSError as exc:
            log(f"warning: cannot raise {key} ({exc}); many hosts may fail to boot")
    for tool in ("podman", "runc", "mmdebstrap", "squid", "ssh", "ssh-keygen", "zstd"):
        if not shutil.which(tool):
            die(f"{tool} is not installed: run `make deps` (scripts/deps.sh) first")
    # The proxy runs as user proxy and keeps its files below these: they must be traversable,
    # whoever created them first (the run ledger, for one, makes its directory 0750).
    for state_dir in (STATE, ROOT / ".cache"):
        state_dir.mkdir(parents=True, exist_ok=True)
        state_dir.chmod(0o755)


# --------------------------------------------------------------------------- image
def recipe_hash() -> str:
    h = hashlib.sha256()
    for f in sorted((LAB / "image").iterdir()):
        h.update(f.name.encode() + b"\0" + f.read_bytes() + b"\0")
    return h.hexdigest()[:16]


def image_ref() -> str:
    return f"{IMAGE_REPO}:{recipe_hash()}"


def image_exists(ref: str) -> bool:
    return podman("image", "exists", ref, check=False, quiet=True).returncode == 0


def ensure_image() -> str:
    ref = image_ref()
    tarball = CACHE / f"belediye-debian12-{recipe_hash()}.tar.zst"
    if not image_exists(ref):
        if not tarball.exists():
            main, security, _ = debian_mirrors()
            log(f"building base image {ref} from {main} (a few minutes, once per recipe)")
            CACHE.mkdir(parents=True, exist_ok=True)
            partial = tarball.with_suffix(".partial.tar.zst")
            t0 = time.monotonic()
            res = subprocess.run(
                [str(LAB / "image" / "build.sh"), str(partial), main, security],
                stdin=subprocess.DEVNULL,
                capture_output=True,
                text=True,
            )
            if res.returncode != 0:
                partial.unlink(missing_ok=True)
                die(f"image build failed:\n{res.stderr[-3000:]}")
            partial.rename(tarball)
            log(f"image built in {time.monotonic() - t0:.0f}s: {tarball}")
        log(f"importing {tarball.name}")
        podman(
            "import",
            "--change",
            "CMD=/sbin/init",
            "--change",
            "STOPSIGNAL=SIGRTMIN+3",
            "--change",
            f"LABEL={LABEL}.recipe={recipe_hash()}",
            str(tarball),
            ref,
        )
    podman("tag", ref, IMAGE_TAG_LAB)
    # Drop tarballs of older recipes: one cached image per machine is enough.
    for old in CACHE.glob("belediye-debian12-*.tar.zst"):
        if old != tarball and tarball.exists():
            old.unlink()
    return ref


# --------------------------------------------------------------------------- network
def link_exists(name: str) -> bool:
    return run(["ip", "link", "show", name], check=False, quiet=True).returncode == 0


def network_config_file() -> Path:
    return Path("/etc/containers/networks") / f"{NETWORK}.json"


def ensure_network() -> None:
    cfg = network_config_file()
    if podman("network", "exists", NETWORK, check=False, quiet=True).returncode != 0:
        if link_exists(BRIDGE):  # a bridge left by a killed run blocks `network create`
            delete_bridge()
        podman(
            "network",
            "create",
            "--internal",
            "--disable-dns",
            "--subnet",
            str(SUBNET),
            "--gateway",
            GATEWAY,
            "--ip-range",
            DYNAMIC_RANGE,
            "--label",
            LABEL,
            NETWORK,
        )
    data = json.loads(cfg.read_text())
    if data.get("network_interface") != BRIDGE:
        data["network_interface"] = BRIDGE
        cfg.write_text(json.dumps(data, indent=5))
    if not link_exists(BRIDGE):
        run(["ip", "link", "add", BRIDGE, "type", "bridge"])
    if f"{GATEWAY}/" not in run(["ip", "-o", "-4", "addr", "show", "dev", BRIDGE]).stdout:
        run(["ip", "addr", "add", f"{GATEWAY}/{SUBNET.prefixlen}", "dev", BRIDGE])
    if Path(f"/sys/class/net/{BRIDGE}/address").read_text().strip() != BRIDGE_MAC:
        run(["ip", "link", "set", BRIDGE, "address", BRIDGE_MAC])
    if not link_exists(ANCHOR[0]):
        run(["ip", "link", "add", ANCHOR[0], "type", "veth", "peer", "name", ANCHOR[1]])
    run(["ip", "link", "set", ANCHOR[0], "master", BRIDGE])
    for dev in (ANCHOR[0], ANCHOR[1], BRIDGE):
        run(["ip", "link", "set", dev, "up"])


def delete_bridge() -> None:
    for dev in (ANCHOR[0], BRIDGE):
        if link_exists(dev):
            run(["ip", "link", "del", dev], check=False)


def ensure_segment_network(seg: Segment) -> None:
    """A segment: a bridge without addresses from podman (internal, no IPAM, no DNS)."""
    if podman("network", "exists", seg.network, check=False, quiet=True).returncode != 0:
        podman(
            "network",
            "create",
            "--internal",
            "--disable-dns",
            "--ipam-driver",
            "none",
            "--label",
            LABEL,
            seg.network,
        )
    cfg = Path("/etc/containers/networks") / f"{seg.network}.json"
    data = json.loads(cfg.read_text())
    if data.get("network_interface") != seg.bridge:
        data["network_interface"] = seg.bridge
        cfg.write_text(json.dumps(data, indent=5))


def ensure_segment_address(container: str, seg: Segment, cidr: str) -> None:
    """A host's fixed address on a segment (podman assigns none there); idempotent."""
    have = podman("exec", container, "ip", "-o", "-4", "addr", "show", "dev", seg.interface).stdout
    if f" {cidr} " not in have:
        podman("exec", container, "ip", "addr", "add", cidr, "dev", seg.interface)


# --------------------------------------------------------------------------- apt proxy (squid)
SQUID_DIR = STATE / "squid"
SQUID_PID = SQUID_DIR / "squid.pid"
SQUID_CACHE = ROOT / ".cache" / "squid"


def squid_config() -> str:
    _, _, hosts = debian_mirrors()
    return f"""# generated by lab/labctl.py: apt proxy for the lab hosts, Debian mirrors only
http_port {GATEWAY}:{PROXY_PORT}
pid_filename {SQUID_PID}
cache_effective_user proxy
acl lab src {SUBNET}
acl mirrors dstdomain {" ".join(hosts)}
acl Safe_ports port 80
http_access deny !Safe_ports
http_access allow lab mirrors
http_access deny all
cache_dir ufs {SQUID_CACHE} 4096 16 256
maximum_object_size 512 MB
cache_mem 64 MB
collapsed_forwarding on
refresh_pattern -i (InRelease|Release|Release\\.gpg|Packages.*|Sources.*|Translation.*)$ 0 0% 60 refresh-ims
refresh_pattern -i \\.(deb|udeb)$ 129600 100% 129600
refresh_pattern . 0 20% 4320
access_log {SQUID_DIR}/access.log
cache_log {SQUID_DIR}/cache.log
cache_store_log none
logfile_rotate 0
coredump_dir {SQUID_DIR}
shutdown_lifetime 1 seconds
"""


def pid_alive(pidfile: Path, comm: str) -> int | None:
    """The pid in pidfile if that process runs and is `comm`. A zombie is dead: in a sandbox whose
    PID 1 does not reap, a killed daemon stays in the process table with its name."""
    try:
        pid = int(pidfile.read_text().strip())
        stat = Path(f"/proc/{pid}/stat").read_text()
        name, state = stat[stat.index("(") + 1 : stat.rindex(")")], stat[stat.rindex(")") + 2]
        if comm in name and state not in "ZX":
            return pid
    except (OSError, ValueError, IndexError):
        pass
    return None


def ensure_proxy() -> None:
    SQUID_DIR.mkdir(parents=True, exist_ok=True)
    SQUID_CACHE.mkdir(parents=True, exist_ok=True)
    conf = SQUID_DIR / "squid.conf"
    text = squid_config()
    changed = not conf.exists() or conf.read_text() != text
    conf.write_text(text)
    shutil.chown(SQUID_DIR, "proxy", "proxy")
    run(["chown", "-R", "proxy:proxy", str(SQUID_CACHE)])
    pid = pid_alive(SQUID_PID, "squid")
    if pid and not changed:
        return
    if pid:
        stop_proxy()
    kill_orphan_squids()  # workers of a killed run still hold the port
    SQUID_PID.unlink(missing_ok=True)  # stale pid file of a killed run
    if not (SQUID_CACHE / "00").exists():
        run(["squid", "-z", "--foreground", "-f", str(conf)])
    run(["squid", "-f", str(conf)])
    for _ in range(50):
        try:
            socket.create_connection((GATEWAY, PROXY_PORT), timeout=0.5).close()
            log(f"apt proxy listening on {GATEWAY}:{PROXY_PORT}")
            return
        except OSError:
            time.sleep(0.2)
    die(f"squid did not start; see {SQUID_DIR / 'cache.log'}")


def stop_proxy() -> None:
    pid = pid_alive(SQUID_PID, "squid")
    if pid:
        run(["squid", "-f", str(SQUID_DIR / "squid.conf"), "-k", "shutdown"], check=False)
        for _ in range(50):
            if not pid_alive(SQUID_PID, "squid") and not Path(f"/proc/{pid}").exists():
                break
            time.sleep(0.2)
        else:
            os.kill(pid, signal.SIGKILL)
    kill_orphan_squids()
    SQUID_PID.unlink(missing_ok=True)


def kill_orphan_squids() -> None:
    """Squid's worker (`(squid-1) --kid squid-1 -f ...`) outlives a killed master and keeps the port."""
    pattern = f"-f {SQUID_DIR / 'squid.conf'}"
    run(["pkill", "-KILL", "-f", "--", pattern], check=False, quiet=True)
    for _ in range(25):
        if run(["pgrep", "-f", "--", pattern], check=False, quiet=True).returncode != 0:
            return
        time.sleep(0.2)


# --------------------------------------------------------------------------- lab PKI (syslog over TLS)
# The lab PKI is committed with the lab inventory, so that the inventory validates before any lab
# exists: certificates in clear, keys encrypted with the lab's throw-away vault password (Ansible's
# `file` lookup decrypts them). `labctl.py pki` issues what is missing, e.g. for a new lab host.
PKI_DIR = ROOT / "inventories" / "lab" / "files" / "pki"
VAULT_ID = f"lab@{ROOT / 'inventories' / 'lab' / 'vault-password.txt'}"


def openssl(*args: str) -> None:
    run(["openssl", *args])


def vault(action: str, path: Path) -> None:
    cmd = [str(ROOT / ".venv" / "bin" / "ansible-vault"), action, "--vault-id", VAULT_ID, str(path)]
    if action == "encrypt":  # ansible.cfg names the lab vault id too: say which one encrypts
        cmd[4:4] = ["--encrypt-vault-id", "lab"]
    run(cmd, cwd=ROOT)


def decrypt_to(src: Path, dest: Path) -> None:
    """A vaulted lab key, in clear, mode 0600, where a lab service needs it (never in the repository)."""
    res = run([str(ROOT / ".venv" / "bin" / "ansible-vault"), "view", "--vault-id", VAULT_ID, str(src)], cwd=ROOT)
    fd = os.open(dest, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as f:
        f.write(res.stdout)


def new_key(path: Path) -> None:
    openssl("genpkey", "-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:P-256", "-out", str(path))


def issue(
    name: str, ca_crt: Path, ca_key: Path, subject: str, ext_lines: list[str], days: int = 3650, out: Path = PKI_DIR
) -> None:
    """<name>.key (vaulted) and <name>.crt under `out` (the committed PKI_DIR), signed by the given CA."""
    key, crt = out / f"{name}.key", out / f"{name}.crt"
    tmp = STATE / "pki-tmp"
    tmp.mkdir(parents=True, exist_ok=True, mode=0o700)
    clear, csr, ext = tmp / f"{name}.key", tmp / f"{name}.csr", tmp / f"{name}.ext"
    new_key(clear)
    ext.write_text("\n".join(ext_lines) + "\n")
    openssl("req", "-new", "-key", str(clear), "-subj", subject, "-out", str(csr))
    openssl(
        "x509", "-req", "-in", str(csr), "-CA", str(ca_crt), "-CAkey", str(ca_key), "-set_serial",
        str(int.from_bytes(os.urandom(8), "big")), "-days", str(days), "-sha256", "-extfile", str(ext),
        "-out", str(crt),
    )  # fmt: skip
    shutil.copyfile(clear, key)
    vault("encrypt", key)
    for f in (clear, csr, ext):
        f.unlink()


def ensure_pki(hosts: dict[str, dict], out: Path = PKI_DIR) -> list[str]:
    """The lab CA, and for every lab host a certificate naming it (short name, FQDN, address) for TLS
    server and client use, under `out` (the scale hosts' certificates are not committed). Existing
    material is kept. Returns the names issued."""
    PKI_DIR.mkdir(parents=True, exist_ok=True)
    out.mkdir(parents=True, exist_ok=True)
    ca_crt, ca_key_vaulted = PKI_DIR / "ca.crt", PKI_DIR / "ca.key"
    ca_key = STATE / "pki-tmp" / "ca.key"
    (STATE / "pki-tmp").mkdir(parents=True, exist_ok=True, mode=0o700)
    issued = []
    if not ca_crt.exists():
        new_key(ca_key)
        openssl(
            "req", "-x509", "-new", "-key", str(ca_key), "-sha256", "-days", "7300", "-out", str(ca_crt),
            "-subj", "/O=Belediye lab/CN=Belediye lab CA (throw-away)",
            "-addext", "basicConstraints=critical,CA:TRUE", "-addext", "keyUsage=critical,keyCertSign,cRLSign",
        )  # fmt: skip
        shutil.copyfile(ca_key, ca_key_vaulted)
        vault("encrypt", ca_key_vaulted)
        issued.append("ca")
    else:
        decrypt_to(ca_key_vaulted, ca_key)
    if out != PKI_DIR:
        shutil.copyfile(ca_crt, out / "ca.crt")
    for name, h in sorted(hosts.items()):
        if (out / f"{name}.crt").exists():
            continue
        sans = [f"DNS:{name}", f"IP:{h['address']}"] + ([f"DNS:{name}.{h['domain']}"] if h.get("domain") else [])
        issue(
            name, ca_crt, ca_key, f"/O=Belediye lab/CN={name}",
            ["basicConstraints=critical,CA:FALSE", "keyUsage=critical,digitalSignature,keyEncipherment",
             "extendedKeyUsage=serverAuth,clientAuth", f"subjectAltName={','.join(sans)}"], out=out,
        )  # fmt: skip
        issued.append(name)
    ca_key.unlink(missing_ok=True)
    return issued


def check_pki(hosts: dict[str, dict]) -> None:
    missing = [n for n in sorted(hosts) if not (PKI_DIR / f"{n}.crt").exists()]
    if not (PKI_DIR / "ca.crt").exists() or missing:
        die(f"lab PKI: no certificate for {', '.join(missing) or 'the CA'}; run `lab/labctl.py pki` and commit it")


def cmd_pki(_args) -> None:
    issued = ensure_pki(lab_inventory_hosts())
    if ensure_tsa_material():
        issued.append("TSA")
    log(f"lab PKI in {PKI_DIR.relative_to(ROOT)}: issued {', '.join(issued) or 'nothing (all present)'}")


# --------------------------------------------------------------------------- lab TSA (RFC 3161)
TSA_PID = TSA_DIR / "tsa.pid"


TSA_FILES = {"ca.crt": "tsa-ca.crt", "ca.key": "tsa-ca.key", "tsa.crt": "tsa.crt", "tsa.key": "tsa.key"}


def ensure_tsa_material() -> bool:
    """The lab TSA's CA and signing certificate, issued once by lab/tsa/tsa.py and committed like the
    rest of the lab PKI (keys vaulted). Returns True when it was issued now."""
    if (PKI_DIR / "tsa-ca.crt").exists():
        return False
    tmp = STATE / "pki-tmp" / "tsa"
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    run([sys.executable, str(LAB / "tsa" / "tsa.py"), "init", str(tmp), "--name", "Belediye lab TSA"])
    for src, dest in TSA_FILES.items():
        shutil.copyfile(tmp / src, PKI_DIR / dest)
        if dest.endswith(".key"):
            vault("encrypt", PKI_DIR / dest)
    shutil.rmtree(tmp)
    return True


def ensure_tsa() -> None:
    """The lab's time-stamp authority on the bridge address, for the log server's daily signing.
    The lab inventory trusts its CA (inventories/lab/files/pki/tsa-ca.crt)."""
    tsa = LAB / "tsa" / "tsa.py"
    if not (PKI_DIR / "tsa-ca.crt").exists():
        die("lab PKI: the lab TSA has no certificate; run `lab/labctl.py pki` and commit it")
    TSA_DIR.mkdir(parents=True, exist_ok=True, mode=0o700)
    for dest, src in TSA_FILES.items():
        if src.endswith(".key"):
            decrypt_to(PKI_DIR / src, TSA_DIR / dest)
        else:
            shutil.copyfile(PKI_DIR / src, TSA_DIR / dest)
    run([sys.executable, str(tsa), "init", str(TSA_DIR), "--name", "Belediye lab TSA"])
    if pid_alive(TSA_PID, "python"):
        return
    TSA_PID.unlink(missing_ok=True)
    with open(TSA_DIR / "tsa.log", "ab") as logf:
        subprocess.Popen(
            [sys.executable, str(tsa), "serve", str(TSA_DIR), "--bind", GATEWAY, "--port", str(TSA_PORT),
             "--pid-file", str(TSA_PID)],
            stdin=subprocess.DEVNULL, stdout=logf, stderr=logf, start_new_session=True, close_fds=True,
        )  # fmt: skip
    for _ in range(50):
        try:
            socket.create_connection((GATEWAY, TSA_PORT), timeout=0.5).close()
            if pid_alive(TSA_PID, "python"):
                log(f"TSA listening on {GATEWAY}:{TSA_PORT}")
                return
        except OSError:
            pass
        time.sleep(0.2)
    die(f"the lab TSA did not start; see {TSA_DIR / 'tsa.log'}")


# --------------------------------------------------------------------------- lab ClamAV signature mirror
AVMIRROR_PID = AVMIRROR_DIR / "avmirror.pid"
AVMIRROR_BUILD_TIMEOUT = 900


def apt_proxy_conf() -> str:
    """The apt settings of a lab host: the lab's squid on the bridge."""
    return (
        f'Acquire::http::Proxy "http://{GATEWAY}:{PROXY_PORT}";\n'
        'Acquire::http::Pipeline-Depth "0";\nAcquire::Retries "3";\n'
    )


def avmirror_container(staging: Path, env: dict[str, str]) -> tuple[int, str]:
    """Run avmirror's build script in a throw-away container of the lab image on the lab network
    (apt through the lab proxy, no systemd, so no service of the clamav packages starts)."""
    args = [
        "podman",
        "run",
        "--rm",
        "--runtime",
        "runc",
        "--pull",
        "never",
        "--network",
        NETWORK,
        "--dns",
        "127.0.0.1",
        "--label",
        f"{LABEL}=avmirror-build",
        "--volume",
        f"{staging}:/build",
    ]
    for key, value in env.items():
        args += ["--env", f"{key}={value}"]
    args += [image_ref(), "/bin/sh", "/build/build.sh"]
    # A new container that could not reach the apt proxy at all gets one more try (seen once, under
    # full load with molecule's instances coming and going on the same bridge: every connect timed
    # out while the running hosts used the proxy). Any other failure is reported as it is.
    for attempt in (1, 2):
        try:
            res = run(args, check=False, quiet=True, timeout=AVMIRROR_BUILD_TIMEOUT)
        except subprocess.TimeoutExpired:
            return 124, f"the build container did not finish within {AVMIRROR_BUILD_TIMEOUT}s"
        apt_log = staging / "apt.log"
        apt_text = apt_log.read_text(errors="replace") if apt_log.exists() else ""
        unreachable = f"Could not connect to {GATEWAY}:{PROXY_PORT}" in apt_text
        if res.returncode == 0 or not unreachable or attempt == 2:
            return res.returncode, res.stderr
        log(f"note: the AV mirror's build container could not reach {GATEWAY}:{PROXY_PORT}; trying once more")
        time.sleep(5)
    return res.returncode, res.stderr


def ensure_avmirror(bump: bool = False) -> None:
    """The lab's ClamAV signature mirror: the database of the current version (built once per
    machine and version; --bump makes the next version current) served on the bridge address.
    Needs the image, the network and the apt proxy (`prepare`)."""
    AVMIRROR_CACHE.mkdir(parents=True, exist_ok=True)
    AVMIRROR_DIR.mkdir(parents=True, exist_ok=True)
    with open(AVMIRROR_CACHE / "build.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        version = avmirror.read_version(AVMIRROR_CACHE) + (1 if bump else 0)
        t0 = time.monotonic()
        cached = (AVMIRROR_CACHE / "builds" / f"{avmirror.inputs_hash(version)}.cud").exists()
        if not cached:
            log(f"building the lab ClamAV database {avmirror.DB_NAME} version {version} (once per version)")
        try:
            built = avmirror.build(AVMIRROR_CACHE, version, avmirror_container, apt_proxy_conf())
        except RuntimeError as exc:
            die(str(exc))
        if not cached:
            log(f"lab ClamAV database version {version} built in {time.monotonic() - t0:.0f}s")
        (AVMIRROR_CACHE / "version").write_text(f"{version}\n")
        avmirror.publish(built, AVMIRROR_DIR / "www")
        # Started under the lock too: two scenarios preparing at once must not both start a server.
        if pid_alive(AVMIRROR_PID, "python"):
            if bump:
                log(f"AV mirror serves {avmirror.DB_NAME} version {version}")
            return
        AVMIRROR_PID.unlink(missing_ok=True)
        with open(AVMIRROR_DIR / "avmirror.log", "ab") as logf:
            subprocess.Popen(
                [sys.executable, str(LAB / "avmirror.py"), "serve", str(AVMIRROR_DIR / "www"), "--bind", GATEWAY,
                 "--port", str(AVMIRROR_PORT), "--pid-file", str(AVMIRROR_PID)],
                stdin=subprocess.DEVNULL, stdout=logf, stderr=logf, start_new_session=True, close_fds=True,
            )  # fmt: skip
        for _ in range(50):
            try:
                socket.create_connection((GATEWAY, AVMIRROR_PORT), timeout=0.5).close()
                if pid_alive(AVMIRROR_PID, "python"):
                    log(f"AV mirror serving http://{GATEWAY}:{AVMIRROR_PORT}/{avmirror.DB_NAME} (version {version})")
                    return
            except OSError:
                pass
            time.sleep(0.2)
    die(f"the lab AV mirror did not start; see {AVMIRROR_DIR / 'avmirror.log'}")


def stop_pid_file_server(pid_file: Path, what: str) -> None:
    """Stop a lab server this file started (the TSA, the AV mirror): SIGTERM, SIGKILL after 5 s."""
    pid = pid_alive(pid_file, "python")
    if pid:
        os.kill(pid, signal.SIGTERM)
        for _ in range(50):
            if not pid_alive(pid_file, "python"):
                break
            time.sleep(0.1)
        else:
            os.kill(pid, signal.SIGKILL)
        log(f"{what} stopped")
    pid_file.unlink(missing_ok=True)


def stop_avmirror() -> None:
    stop_pid_file_server(AVMIRROR_PID, "AV mirror")


DEVICES_DIR = STATE / "devices"
DEVICES_PID = DEVICES_DIR / "fleet.pid"


def ensure_devices() -> None:
    """Start the simulated device fleet (lab/devices/fleet.py): a simulator for every camera, PDKS
    terminal and X-ray scanner of the lab inventory, on loopback, with its state in .lab/devices."""
    if pid_alive(DEVICES_PID, "python"):
        return
    DEVICES_DIR.mkdir(mode=0o700, parents=True, exist_ok=True)
    DEVICES_PID.unlink(missing_ok=True)
    with open(DEVICES_DIR / "fleet.log", "ab") as logf:
        subprocess.Popen(
            [sys.executable, str(LAB / "devices" / "fleet.py"), "--state-dir", str(DEVICES_DIR / "state"),
             "--pid-file", str(DEVICES_PID)],
            stdin=subprocess.DEVNULL, stdout=logf, stderr=logf, start_new_session=True, close_fds=True,
        )  # fmt: skip
    # The fleet writes its PID file once every simulator listens.
    for _ in range(300):
        if pid_alive(DEVICES_PID, "python"):
            log("simulated devices up on loopback (lab/devices/fleet.py)")
            return
        time.sleep(0.2)
    die(f"the simulated devices did not start; see {DEVICES_DIR / 'fleet.log'}")


def stop_devices() -> None:
    stop_pid_file_server(DEVICES_PID, "simulated devices")


def cmd_av_mirror(args) -> None:
    """Build (or reuse) and serve the lab ClamAV database; --bump publishes a new version."""
    with shared_state_lock():
        prepare_machine()
        ensure_image()
        ensure_network()
        ensure_proxy()
    ensure_avmirror(bump=args.bump)


def stop_tsa() -> None:
    stop_pid_file_server(TSA_PID, "TSA")


# --------------------------------------------------------------------------- hosts
def ensure_ssh_key() -> None:
    SSH_DIR.mkdir(parents=True, exist_ok=True, mode=0o700)
    if not SSH_KEY.exists():
        run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", "belediye-lab", "-f", str(SSH_KEY)])
    pub = SSH_KEY.with_suffix(".pub").read_text()
    (SSH_DIR / "authorized_keys").write_text(pub)
    os.chmod(SSH_DIR / "authorized_keys", 0o644)
    KNOWN_HOSTS.touch()


def forget_host_key(address: str) -> None:
    run(["ssh-keygen", "-f", str(KNOWN_HOSTS), "-R", address], check=False, quiet=True)


def group_members(inventory: dict, group: str) -> list[str]:
    """Hosts of a group and its children, from `ansible-inventory --list` output."""
    node = inventory.get(group, {})
    found = set(node.get("hosts", []))
    for child in node.get("children", []):
        found |= set(group_members(inventory, child))
    return sorted(found)


def lab_inventory_hosts() -> dict[str, dict]:
    """The lab hosts: every host of group `linux` in inventories/lab, with its address and flavour."""
    res = run(
        [str(ROOT / ".venv" / "bin" / "ansible-inventory"), "-i", str(ROOT / "inventories" / "lab"), "--list"],
        env=dict(os.environ, ANSIBLE_CONFIG=str(ROOT / "ansible.cfg")),
        cwd=ROOT,
    )
    inv = json.loads(res.stdout)
    hostvars = inv.get("_meta", {}).get("hostvars", {})
    hosts = {}
    for name in group_members(inv, "linux"):
        hv = hostvars.get(name, {})
        addr = hv.get("ansible_host")
        if not addr or ipaddress.ip_address(addr) not in SUBNET:
            die(f"lab host {name}: ansible_host {addr!r} is not in the lab subnet {SUBNET}")
        hosts[name] = {
            "address": addr,
            "flavour": hv.get("lab_flavour", "debian"),
            "lans": segment_addresses(name, hv),
            "domain": hv.get("lab_domain", ""),
        }
    return hosts


def segment_addresses(name: str, hostvars: dict) -> dict[str, str]:
    """{segment key: the host's address (CIDR) or 'dhcp'} from lab_<key>_lan; dies on a bad value."""
    lans = {}
    for seg in SEGMENTS:
        var = f"lab_{seg.key}_lan"
        lan = hostvars.get(var)
        if lan is None:
            continue
        if lan == "dhcp" and seg.dhcp:
            lans[seg.key] = lan
            continue
        try:
            iface = ipaddress.ip_interface(lan)
        except ValueError:
            wanted = "neither 'dhcp' nor an address" if seg.dhcp else "not an address"
            die(f"lab host {name}: {var} {lan!r} is {wanted} with prefix")
        if iface.network.prefixlen == 32:
            die(f"lab host {name}: {var} {lan!r} needs its prefix length (e.g. /24)")
        lans[seg.key] = lan
    return lans


def container_info(name: str) -> dict | None:
    res = podman("container", "inspect", name, check=False, quiet=True)
    if res.returncode != 0:
        return None
    return json.loads(res.stdout)[0]


def create_host(
    container: str, hostname: str, address: str | None, flavour: str, role: str, lans: tuple[str, ...] = ()
) -> str:
    """Create and start one host; returns its address. Any old container of that name is replaced."""
    if container_info(container):
        podman("rm", "--force", "--time", "2", container, check=False)
    args = [
        "create",
        "--name",
        container,
        "--hostname",
        hostname,
        "--label",
        f"{LABEL}={role}",
        "--label",
        f"{LABEL}.flavour={flavour}",
        "--runtime",
        "runc",
        "--pull",
        "never",
        "--systemd",
        "always",
        "--network",
        f"{NETWORK}:ip={address}" if address else NETWORK,
        "--dns",
        "127.0.0.1",
        "--no-hosts",
        "--cap-add",
        "NET_ADMIN",
        "--cap-add",
        "NET_RAW",  # DHCP servers and clients use packet sockets
        "--volume",
        f"{SSH_DIR / 'authorized_keys'}:/home/{SSH_USER}/.ssh/authorized_keys:ro",
    ]
    for seg in SEGMENTS:
        if seg.key in lans:
            args += ["--network", f"{seg.network}:interface_name={seg.interface}"]
    podman(*args, image_ref(), "/sbin/init")
    # Files a host needs before it boots: its apt proxy, and for a Pardus desktop Pardus's identity.
    proxy = STATE / "01proxy"
    proxy.write_text(apt_proxy_conf())
    podman("cp", str(proxy), f"{container}:/etc/apt/apt.conf.d/01proxy")
    if flavour == "pardus":
        podman("cp", str(LAB / "pardus" / "os-release"), f"{container}:/usr/lib/os-release")
        podman("cp", str(LAB / "pardus" / "lsb-release"), f"{container}:/etc/lsb-release")
    podman("start", container)
    info = container_info(container)
    got = info["NetworkSettings"]["Networks"][NETWORK]["IPAddress"]
    forget_host_key(got)
    return got


def host_is_current(container: str, address: str, flavour: str, lans: tuple[str, ...] = ()) -> bool:
    info = container_info(container)
    if not info or info["State"]["Status"] != "running":
        return False
    labels = info["Config"].get("Labels") or {}
    nets = info.get("NetworkSettings", {}).get("Networks", {})
    return (
        info["ImageName"] == image_ref()
        and labels.get(f"{LABEL}.flavour") == flavour
        and nets.get(NETWORK, {}).get("IPAddress") == address
        and all((seg.network in nets) == (seg.key in lans) for seg in SEGMENTS)
    )


def wait_for_ssh(addresses: dict[str, str], timeout: float = 300) -> None:
    """Wait until every host has booted and answers SSH with the lab key.

    A login can hang for up to about two minutes on a running lab host: while the automation
    account's systemd user manager is still stopping from its last session, a new session waits
    for it, and in a container that stop runs into its timeout (cgroup v1 without a release agent,
    see tests/integration/test_lab.py). A hung attempt is therefore only a "not yet"."""
    pending = dict(addresses)
    deadline = time.monotonic() + timeout
    while pending and time.monotonic() < deadline:
        for name, addr in list(pending.items()):
            try:
                res = subprocess.run(
                    ssh_command(addr) + ["systemctl is-system-running --wait >/dev/null 2>&1; true"],
                    stdin=subprocess.DEVNULL,
                    capture_output=True,
                    timeout=60,
                )
            except subprocess.TimeoutExpired:
                log(f"{name}: no answer over SSH within 60s yet, trying again")
                continue
            if res.returncode == 0:
                del pending[name]
        if pending:
            time.sleep(0.5)
    if pending:
        die(f"hosts did not answer SSH within {timeout:.0f}s: {', '.join(sorted(pending))}")


def ssh_command(address: str) -> list[str]:
    return [
        "ssh",
        "-i",
        str(SSH_KEY),
        "-o",
        "BatchMode=yes",
        "-o",
        "ConnectTimeout=3",
        "-o",
        "StrictHostKeyChecking=accept-new",
        "-o",
        f"UserKnownHostsFile={KNOWN_HOSTS}",
        f"{SSH_USER}@{address}",
    ]


def write_ssh_config(hosts: dict[str, dict]) -> None:
    """.lab/ssh/config: `ssh -F .lab/ssh/config app01` for people, and testinfra's SSH backend for tests."""
    lines = ["# generated by lab/labctl.py up", ""]
    for name, h in sorted(hosts.items()):
        lines += [
            f"Host {name}",
            f"    HostName {h['address']}",
            f"    User {SSH_USER}",
            f"    IdentityFile {SSH_KEY}",
            "    IdentitiesOnly yes",
            f"    UserKnownHostsFile {KNOWN_HOSTS}",
            "    StrictHostKeyChecking accept-new",
            "    BatchMode yes",
            "    ControlMaster auto",
            f"    ControlPath {SSH_DIR}/cm-%r@%h:%p",
            "    ControlPersist 60s",
            "",
        ]
    (SSH_DIR / "config").write_text("\n".join(lines))


def lab_containers(role: str | None = None) -> list[str]:
    flt = f"label={LABEL}" if role is None else f"label={LABEL}={role}"
    res = podman("ps", "-a", "--filter", flt, "--format", "{{.Names}}")
    return [n for n in res.stdout.split() if n]


# --------------------------------------------------------------------------- commands
def cmd_image(_args) -> None:
    prepare_machine()
    t0 = time.monotonic()
    ref = ensure_image()
    log(f"image ready: {ref} ({time.monotonic() - t0:.1f}s)")


def cmd_up(args) -> None:
    t0 = time.monotonic()
    # Under the lock that molecule's scenarios take: they may be creating instances on the same
    # network and proxy right now (a scenario run by hand while the lab comes up, or two runs).
    with shared_state_lock():
        ensure_shared_state()
        hosts = lab_inventory_hosts()
        if args.hosts:
            unknown = set(args.hosts) - set(hosts)
            if unknown:
                die(f"not lab hosts: {', '.join(sorted(unknown))}")
            hosts = {k: v for k, v in hosts.items() if k in args.hosts}
        # Leftover lab containers of hosts no longer in the inventory.
        wanted = {CONTAINER_PREFIX + h for h in hosts}
        if not args.hosts:
            for stale in set(lab_containers("host")) - wanted:
                log(f"removing stale container {stale}")
                podman("rm", "--force", "--time", "2", stale, check=False)
        for seg in SEGMENTS:
            if any(seg.key in h["lans"] for h in hosts.values()):
                ensure_segment_network(seg)
        started = {}
        for name, h in hosts.items():
            container = CONTAINER_PREFIX + name
            lans = tuple(sorted(h["lans"]))
            if host_is_current(container, h["address"], h["flavour"], lans):
                continue
            extra = "".join(f", {k} LAN" for k in lans)
            log(f"starting {name} ({h['address']}, {h['flavour']}{extra})")
            create_host(container, name, h["address"], h["flavour"], "host", lans)
            started[name] = h["address"]
        for name, h in hosts.items():
            for seg in SEGMENTS:
                lan = h["lans"].get(seg.key)
                if lan and lan != "dhcp":
                    ensure_segment_address(CONTAINER_PREFIX + name, seg, lan)
    check_pki(hosts)
    ensure_tsa()
    ensure_avmirror()
    ensure_devices()
    wait_for_ssh({n: h["address"] for n, h in hosts.items()})
    write_ssh_config(lab_inventory_hosts() if args.hosts else hosts)
    log(f"lab up: {len(hosts)} hosts ({len(started)} started) in {time.monotonic() - t0:.1f}s")


def scale_hosts(count: int) -> dict[str, dict]:
    """The scale benchmark's hosts scale01..scaleNN, in the shape lab_inventory_hosts() returns."""
    return {
        f"scale{i:02d}": {
            "address": str(SUBNET.network_address + SCALE_FIRST + i - 1),
            "flavour": "debian",
            "lans": {},
            "domain": "",
        }
        for i in range(1, count + 1)
    }


def write_scale_inventory(hosts: dict[str, dict]) -> Path:
    """.lab/scale/hosts.yml: the scale hosts as plain servers, read beside inventories/lab (whose group_vars
    then apply to them too); their certificates are under .lab/scale/files/pki, the inventory_dir's files/pki
    that the lab's group_vars name."""
    lines = [
        "# generated by lab/labctl.py scale: use with -i inventories/lab -i .lab/scale/hosts.yml",
        "all:",
        "  children:",
        "    linux:",
        "      children:",
        "        servers:",
        "          children:",
        "            scale_servers:",
        "              hosts:" + ("" if hosts else " {}"),
    ]
    for name, h in sorted(hosts.items()):
        lines += [f"                {name}:", f"                  ansible_host: {h['address']}"]
    path = SCALE_DIR / "hosts.yml"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("\n".join(lines) + "\n")
    return path


def cmd_scale(args) -> None:
    """Exactly COUNT scale hosts: the missing ones are started, the ones above COUNT removed."""
    if not 0 <= args.count <= SCALE_MAX:
        die(f"scale: COUNT must be 0..{SCALE_MAX} (10.231.0.{SCALE_FIRST} up to the molecule range), not {args.count}")
    t0 = time.monotonic()
    wanted = scale_hosts(args.count)
    started = []
    with shared_state_lock():
        ensure_shared_state()
        surplus = sorted(set(lab_containers("scale")) - {CONTAINER_PREFIX + n for n in wanted})
        if surplus:
            log(f"removing {len(surplus)} scale hosts: {', '.join(surplus)}")
            podman("rm", "--force", "--time", "2", *surplus, check=False)
        for name, h in wanted.items():
            if not host_is_current(CONTAINER_PREFIX + name, h["address"], h["flavour"]):
                create_host(CONTAINER_PREFIX + name, name, h["address"], h["flavour"], "scale")
                started.append(name)
    if started:
        log(f"started {len(started)} scale hosts: {', '.join(started)}")
    issued = ensure_pki(wanted, SCALE_DIR / "files" / "pki") if wanted else []
    inventory = write_scale_inventory(wanted)
    wait_for_ssh({n: h["address"] for n, h in wanted.items()})
    write_ssh_config({**lab_inventory_hosts(), **wanted})
    log(
        f"scale: {len(wanted)} hosts ({len(started)} started, {len(issued)} certificates issued) in "
        f"{time.monotonic() - t0:.1f}s; inventory {inventory.relative_to(ROOT)}"
    )


def cmd_down(_args) -> None:
    t0 = time.monotonic()
    names = lab_containers()
    if names:
        podman("rm", "--force", "--time", "2", *names, check=False)
    for net in (NETWORK, *(seg.network for seg in SEGMENTS)):
        if podman("network", "exists", net, check=False, quiet=True).returncode == 0:
            podman("network", "rm", "--force", net, check=False)
    for seg in SEGMENTS:
        if link_exists(seg.bridge):
            run(["ip", "link", "del", seg.bridge], check=False)
    stop_tsa()
    stop_avmirror()
    stop_devices()
    stop_proxy()
    delete_bridge()
    if KNOWN_HOSTS.exists():
        KNOWN_HOSTS.unlink()
    (SCALE_DIR / "hosts.yml").unlink(missing_ok=True)
    log(f"lab down: removed {len(names)} containers, network, bridge and proxy in {time.monotonic() - t0:.1f}s")


def cmd_status(_args) -> None:
    res = podman("ps", "-a", "--filter", f"label={LABEL}", "--format", "{{.Names}}\t{{.Status}}\t{{.Labels}}")
    print(res.stdout.strip() or "no lab containers")
    net = podman("network", "exists", NETWORK, check=False, quiet=True).returncode == 0
    print(f"network {NETWORK}: {'present' if net else 'absent'}")
    print(f"bridge {BRIDGE}: {'present' if link_exists(BRIDGE) else 'absent'}")
    print(f"apt proxy: {'running' if pid_alive(SQUID_PID, 'squid') else 'stopped'}")
    print(f"TSA: {'running on ' + GATEWAY + ':' + str(TSA_PORT) if pid_alive(TSA_PID, 'python') else 'stopped'}")
    mirror = pid_alive(AVMIRROR_PID, "python")
    version = avmirror.read_version(AVMIRROR_CACHE)
    print(f"AV mirror: {f'running on {GATEWAY}:{AVMIRROR_PORT}, version {version}' if mirror else 'stopped'}")


@contextlib.contextmanager
def shared_state_lock():
    """Serialise changes to the machine-wide lab state (network, proxy, known_hosts, containers).

    Molecule scenarios may run side by side (scripts/test.sh runs two at a time); each creates
    its own containers, but they share the network, the apt proxy and the known_hosts file.
    """
    STATE.mkdir(parents=True, exist_ok=True)
    with open(STATE / "labctl.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)


def cmd_prepare(_args) -> None:
    """What every molecule scenario needs before it starts: image, SSH key, network, proxy and the
    AV mirror (its build takes its own lock, so other scenarios are not held up by it)."""
    with shared_state_lock():
        ensure_shared_state()
    ensure_avmirror()


def ensure_shared_state() -> None:
    """What the lab's hosts and molecule's instances share; called under shared_state_lock()."""
    prepare_machine()
    ensure_image()
    ensure_ssh_key()
    ensure_network()
    ensure_proxy()


def cmd_molecule_create(args) -> None:
    """Create molecule instances on the lab network and write molecule's instance config."""
    cmd_prepare(args)
    instances = []
    addresses = {}
    for spec in args.names:
        name, _, flavour = spec.partition(":")
        flavour = flavour or "debian"
        container = f"mol-{name}"
        with shared_state_lock():
            addr = create_host(container, name, None, flavour, "molecule")
        addresses[name] = addr
        instances.append(
            {
                "instance": name,
                "address": addr,
                "user": SSH_USER,
                "port": 22,
                "identity_file": str(SSH_KEY),
                "become_method": "sudo",
            }
        )
    wait_for_ssh(addresses)
    Path(args.instance_config).write_text(json.dumps(instances, indent=2) + "\n")
    log(f"molecule instances ready: {', '.join(f'{k}={v}' for k, v in addresses.items())}")


def cmd_molecule_destroy(args) -> None:
    names = [f"mol-{n.partition(':')[0]}" for n in args.names]
    existing = [n for n in names if container_info(n)]
    if existing:
        with shared_state_lock():
            podman("rm", "--force", "--time", "2", *existing, check=False)


def cmd_ssh_config(_args) -> None:
    """Print the SSH options the lab inventory uses (for humans: `ssh $(labctl.py ssh-config) ansible@IP`)."""
    print(" ".join(ssh_command("HOST")[:-1]))


def main() -> None:
    if os.geteuid() != 0:
        die("the lab uses rootful podman: run as root")
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    sub = p.add_subparsers(dest="cmd", required=True)
    sub.add_parser("image").set_defaults(func=cmd_image)
    up = sub.add_parser("up")
    up.add_argument("hosts", nargs="*")
    up.set_defaults(func=cmd_up)
    sub.add_parser("down").set_defaults(func=cmd_down)
    sub.add_parser("status").set_defaults(func=cmd_status)
    sub.add_parser("ssh-config").set_defaults(func=cmd_ssh_config)
    sub.add_parser("prepare").set_defaults(func=cmd_prepare)
    mc = sub.add_parser("molecule-create")
    mc.add_argument("--instance-config", required=True)
    mc.add_argument("names", nargs="+")
    mc.set_defaults(func=cmd_molecule_create)
    md = sub.add_parser("molecule-destroy")
    md.add_argument("names", nargs="+")
    md.set_defaults(func=cmd_molecule_destroy)
    sc = sub.add_parser("scale", help="COUNT extra Debian servers for the scale benchmark (bench/scale.py)")
    sc.add_argument("count", type=int)
    sc.set_defaults(func=cmd_scale)
    sub.add_parser("pki").set_defaults(func=cmd_pki)
    sub.add_parser("tsa-start").set_defaults(func=lambda _a: ensure_tsa())
    sub.add_parser(
        "devices", help="start the simulated cameras, PDKS terminals, X-ray scanners and Windows hosts"
    ).set_defaults(func=lambda _a: ensure_devices())
    sub.add_parser("devices-stop").set_defaults(func=lambda _a: stop_devices())
    sub.add_parser("tsa-stop").set_defaults(func=lambda _a: stop_tsa())
    av = sub.add_parser("av-mirror", help="build (once) and serve the lab ClamAV signature database")
    av.add_argument("--bump", action="store_true", help="build and serve the next version of the database")
    av.set_defaults(func=cmd_av_mirror)
    args = p.parse_args()
    args.func(args)


if __name__ == "__main__":
    main()
