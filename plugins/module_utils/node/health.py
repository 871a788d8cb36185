# -*- coding: utf-8 -*-
# Copyright: (c) 2026, gridnet.tenant contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The health figures of a node's network resources: what each link and exit is doing now.

Read from the node's records (which links a resource should have, to whom)
and the kernel, cheaply, because the node agent reads them every few seconds
(metrics.py): per resource one netlink socket in its namespace (links and
routes), one UAPI or generic netlink read per WireGuard link, one `dump` of
babeld's control socket, and for an exit one `nft` listing of its counters.
Nothing here judges: the figures are raw (epoch seconds, byte and packet
counts, babeld's reach and cost), and the controller's health view
(plugin_utils/verify/health.py) or Prometheus decides what is too old.

    {"network", "namespace", "time": the node's clock,
     "links": {peer: {"interface", "connection", "present", "up", "public_key", "allowed_ips", "last_handshake",
                      "rx_bytes", "tx_bytes", "keepalive", "babel": {"reach", "cost", "rxcost", "txcost"} | None,
                      "routes": [destinations routed through this peer]}},
     "babel": {"running", "routes_installed"} | None,
     "exit": {counter: {"packets", "bytes"}} | None}
"""

from __future__ import annotations

import json
import subprocess
import time

from ansible_collections.gridnet.tenant.plugins.module_utils.common import rules
from ansible_collections.gridnet.tenant.plugins.module_utils.node import babel, netns, records, routes
from ansible_collections.gridnet.tenant.plugins.module_utils.node.netlink import kind
from ansible_collections.gridnet.tenant.plugins.module_utils.node.wireguard import backend_for_kind

BABEL_ROUTE_PROTO = 42  # RTPROT_BABEL: babeld's routes in the kernel, by its default protocol number
IFF_UP = 0x1


def _kernel_view(wireguard_binary):
    """Inside the resource's namespace: {ifname: (up, kind)}, [(dst, record)] of our and babeld's routes, and
    the kernel WireGuard links' configurations (read on this thread: it is in the namespace)."""
    from ansible_collections.gridnet.tenant.plugins.module_utils.node.pyroute import IPRoute

    with IPRoute() as ipr:
        dumped = ipr.get_links()
        links = {link.get_attr("IFLA_IFNAME"): (bool(link["flags"] & IFF_UP) and link.get_attr("IFLA_OPERSTATE")
                                                != "DOWN", kind(link)) for link in dumped}
        names = {link["index"]: link.get_attr("IFLA_IFNAME") for link in dumped}
        found = list(routes.entries(ipr, (rules.ROUTE_PROTO, rules.EXIT_ROUTE_PROTO, BABEL_ROUTE_PROTO), names=names))
    kernel = {name: backend_for_kind("wireguard").read(name) for name, (_up, k) in links.items() if k == "wireguard"}
    return links, found, kernel


def _babel_view(namespace):
    if babel.running_pid(namespace) is None:
        return {"running": False, "routes_installed": 0}, {}
    try:
        view = babel.dump(namespace)
    except OSError:
        return {"running": True, "routes_installed": 0, "error": "its control socket did not answer"}, {}
    neighbours = {(n.get("if"), n.get("address")): n for n in view["neighbours"]}
    installed = sum(1 for r in view["routes"] if r["origin"] == "learnt" and r.get("installed") == "yes")
    return {"running": True, "routes_installed": installed}, neighbours


def _number(text):
    try:
        return int(text, 10)
    except (TypeError, ValueError):
        return None


def read_resource(plan, wireguard_binary="wireguard-go"):
    """The health figures of one resource (its recorded plan entry), as the module docstring shows them."""
    namespace = plan["namespace"]
    links, found, kernel = netns.run_inside(namespace, _kernel_view, wireguard_binary)
    babel_state, neighbours = _babel_view(namespace) if plan.get("babel") else (None, {})
    out = {}
    for link in plan.get("connected", []):
        name = link["interface"]
        up, link_kind = links.get(name, (False, None))
        entry = {"interface": name, "connection": link["connection"], "present": name in links, "up": up,
                 "babel": None, "routes": sorted({dst for dst, r in found
                                                  if r["dev"] == name and r["via"] == link["peer_link_local"]})}
        if link["connection"] == "wireguard":
            entry.update(public_key=link.get("public_key"), allowed_ips=sorted(link.get("allowed_ips") or []),
                         last_handshake=0, rx_bytes=0, tx_bytes=0, keepalive=0)
            if link_kind in ("wireguard", "tun"):
                try:
                    config = kernel[name] if name in kernel else backend_for_kind(link_kind, wireguard_binary).read(
                        name, buffers=False)
                    peer = config["peers"].get(link.get("public_key")) or {}
                except (OSError, KeyError, ValueError):  # the link went while we read it: its figures stay 0
                    peer = {}
                entry.update({k: peer.get(k, 0) for k in ("last_handshake", "rx_bytes", "tx_bytes")},
                             keepalive=peer.get("persistent_keepalive", 0))
        if babel_state is not None:
            neighbour = neighbours.get((name, link["peer_link_local"]))
            entry["babel"] = None if neighbour is None else dict(
                {k: _number(neighbour.get(k)) for k in ("cost", "rxcost", "txcost")}, reach=neighbour.get("reach"))
        out[link["peer"]] = entry
    return {"network": plan["netid"], "namespace": namespace, "time": int(time.time()), "links": out,
            "babel": babel_state, "exit": None}


def exit_counters(plan, nft="nft"):
    """{counter name: {"packets", "bytes"}} of an exit's table (its named counters), {} when it has none."""
    def listing():
        return subprocess.run([nft, "-j", "list", "counters", "table", "inet", plan["table"]],
                              capture_output=True, text=True, check=False)
    result = netns.run_inside(plan["namespace"], listing)
    if result.returncode != 0:
        return {}
    counters = {}
    for item in json.loads(result.stdout).get("nftables", []):
        counter = item.get("counter")
        if counter and counter.get("table") == plan["table"]:
            counters[counter["name"]] = {"packets": counter.get("packets", 0), "bytes": counter.get("bytes", 0)}
    return counters


def read_node(state_dir=records.STATE_DIR, namespace=None):
    """Every recorded resource's figures (only `namespace`'s when given), its exit's counters folded in; a
    resource whose namespace is gone is reported with every link absent. Each is read with the options it
    was converged with (its wireguard-go, its nft)."""
    entries, _broken = records.recorded(state_dir)
    out, present = [], {}  # present: namespace -> the figures of a resource whose namespace exists
    for entry in entries:  # resources first (records.recorded's order), then exits
        if namespace is not None and entry["namespace"] != namespace:
            continue
        if entry["kind"] == "exit":
            if entry["namespace"] in present:
                present[entry["namespace"]]["exit"] = exit_counters(entry["plan"], entry["options"].get("nft", "nft"))
        elif not netns.exists(entry["namespace"]):
            out.append(_absent(entry["plan"]))
        else:
            out.append(read_resource(entry["plan"], entry["options"].get("wireguard_go", "wireguard-go")))
            present[entry["namespace"]] = out[-1]
    return out


def _absent(plan):
    links = {link["peer"]: {"interface": link["interface"], "connection": link["connection"], "present": False,
                            "up": False, "babel": None, "routes": []} for link in plan.get("connected", [])}
    return {"network": plan["netid"], "namespace": plan["namespace"], "time": int(time.time()), "links": links,
            "babel": {"running": False, "routes_installed": 0} if plan.get("babel") else None, "exit": None}
