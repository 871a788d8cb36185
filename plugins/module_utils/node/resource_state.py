# -*- coding: utf-8 -*-
# Copyright: (c) 2026, gridnet.tenant contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""A network resource's state: its shape, what every resource must give, and its state when absent.

Each key is a part's (parts/): desired and read in the same shape, so the
diff is a comparison and --diff shows exactly what would change:

    {"namespace": bool, "sysctls": {...},
     "bridge": {"mtu", "up", "mac"}, "veth": {"mtu", "up", "addresses", "mac"},
     "wireguard": {ifname: {"mtu", "up", "addresses", "listen_port", "public_key",
                            "peer": {"public_key", "endpoint", "allowed_ips", "persistent_keepalive"}}},
     "vxlan": {"name", "vni", "local", "port", "mtu", "up", "addresses", "group", "remotes", "mac"} | None,
     "routes": {dst: {"via", "dev"}},
     "relay": {...} (relay.py), "babel": {"config": text, "running": bool} | None (babel.py)}

Private keys are compared, never shown: a link's state shows its public key.
MACs are part of both states only when the plan gives them (resource["macs"]).
Keys starting with "_" are bookkeeping for the changes, never compared.
"""

from __future__ import annotations

from ansible_collections.gridnet.tenant.plugins.module_utils.common.errors import InputError

ABSENT = {"namespace": False, "sysctls": {}, "bridge": None, "veth": None,
          "wireguard": {}, "vxlan": None, "routes": {}, "relay": {}, "babel": None}
REQUIRED = ("netid", "namespace", "bridge", "veth_host", "veth_ns", "prefix", "gateway6", "link_local", "mtu",
            "connected")


def check_required(resource, state):
    """The fields every resource needs (fewer to remove one), refused by name."""
    needed = ("netid", "namespace", "bridge", "veth_host") if state == "absent" else REQUIRED
    missing = [k for k in needed if resource.get(k) in (None, "")]
    if missing:
        raise InputError("resource lacks %s (pass an item of plan.nodes[host].resources)" % ", ".join(missing))
