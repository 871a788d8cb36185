# -*- coding: utf-8 -*-
# Copyright: (c) 2026, gridnet.tenant contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""A network resource's state: the input checked, the state desired, the state read.

Both states have the same shape, so the diff is a comparison and --diff shows
exactly what would change:

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

from ansible_collections.gridnet.tenant.plugins.module_utils import babel, netns, relay, routes, rules, steering
from ansible_collections.gridnet.tenant.plugins.module_utils.convergence import public
from ansible_collections.gridnet.tenant.plugins.module_utils.errors import InputError
from ansible_collections.gridnet.tenant.plugins.module_utils.keys import public_key as derive_public_key
from ansible_collections.gridnet.tenant.plugins.module_utils.names import PREFIXES, WIREGUARD_PREFIX
from ansible_collections.gridnet.tenant.plugins.module_utils.netlink import IFF_UP, addresses_by_index, kind, link_basics
from ansible_collections.gridnet.tenant.plugins.module_utils.wireguard import backend_for_kind

NAMESPACE_SYSCTLS = {
    "net.ipv6.conf.all.forwarding": "1",
    "net.ipv4.ip_forward": "1",
    # links moved in later take these: no kernel-made addresses, no DAD delay
    "net.ipv6.conf.default.addr_gen_mode": "1",
    "net.ipv6.conf.default.accept_dad": "0",
    # a device that comes up or changes its MAC announces it (unsolicited NA, gratuitous ARP):
    # workloads and peers update their neighbour entries at once instead of after their timeouts
    "net.ipv6.conf.all.ndisc_notify": "1",
    "net.ipv4.conf.all.arp_notify": "1",
}
ABSENT = {"namespace": False, "sysctls": {}, "bridge": None, "veth": None,
          "wireguard": {}, "vxlan": None, "routes": {}, "relay": {}, "babel": None}
REQUIRED = ("netid", "namespace", "bridge", "veth_host", "veth_ns", "prefix", "gateway6", "link_local", "mtu",
            "connected")
NAME_FIELDS = ("namespace", "bridge", "veth_host", "veth_ns")


def validate(resource, state):
    """Refuse bad input by name, before the node is touched."""
    needed = ("netid", "namespace", "bridge", "veth_host") if state == "absent" else REQUIRED
    missing = [k for k in needed if resource.get(k) in (None, "")]
    if missing:
        raise InputError("resource lacks %s (pass an item of plan.nodes[host].resources)" % ", ".join(missing))
    for field in NAME_FIELDS:
        if field in resource:
            rules.check_ifname(str(resource[field]), "resource %s" % field)
    for link in resource.get("connected", []) if state == "present" else []:
        what = "link to %s" % link.get("peer")
        rules.check_ifname(link.get("interface", ""), what)
        if link.get("connection") == "wireguard":
            rules.check_public_key(link.get("public_key") or "", what)
    if state == "present":
        relay.check(resource)
        babel.validate(resource)


def desired_state(resource, private_key):
    own_public = derive_public_key(private_key) if private_key else None
    link_local = resource["link_local"] + "/64"
    wireguard = {}
    wanted_routes = {}
    vxlan = None
    static = not resource.get("babel")  # with babel, babeld installs the routes
    for link in resource["connected"]:
        for prefix in link["prefixes"] if static else ():
            wanted_routes[prefix] = routes.route(link["peer_link_local"], link["interface"])
        if link["connection"] == "wireguard":
            wireguard[link["interface"]] = {
                "mtu": link["mtu"],
                "up": True,
                "addresses": [link_local],
                "listen_port": link["listen_port"],
                "public_key": own_public,
                "peer": {
                    "public_key": link["public_key"],
                    "endpoint": link["endpoint"],
                    "allowed_ips": sorted(link["allowed_ips"]),
                    "persistent_keepalive": relay.KEEPALIVE if link.get("relay")
                    else resource.get("persistent_keepalive", 0),
                },
            }
    if resource.get("vxlan"):
        device = resource["vxlan"]
        vxlan = {
            "name": device["name"],
            "vni": device["vni"],
            "local": device["local"],
            "port": device["port"],
            "mtu": device["mtu"],
            "up": True,
            "addresses": [link_local],
            "group": device.get("group"),
            "remotes": [] if device.get("group") else
            sorted(c["remote"] for c in resource["connected"] if c["connection"] == "localvxlan"),
        }
        vxlan.update(_mac(resource, "vxlan"))
    for route in resource.get("routes", []):
        wanted_routes[route["dst"]] = routes.route(route["gateway"], route["interface"])
    # the link-local is needed for Neighbour Discovery towards workloads (the kernel adds none: addr_gen_mode 1)
    addresses = [resource["gateway6"], link_local] + ([resource["gateway4"]] if resource.get("gateway4") else [])
    return {
        "namespace": True,
        "sysctls": dict(NAMESPACE_SYSCTLS),
        "bridge": dict({"mtu": resource["mtu"], "up": True}, **_mac(resource, "bridge")),
        "veth": dict({"mtu": resource["mtu"], "up": True, "addresses": sorted(addresses)}, **_mac(resource, "veth_ns")),
        "wireguard": wireguard,
        "vxlan": vxlan,
        "routes": dict(sorted(wanted_routes.items())),
        "babel": babel.desired(resource),
    }


def _mac(resource, kind, link=None):
    """{"mac": ...} of a device, wanted (from the plan) or read (from `link`), when the plan gives one; else {}."""
    if kind not in (resource.get("macs") or {}):
        return {}
    return {"mac": resource["macs"][kind] if link is None else link.get_attr("IFLA_ADDRESS")}


def read_state(node, resource, expected_private_key=None, expected_public_key=None, wireguard_binary="wireguard-go"):
    """The resource as the kernel has it now, in the shape of desired_state()."""
    state = dict(ABSENT, namespace=netns.exists(resource["namespace"]), wireguard={}, _kinds={})
    bridge = node.link_lookup(ifname=resource["bridge"])
    if bridge:
        link = node.get_links(bridge[0])[0]
        state["bridge"] = dict({"mtu": link.get_attr("IFLA_MTU"), "up": bool(link["flags"] & IFF_UP)},
                               **_mac(resource, "bridge", link))
    host = node.link_lookup(ifname=resource["veth_host"])
    state["_veth_host"] = node.get_links(host[0])[0] if host else None
    state["babel"] = babel.read(resource)
    if not state["namespace"]:
        return state
    state["sysctls"] = netns.run_inside(resource["namespace"], netns.read_sysctls, list(NAMESPACE_SYSCTLS))
    with netns.open_namespace(resource["namespace"]) as ns:
        by_index = addresses_by_index(ns)
        for link in ns.get_links():
            name = link.get_attr("IFLA_IFNAME")
            state["_kinds"][name] = kind(link)
            if name == resource["veth_ns"]:
                state["veth"] = dict(link_basics(ns, link, by_index), **_mac(resource, "veth_ns", link))
            elif name.startswith(WIREGUARD_PREFIX) and kind(link) in ("wireguard", "tun"):
                config = backend_for_kind(kind(link), wireguard_binary).read(name, resource["namespace"])
                state["wireguard"][name] = _wireguard_entry(link_basics(ns, link, by_index), config,
                                                            expected_private_key, expected_public_key)
            elif resource.get("vxlan") and name == resource["vxlan"]["name"] or \
                    name.startswith(PREFIXES["vxlan"]) and kind(link) == "vxlan":
                state["vxlan"] = dict(_vxlan_entry(ns, link, name, link_basics(ns, link, by_index)),
                                      **_mac(resource, "vxlan", link))
        state["routes"] = routes.read(ns, rules.ROUTE_PROTO)
    tuns = [name for name, link_kind in state["_kinds"].items() if link_kind == "tun" and name in state["wireguard"]]
    if tuns:  # steering.py: only the namespace's own sysfs shows it
        for name, mask in netns.run_inside(resource["namespace"], steering.read, tuns, sysfs=True).items():
            state["wireguard"][name]["_rps"] = mask
    return state


def _wireguard_entry(entry, config, expected_private_key, expected_public_key):
    entry["listen_port"] = config["listen_port"]
    if "udp_buffer" in config:  # wireguard-go's, where it can be read: userspace_tuning.py raises it
        entry["_udp_buffer"] = config["udp_buffer"]
    if config["private_key"] is None:
        entry["public_key"] = None
    elif config["private_key"] == expected_private_key:
        entry["public_key"] = expected_public_key
    else:
        entry["public_key"] = derive_public_key(config["private_key"])
    peers = config["peers"]
    entry["peer"] = next(iter(peers.values())) if len(peers) == 1 else None
    if entry["peer"] is not None:
        entry["peer"]["public_key"] = next(iter(peers))
        entry["_last_handshake"] = entry["peer"].pop("last_handshake")
    elif peers:
        entry["peer"] = {"public_keys": sorted(peers)}  # never ours: one peer per link
    return entry


def _vxlan_entry(ns, link, name, entry):
    data = link.get_attr("IFLA_LINKINFO").get_attr("IFLA_INFO_DATA")
    group = data.get_attr("IFLA_VXLAN_GROUP6") or data.get_attr("IFLA_VXLAN_GROUP")
    entry.update({
        "name": name,
        "vni": data.get_attr("IFLA_VXLAN_ID"),
        "local": data.get_attr("IFLA_VXLAN_LOCAL6") or data.get_attr("IFLA_VXLAN_LOCAL"),
        "port": data.get_attr("IFLA_VXLAN_PORT"),
        "group": group,
        # the group itself is the device's default fdb entry, not a peer
        "remotes": sorted(
            f.get_attr("NDA_DST") for f in ns.fdb("dump", ifindex=link["index"])
            if f.get_attr("NDA_LLADDR") == "00:00:00:00:00:00" and f.get_attr("NDA_DST")
            and f.get_attr("NDA_DST") != group),
    })
    return entry


def comparable(desired, actual):
    """Actual state as desired would see it: an endpoint learned from a peer that
    dials us (we have none for it) is the peer's business, not a difference."""
    actual = public(actual)
    actual["wireguard"] = dict(sorted(actual["wireguard"].items()))
    for name, link in actual["wireguard"].items():
        wanted = desired["wireguard"].get(name)
        if wanted and link.get("peer") and wanted["peer"]["endpoint"] is None:
            link["peer"] = dict(link["peer"], endpoint=None)
    return actual
