#!/usr/bin/env python3
"""Inventory source that checks NetBox's address and token before netbox.yml is read.

netbox.netbox.nb_inventory answers a refused token with a bare "'netbox-version'" and a NetBox that is
down with a urllib traceback. Ansible reads the sources of this directory in name order, so this script
runs first: it asks NetBox for /api/status/ with the same token and, when that fails, exits with one
line that says which URL and what is wrong. ansible.cfg sets any_unparsed_is_failed, so a failed source
stops the run instead of leaving an empty inventory. On success it adds no host and no group.
"""

import json
import os
import sys
import urllib.error
import urllib.request


def main() -> int:
    if "--host" in sys.argv:
        print("{}")
        return 0
    url = os.environ.get("NETBOX_API", "").rstrip("/")
    token = os.environ.get("NETBOX_TOKEN") or os.environ.get("NETBOX_API_TOKEN") or ""
    if not url or not token:
        missing = " and ".join(n for n, v in (("NETBOX_API", url), ("NETBOX_TOKEN", token)) if not v)
        print(f"inventories/netbox: {missing} not set (docs/netbox.md: the URL and the vaulted token)", file=sys.stderr)
        return 1
    if not url.startswith(("http://", "https://")):
        print(f"inventories/netbox: NETBOX_API must be an http(s) URL, not {url!r}", file=sys.stderr)
        return 1
    req = urllib.request.Request(  # noqa: S310 (http or https, checked above)
        f"{url}/api/status/", headers={"Authorization": f"Token {token}", "Accept": "application/json"}
    )
    try:
        with urllib.request.urlopen(req, timeout=30) as resp:  # noqa: S310
            status = json.loads(resp.read())
    except urllib.error.HTTPError as exc:
        what = "refused the token" if exc.code in (401, 403) else "answered with an error"
        print(f"inventories/netbox: NetBox at {url} {what} (HTTP {exc.code})", file=sys.stderr)
        return 1
    except (urllib.error.URLError, OSError, ValueError) as exc:
        reason = getattr(exc, "reason", exc)
        print(f"inventories/netbox: NetBox at {url} cannot be reached: {reason}", file=sys.stderr)
        return 1
    if not str(status.get("netbox-version", "")).startswith("4."):
        print(f"inventories/netbox: {url} is not NetBox 4 (status: {status.get('netbox-version')})", file=sys.stderr)
        return 1
    print(json.dumps({"_meta": {"hostvars": {}}}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
