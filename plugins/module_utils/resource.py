# -*- coding: utf-8 -*-
# Copyright: (c) 2026, gridnet.tenant contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""One network resource on one node: desired state, actual state, diff, apply.

Both states have the same shape, so the diff is a comparison and --diff shows
exactly what would change:

    {"namespace": bool, "sysctls": {...},
     "bridge": {"mtu", "up"}, "veth": {"mtu", "up", "addresses"},
     "wireguard": {ifname: {"mtu", "up", "addresses", "listen_port", "public_key",
                            "peer": {"public_key", "endpoint", "allowed_ips", "persistent_keepalive"}}},
     "vxlan": {"name", "vni", "local", "port", "mtu", "up", "addresses", "remotes"} | None,
     "routes": {dst: "via GATEWAY dev IFNAME"}}

Links are created in the node's namespace (where this runs, so their UDP
sockets live there) and moved into the resource's namespace. Routes the
collection owns carry protocol ROUTE_PROTO, so nothing else is ever touched.
Private keys are compared, never shown: a link's state shows its public key.
"""

from __future__ import annotations

import contextlib
import errno
import socket

from ansible_collections.gridnet.tenant.plugins.module_utils import netns, records
from ansible_collections.gridnet.tenant.plugins.module_utils.names import (
    PREFIXES,
    WIREGUARD_PREFIX,
    names_for_tag,
    tag_of_namespace,
)
from ansible_collections.gridnet.tenant.plugins.module_utils.keys import public_key as derive_public_key
from ansible_collections.gridnet.tenant.plugins.module_utils.netlink import (
    IFF_UP,
    Change,
    ConvergeError,
    NetlinkError,
    apply_changes,
    index_of,
    kind,
    link_basics,
    link_changes,
    owned_routes,
)
from ansible_collections.gridnet.tenant.plugins.module_utils.wireguard import (
    WireGuardError,
    backend_for_kind,
    predict_backend,
    select_backend,
)

try:
    from pyroute2 import IPRoute
except ImportError:  # reported by the modules through missing_required_lib
    IPRoute = None

ROUTE_PROTO = 152          # "gridnet" in /etc/iproute2/rt_protos terms: routes this collection owns
NAMESPACE_SYSCTLS = {
    "net.ipv6.conf.all.forwarding": "1",
    "net.ipv4.ip_forward": "1",
    # links moved in later take these: no kernel-made addresses, no DAD delay
    "net.ipv6.conf.default.addr_gen_mode": "1",
    "net.ipv6.conf.default.accept_dad": "0",
}


ResourceError = ConvergeError


def route_text(gateway, ifname):
    return "via %s dev %s" % (gateway, ifname)


# ---------------------------------------------------------------- desired state

def desired_state(resource, private_key):
    own_public = derive_public_key(private_key) if private_key else None
    link_local = resource["link_local"] + "/64"
    wireguard = {}
    routes = {}
    vxlan = None
    for link in resource["connected"]:
        for prefix in link["prefixes"]:
            routes[prefix] = route_text(link["peer_link_local"], link["interface"])
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
                    "persistent_keepalive": resource.get("persistent_keepalive", 0),
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
    for route in resource.get("routes", []):
        routes[route["dst"]] = route_text(route["gateway"], route["interface"])
    # the link-local is needed for Neighbour Discovery towards workloads (the kernel adds none: addr_gen_mode 1)
    addresses = [resource["gateway6"], link_local] + ([resource["gateway4"]] if resource.get("gateway4") else [])
    return {
        "namespace": True,
        "sysctls": dict(NAMESPACE_SYSCTLS),
        "bridge": {"mtu": resource["mtu"], "up": True},
        "veth": {"mtu": resource["mtu"], "up": True, "addresses": sorted(addresses)},
        "wireguard": wireguard,
        "vxlan": vxlan,
        "routes": dict(sorted(routes.items())),
    }


ABSENT = {"namespace": False, "sysctls": {}, "bridge": None, "veth": None,
          "wireguard": {}, "vxlan": None, "routes": {}}


# ---------------------------------------------------------------- actual state

def read_state(node, resource, expected_private_key=None, expected_public_key=None, wireguard_binary="wireguard-go"):
    """The resource as the kernel has it now, in the shape of desired_state()."""
    state = {"namespace": netns.exists(resource["namespace"]), "sysctls": {}, "bridge": None, "veth": None,
             "wireguard": {}, "vxlan": None, "routes": {}, "_kinds": {}}
    bridge = node.link_lookup(ifname=resource["bridge"])
    if bridge:
        link = node.get_links(bridge[0])[0]
        state["bridge"] = {"mtu": link.get_attr("IFLA_MTU"), "up": bool(link["flags"] & IFF_UP)}
    host = node.link_lookup(ifname=resource["veth_host"])
    state["_veth_host"] = node.get_links(host[0])[0] if host else None
    if not state["namespace"]:
        return state
    state["sysctls"] = netns.run_inside(resource["namespace"], netns.read_sysctls, list(NAMESPACE_SYSCTLS))
    with netns.open_namespace(resource["namespace"]) as ns:
        names = {}
        for link in ns.get_links():
            name = link.get_attr("IFLA_IFNAME")
            names[link["index"]] = name
            state["_kinds"][name] = kind(link)
            if name == resource["veth_ns"]:
                state["veth"] = link_basics(ns, link)
            elif name.startswith(WIREGUARD_PREFIX) and kind(link) in ("wireguard", "tun"):
                entry = link_basics(ns, link)
                config = backend_for_kind(kind(link), wireguard_binary).read(name, resource["namespace"])
                entry["listen_port"] = config["listen_port"]
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
                state["wireguard"][name] = entry
            elif resource.get("vxlan") and name == resource["vxlan"]["name"] or \
                    name.startswith(PREFIXES["vxlan"]) and kind(link) == "vxlan":
                data = link.get_attr("IFLA_LINKINFO").get_attr("IFLA_INFO_DATA")
                entry = link_basics(ns, link)
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
                state["vxlan"] = entry
        for dst, route in owned_routes(ns, ROUTE_PROTO):
            via = route.get_attr("RTA_VIA")
            gateway = route.get_attr("RTA_GATEWAY") or (via["addr"] if via else None)
            state["routes"][dst] = route_text(gateway, names.get(route.get_attr("RTA_OIF"), "?"))
    state["routes"] = dict(sorted(state["routes"].items()))
    return state


def public_view(state):
    """The state without bookkeeping keys: what --diff and results show."""
    view = {k: v for k, v in state.items() if not k.startswith("_")}
    view["wireguard"] = {
        name: {k: v for k, v in link.items() if not k.startswith("_")}
        for name, link in sorted(state["wireguard"].items())
    }
    return view


def _comparable(desired, actual):
    """Actual state as desired would see it: an endpoint learned from a peer that
    dials us (we have none for it) is the peer's business, not a difference."""
    actual = public_view(actual)
    for name, link in actual["wireguard"].items():
        wanted = desired["wireguard"].get(name)
        if wanted and link.get("peer") and wanted["peer"]["endpoint"] is None:
            link["peer"] = dict(link["peer"], endpoint=None)
    return actual


# ---------------------------------------------------------------- plan of changes

def _port_in_use(port):
    """True when something other than a WireGuard link of ours holds UDP `port` here."""
    for family, address in ((socket.AF_INET6, "::"), (socket.AF_INET, "0.0.0.0")):
        probe = socket.socket(family, socket.SOCK_DGRAM)
        try:
            if family == socket.AF_INET6:
                probe.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 1)
            probe.bind((address, port))
        except OSError as exc:
            if exc.errno == errno.EADDRINUSE:
                return True
            if exc.errno != errno.EADDRNOTAVAIL:
                raise
        finally:
            probe.close()
    return False


def check_preconditions(resource, desired, actual, node):
    """Everything that could make the apply fail half-way, checked before any change."""
    for name in [resource["bridge"], resource["veth_host"], resource["veth_ns"]] + list(desired["wireguard"]):
        if len(name) > 15:
            raise ResourceError("interface name %s is longer than the kernel's 15 characters" % name)
    ours = {link.get("listen_port") for link in actual["wireguard"].values()}
    for name, link in desired["wireguard"].items():
        port = link["listen_port"]
        if port not in ours and _port_in_use(port):
            raise ResourceError("listen port %d of link %s is already in use on this node" % (port, name))
        leftover = node.link_lookup(ifname=name)
        if leftover and name not in actual["wireguard"]:
            found_kind = kind(node.get_links(leftover[0])[0])
            if found_kind not in ("wireguard", "tun"):
                raise ResourceError("interface %s exists on this node and is not a WireGuard link of ours" % name)
    for name in (resource["bridge"], resource["veth_host"]):
        found = node.link_lookup(ifname=name)
        if found:
            found_kind = kind(node.get_links(found[0])[0])
            if found_kind != ("bridge" if name == resource["bridge"] else "veth"):
                raise ResourceError("interface %s exists on this node as a %s, not ours" % (name, found_kind))


def plan_changes(resource, desired, actual, node, private_key, backend_choice="auto", wireguard_binary="wireguard-go",
                 check_mode=False):
    """The list of changes that turn actual into desired, in a safe order."""
    changes = []
    name = resource["namespace"]
    holder = {}

    def ns():
        if "ns" not in holder:
            holder["ns"] = netns.open_namespace(name)
        return holder["ns"]

    def backend():
        if "backend" not in holder:
            holder["backend"] = select_backend(node, backend_choice, wireguard_binary)
        return holder["backend"]

    new_links = len(set(desired["wireguard"]) - set(actual["wireguard"]))
    if new_links:
        # before any change: a userspace link past the inotify budget would fail half-way
        chosen = predict_backend(backend_choice, wireguard_binary) if check_mode else backend()
        chosen.check_capacity(new_links)

    if not actual["namespace"]:
        changes.append(Change("create namespace %s" % name, lambda: netns.create(name)))
    if actual["sysctls"] != desired["sysctls"]:
        changes.append(Change("set forwarding and address sysctls in %s" % name,
                              lambda: netns.run_inside(name, netns.write_sysctls, desired["sysctls"])))

    # Workload side: bridge and veth
    if actual["bridge"] is None:
        changes.append(Change("create bridge %s" % resource["bridge"],
                              lambda: node.link("add", ifname=resource["bridge"], kind="bridge")))
    if actual["bridge"] != desired["bridge"]:
        changes.append(Change("set bridge %s mtu %d up" % (resource["bridge"], resource["mtu"]),
                              lambda: node.link("set", index=index_of(node, resource["bridge"]),
                                                mtu=resource["mtu"], state="up")))
    if actual["_veth_host"] is None or actual["veth"] is None:
        def make_veth():
            for stale in node.link_lookup(ifname=resource["veth_host"]):
                node.link("del", index=stale)
            node.link("add", ifname=resource["veth_host"], kind="veth",
                      peer={"ifname": resource["veth_ns"], "net_ns_fd": name})
        changes.append(Change("create veth %s <-> %s" % (resource["veth_host"], resource["veth_ns"]), make_veth))
        actual_veth = {"mtu": None, "up": False, "addresses": []}
    else:
        actual_veth = actual["veth"]
    host = actual["_veth_host"]
    if host is None or host.get_attr("IFLA_MASTER") != (node.link_lookup(ifname=resource["bridge"]) or [None])[0] \
            or host.get_attr("IFLA_MTU") != resource["mtu"] or not host["flags"] & IFF_UP:
        changes.append(Change("attach %s to %s" % (resource["veth_host"], resource["bridge"]), lambda: node.link(
            "set", index=index_of(node, resource["veth_host"]), master=index_of(node, resource["bridge"]),
            mtu=resource["mtu"], state="up")))
    changes += link_changes(ns, resource["veth_ns"], actual_veth, desired["veth"])

    # WireGuard links
    for ifname in sorted(set(actual["wireguard"]) - set(desired["wireguard"])):
        changes.append(Change("remove WireGuard link %s" % ifname, lambda ifname=ifname: _remove_wireguard(
            ns(), ifname, backend_for_kind(actual["_kinds"][ifname], wireguard_binary))))
    for ifname, wanted in sorted(desired["wireguard"].items()):
        current = actual["wireguard"].get(ifname)
        if current is None:
            changes.append(Change(
                "create WireGuard link %s to %s (port %d)" % (ifname, wanted["peer"]["public_key"], wanted["listen_port"]),
                lambda ifname=ifname, wanted=wanted: _create_wireguard(node, ns, name, backend(), ifname, wanted, private_key)))
            current = {"mtu": None, "up": False, "addresses": []}
        else:
            changes += _wireguard_updates(ns, name, ifname, current, wanted, private_key,
                                          backend_for_kind(actual["_kinds"][ifname], wireguard_binary),
                                          actual["_kinds"][ifname])
        changes += link_changes(ns, ifname, current, wanted)

    # VXLAN
    want, have = desired["vxlan"], actual["vxlan"]
    immutable = ("name", "vni", "local", "port", "group")
    if have is not None and (want is None or any(have[k] != want[k] for k in immutable)):
        changes.append(Change("remove VXLAN %s" % have["name"],
                              lambda: ns().link("del", index=index_of(ns(), have["name"]))))
        have = None
    if want is not None:
        if have is None:
            changes.append(Change("create VXLAN %s id %d local %s" % (want["name"], want["vni"], want["local"]),
                                  lambda: _create_vxlan(node, name, want, resource["vxlan"].get("device"))))
            have = {"mtu": None, "up": False, "addresses": [], "remotes": []}
        for remote in sorted(set(have["remotes"]) - set(want["remotes"])):
            changes.append(Change("remove VXLAN peer %s" % remote, lambda remote=remote: ns().fdb(
                "del", ifindex=index_of(ns(), want["name"]), lladdr="00:00:00:00:00:00", dst=remote)))
        for remote in sorted(set(want["remotes"]) - set(have["remotes"])):
            changes.append(Change("add VXLAN peer %s" % remote, lambda remote=remote: ns().fdb(
                "append", ifindex=index_of(ns(), want["name"]), lladdr="00:00:00:00:00:00", dst=remote)))
        changes += link_changes(ns, want["name"], have, want)

    # Routes last: their interfaces exist by now
    for dst in sorted(set(actual["routes"]) - set(desired["routes"])):
        changes.append(Change("remove route %s %s" % (dst, actual["routes"][dst]),
                              lambda dst=dst: _route(ns(), "del", dst, actual["routes"][dst])))
    for dst, via in desired["routes"].items():
        if actual["routes"].get(dst) != via:
            changes.append(Change("route %s %s" % (dst, via),
                                  lambda dst=dst, via=via: _route(ns(), "replace", dst, via)))
    return changes, holder


def _create_wireguard(node, ns, namespace, backend, ifname, wanted, private_key):
    for stale in node.link_lookup(ifname=ifname):  # a leftover of an interrupted run
        node.link("del", index=stale)
    backend.create(node, ifname)
    backend.write(ifname, None, private_key=private_key, listen_port=wanted["listen_port"], replace_peers=True,
                  peer=wanted["peer"])
    node.link("set", index=node.link_lookup(ifname=ifname)[0], net_ns_fd=namespace)


def _wireguard_updates(ns, namespace, ifname, current, wanted, private_key, backend, kind):
    """Update a live link in place: no interface recreated, no handshake lost."""
    changes = []
    if current.get("public_key") != wanted["public_key"]:
        changes.append(Change("set private key of %s" % ifname,
                              lambda: backend.write(ifname, namespace, private_key=private_key)))
    if current.get("listen_port") != wanted["listen_port"]:
        changes.append(Change("set %s listen port %d" % (ifname, wanted["listen_port"]),
                              lambda: backend.write(ifname, namespace, listen_port=wanted["listen_port"])))
    have, want = current.get("peer") or {}, wanted["peer"]
    if have.get("public_key") != want["public_key"]:
        changes.append(Change("set %s peer %s" % (ifname, want["public_key"]),
                              lambda: backend.write(ifname, namespace, replace_peers=True, peer=want)))
        return changes
    update = {"public_key": want["public_key"]}
    if want["endpoint"] is not None and have.get("endpoint") != want["endpoint"]:
        update["endpoint"] = want["endpoint"]
    if have.get("allowed_ips") != want["allowed_ips"]:
        update["allowed_ips"] = want["allowed_ips"]
    if have.get("persistent_keepalive") != want["persistent_keepalive"]:
        update["persistent_keepalive"] = want["persistent_keepalive"]
    if len(update) > 1:
        changes.append(Change("update %s peer: %s" % (ifname, ", ".join(sorted(k for k in update if k != "public_key"))),
                              lambda: backend.write(ifname, namespace, peer=update)))
    return changes


def _remove_wireguard(ns, ifname, backend):
    for found in ns.link_lookup(ifname=ifname):
        ns.link("del", index=found)
    backend.wait_gone(ifname)


def _create_vxlan(node, namespace, want, device=None):
    for stale in node.link_lookup(ifname=want["name"]):
        node.link("del", index=stale)
    local = {"vxlan_local6" if ":" in want["local"] else "vxlan_local": want["local"]}
    if want.get("group"):
        found = node.link_lookup(ifname=device or "")
        if not found:
            raise ResourceError("VXLAN multicast needs the segment's interface %r on this node" % device)
        local["vxlan_group6" if ":" in want["group"] else "vxlan_group"] = want["group"]
        local["vxlan_link"] = found[0]
    node.link("add", ifname=want["name"], kind="vxlan", vxlan_id=want["vni"], vxlan_port=want["port"],
              vxlan_learning=0, **local)
    node.link("set", index=node.link_lookup(ifname=want["name"])[0], net_ns_fd=namespace)


def _route(ns, command, dst, via):
    _, gateway, _, ifname = via.split(" ")
    if command == "del" and not ns.link_lookup(ifname=ifname):
        return  # went with its link
    oif = index_of(ns, ifname)
    if ":" in dst:
        ns.route(command, dst=dst, gateway=gateway, oif=oif, proto=ROUTE_PROTO)
    else:  # IPv4 over an IPv6 link-local next hop (RFC 8950 style), same gateway as IPv6
        ns.route(command, dst=dst, oif=oif, via={"family": socket.AF_INET6, "addr": gateway}, proto=ROUTE_PROTO)


# ---------------------------------------------------------------- absent

def removal_changes(resource, actual, node, wireguard_binary="wireguard-go"):
    """Remove what this resource made, and nothing else."""
    changes = []
    name = resource["namespace"]
    if actual["namespace"]:
        def drop_namespace():
            # delete links first so each wireguard-go process sees its device go and exits
            with netns.open_namespace(name) as ns:
                for link in ns.get_links():
                    link_kind = kind(link)
                    if link_kind in ("tun", "wireguard"):
                        _remove_wireguard(ns, link.get_attr("IFLA_IFNAME"), backend_for_kind(link_kind, wireguard_binary))
                    elif link_kind in ("vxlan", "veth"):
                        ns.link("del", index=link["index"])
            netns.remove(name)
        changes.append(Change("remove namespace %s and its links" % name, drop_namespace))
    for ifname in (resource["veth_host"], resource["bridge"]):
        found = node.link_lookup(ifname=ifname)
        if found:
            changes.append(Change("remove %s" % ifname, lambda ifname=ifname: [
                node.link("del", index=i) for i in node.link_lookup(ifname=ifname)]))
    return changes


def converge(resource, state, private_key=None, check_mode=False, backend_choice="auto",
             wireguard_binary="wireguard-go", record=None, locked=False):
    """Bring one network resource to `state`. Returns (changed texts, before, after).

    With `record` (the module options to converge it with again), the desired
    state is recorded on the node for the agent, or forgotten when absent.
    `locked`: the caller holds the node lock already (the agent).
    """
    with (contextlib.nullcontext() if check_mode or locked else records.node_lock()), IPRoute() as node:
        public = derive_public_key(private_key) if private_key else None
        actual = read_state(node, resource, private_key, public, wireguard_binary)
        if state == "absent":
            changes = removal_changes(resource, actual, node, wireguard_binary)
            desired = dict(ABSENT)
            holder = {}
        else:
            desired = desired_state(resource, private_key)
            check_preconditions(resource, desired, actual, node)
            changes, holder = plan_changes(resource, desired, actual, node, private_key, backend_choice,
                                           wireguard_binary, check_mode)
        if record is not None:
            bookkeeping = records.record_change("resource", resource["namespace"], resource, record) \
                if state == "present" else records.forget_change("resource", resource["namespace"])
            changes += [bookkeeping] if bookkeeping else []
        before = _comparable(desired, actual)
        try:
            if not check_mode:
                apply_changes(changes, (NetlinkError, OSError, WireGuardError))
        finally:
            if "ns" in holder:
                holder["ns"].close()
        result = {"changes": [c.text for c in changes], "before": before, "after": desired,
                  "backend": holder["backend"].name if "backend" in holder else None}
        return result


def prune(keep, check_mode=False, wireguard_binary="wireguard-go"):
    """Remove every network resource of ours on this node whose namespace is not in `keep`.

    A network the node left (or that was deleted) leaves its namespace, links,
    bridge and veth behind; they are found by their name prefixes.
    """
    keep = set(keep)
    with (contextlib.nullcontext() if check_mode else records.node_lock()), IPRoute() as node:
        namespaces = netns.listed()
        workloads = {n[len(PREFIXES["workload"]):] for n in namespaces if n.startswith(PREFIXES["workload"])}
        tags = ({tag_of_namespace(n) for n in namespaces} | workloads) - {None}
        for link in node.get_links():  # a bridge or veth left without its namespace
            name = link.get_attr("IFLA_IFNAME")
            for kind_name in ("bridge", "veth_host"):
                if name.startswith(PREFIXES[kind_name]):
                    tags.add(name[len(PREFIXES[kind_name]):])
        known, _ = records.recorded()
        tags |= {tag_of_namespace(r["namespace"]) for r in known} - {None}
        stale = sorted(t for t in tags if PREFIXES["namespace"] + t not in keep)
        changes = []
        for tag in stale:
            resource = names_for_tag(tag)
            actual = {"namespace": netns.exists(resource["namespace"])}
            changes += removal_changes(resource, actual, node, wireguard_binary)
            for kind_name in records.KINDS:
                forget = records.forget_change(kind_name, resource["namespace"])
                changes += [forget] if forget else []
            if tag in workloads:
                changes.append(Change("remove workload %s" % resource["workload"],
                                      lambda name=resource["workload"]: netns.remove(name)))
        if not check_mode:
            apply_changes(changes, (NetlinkError, OSError, WireGuardError))
    return {"changes": [c.text for c in changes], "removed": [PREFIXES["namespace"] + t for t in stale]}
