# -*- coding: utf-8 -*-
# Copyright: (c) 2026, gridnet.tenant contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The exit of one tenant network: uplink, default routes, NAT and firewall.

The exit's network resource (namespace, bridge, mesh links) is converged by
resource.py like any other; this adds what carries the network outside:

    {"namespace": bool,
     "uplink": {"parent", "mac", "up", "addresses"} | None,   # macvlan on the parent, moved in
     "routes": {dst: "via GATEWAY dev UPLINK metric N"},      # protocol EXIT_ROUTE_PROTO
     "nftables": [listing lines] | None}                      # the network's table, whole

Default routes carry their own protocol number, so the network resource
(which owns protocol 152 routes in the same namespace) never removes them.
"""

from __future__ import annotations

import contextlib
import ipaddress

from ansible_collections.gridnet.tenant.plugins.module_utils import netns, nftables, records
from ansible_collections.gridnet.tenant.plugins.module_utils.netlink import (
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

try:
    from pyroute2 import IPRoute
except ImportError:  # reported by the modules through missing_required_lib
    IPRoute = None

EXIT_ROUTE_PROTO = 153
ALIAS_PREFIX = "gridnet.tenant uplink via "
ABSENT = {"namespace": False, "uplink": None, "routes": {}, "nftables": None}


def _network(value, what, version=None):
    try:
        net = ipaddress.ip_network(value, strict=True)
    except (TypeError, ValueError) as exc:
        raise ConvergeError("%s: %r is not a prefix (%s)" % (what, value, exc))
    if version and net.version != version:
        raise ConvergeError("%s: %s is not IPv%d" % (what, value, version))
    return net


def validate(exit_plan):
    """Refuse what the kernel would take half of; the planner checks the same, this guards direct use."""
    for key in ("netid", "namespace", "table", "block", "uplink"):
        if not exit_plan.get(key):
            raise ConvergeError("exit lacks %s (pass an item of plan.exits)" % key)
    uplink = exit_plan["uplink"]
    for key in ("name", "parent", "ipv6", "link_local"):
        if not uplink.get(key):
            raise ConvergeError("exit uplink lacks %s" % key)
    if len(uplink["name"]) > 15:
        raise ConvergeError("uplink name %r is longer than the kernel's 15 characters" % uplink["name"])
    block = _network(exit_plan["block"], "block", 6)
    for version in (6, 4):
        conf = uplink.get("ipv%d" % version)
        if not conf:
            continue
        try:
            iface = ipaddress.ip_interface(conf["address"])
        except (KeyError, ValueError) as exc:
            raise ConvergeError("uplink ipv%d address %r is not address/len (%s)" % (version, conf.get("address"), exc))
        if iface.version != version:
            raise ConvergeError("uplink ipv%d address %s is not IPv%d" % (version, conf["address"], version))
        gateway = conf.get("gateway")
        if gateway and ipaddress.ip_address(gateway) not in iface.network:
            raise ConvergeError("uplink ipv%d gateway %s is not on the uplink subnet %s" % (version, gateway, iface.network))
    subnets = [_network(s, "ipv4_subnets", 4) for s in exit_plan.get("ipv4_subnets") or []]
    for position, rule in enumerate(exit_plan.get("ipv4_dnat") or []):
        if not uplink.get("ipv4"):
            raise ConvergeError("ipv4_dnat[%d]: the uplink has no IPv4 address to forward from" % position)
        target = ipaddress.ip_address(rule["to"])
        if not any(target in s for s in subnets):
            raise ConvergeError("ipv4_dnat[%d]: %s is outside the network's IPv4 subnets" % (position, target))
    seen = []
    for position, rule in enumerate(exit_plan.get("ipv6_allow") or []):
        prefix = _network(rule["prefix"], "ipv6_allow[%d].prefix" % position, 6)
        if not prefix.subnet_of(block):
            raise ConvergeError("ipv6_allow[%d]: %s is outside the network's block %s" % (position, prefix, block))
        for other_position, other, proto, port in seen:
            if proto == rule["proto"] and (port is None or rule.get("port") is None or port == rule.get("port")) \
                    and (prefix.subnet_of(other) or other.subnet_of(prefix)):
                raise ConvergeError("ipv6_allow[%d] overlaps ipv6_allow[%d]" % (position, other_position))
        seen.append((position, prefix, rule["proto"], rule.get("port")))


def route_text(gateway, ifname, metric):
    return "via %s dev %s metric %d" % (gateway, ifname, metric)


def desired_state(exit_plan, nft="nft"):
    uplink = exit_plan["uplink"]
    addresses = [uplink["ipv6"]["address"]] + ([uplink["ipv4"]["address"]] if uplink.get("ipv4") else [])
    # without a link-local address the kernel sends no Neighbour Solicitation for forwarded packets
    addresses.append(uplink["link_local"] + "/64")
    routes = {}
    for version, default in ((6, "::/0"), (4, "0.0.0.0/0")):
        conf = uplink.get("ipv%d" % version) or {}
        if conf.get("gateway"):
            routes[default] = route_text(conf["gateway"], uplink["name"], uplink.get("metric", 1024))
    return {
        "namespace": True,
        "uplink": {"parent": uplink["parent"], "mac": uplink.get("mac"), "up": True,
                   "addresses": sorted(str(ipaddress.ip_interface(a)) for a in addresses)},
        "routes": dict(sorted(routes.items())),
        # nft's own listing of the table; also proves nft takes the text before anything is touched
        "nftables": nftables.canonical(nftables.exit_ruleset(exit_plan), exit_plan["table"], nft),
    }


def read_state(exit_plan, nft="nft"):
    state = dict(ABSENT, namespace=netns.exists(exit_plan["namespace"]))
    if not state["namespace"]:
        return state
    name = exit_plan["uplink"]["name"]
    with netns.open_namespace(exit_plan["namespace"]) as ns:
        names = {}
        for link in ns.get_links():
            names[link["index"]] = link.get_attr("IFLA_IFNAME")
            if names[link["index"]] == name:
                alias = link.get_attr("IFLA_IFALIAS") or ""
                state["uplink"] = dict(link_basics(ns, link), kind=kind(link),
                                       parent=alias[len(ALIAS_PREFIX):] if alias.startswith(ALIAS_PREFIX) else None,
                                       mac=link.get_attr("IFLA_ADDRESS"))
                state["uplink"].pop("mtu")
        routes = {}
        for dst, route in owned_routes(ns, EXIT_ROUTE_PROTO):
            routes[dst] = route_text(route.get_attr("RTA_GATEWAY"), names.get(route.get_attr("RTA_OIF"), "?"),
                                     route.get_attr("RTA_PRIORITY") or 0)
        state["routes"] = dict(sorted(routes.items()))
    state["nftables"] = nftables.read(exit_plan["namespace"], exit_plan["table"], nft)
    return state


def public_view(state):
    view = dict(state)
    if view["uplink"]:
        view["uplink"] = {k: v for k, v in view["uplink"].items() if k != "kind"}
    return view


def check_preconditions(exit_plan, actual, node, check_mode):
    if not actual["namespace"] and not check_mode:
        raise ConvergeError("namespace %s does not exist; converge the exit's network resource first "
                            "(gridnet.tenant.network_resource)" % exit_plan["namespace"])
    uplink = exit_plan["uplink"]
    if not node.link_lookup(ifname=uplink["parent"]):
        raise ConvergeError("uplink parent interface %s does not exist on this node" % uplink["parent"])
    found = node.link_lookup(ifname=uplink["name"])
    if found and kind(node.get_links(found[0])[0]) != "macvlan":
        raise ConvergeError("interface %s exists on this node and is not an uplink of ours" % uplink["name"])
    if actual["uplink"] and actual["uplink"]["kind"] != "macvlan":
        raise ConvergeError("interface %s in %s is a %s, not an uplink of ours"
                            % (uplink["name"], exit_plan["namespace"], actual["uplink"]["kind"]))


def _create_uplink(node, namespace, name, want):
    for stale in node.link_lookup(ifname=name):  # a leftover of an interrupted run
        node.link("del", index=stale)
    options = {"address": want["mac"]} if want.get("mac") else {}
    node.link("add", ifname=name, kind="macvlan", link=index_of(node, want["parent"]), macvlan_mode="bridge",
              **options)
    index = index_of(node, name)
    node.link("set", index=index, ifalias=ALIAS_PREFIX + want["parent"])
    node.link("set", index=index, net_ns_fd=namespace)


def _route(ns, command, dst, text):
    _, gateway, _, ifname, _, metric = text.split(" ")
    if command == "del" and not ns.link_lookup(ifname=ifname):
        return  # went with its link
    ns.route(command, dst=dst, gateway=gateway, oif=index_of(ns, ifname), priority=int(metric),
             proto=EXIT_ROUTE_PROTO)


def plan_changes(exit_plan, desired, actual, node, nft="nft"):
    namespace = exit_plan["namespace"]
    name = exit_plan["uplink"]["name"]
    holder = {}
    changes = []

    def ns():
        if "ns" not in holder:
            holder["ns"] = netns.open_namespace(namespace)
        return holder["ns"]

    want, have = desired["uplink"], actual["uplink"]
    if have is not None and (have["parent"] != want["parent"] or (want["mac"] and have["mac"] != want["mac"])):
        changes.append(Change("remove uplink %s (parent or address changed)" % name,
                              lambda: ns().link("del", index=index_of(ns(), name))))
        have = None
    if have is None:
        changes.append(Change("create uplink %s on %s" % (name, want["parent"]),
                              lambda: _create_uplink(node, namespace, name, want)))
        have = {"up": False, "addresses": []}
    changes += link_changes(ns, name, have, want)
    for dst in sorted(set(actual["routes"]) - set(desired["routes"])):
        changes.append(Change("remove route %s %s" % (dst, actual["routes"][dst]),
                              lambda dst=dst: _route(ns(), "del", dst, actual["routes"][dst])))
    for dst, text in desired["routes"].items():
        old = actual["routes"].get(dst)
        if old != text:
            # the metric is part of a route's key: replace would add a second route beside the old one
            if old is not None:
                changes.append(Change("remove route %s %s" % (dst, old),
                                      lambda dst=dst, old=old: _route(ns(), "del", dst, old)))
            changes.append(Change("route %s %s" % (dst, text),
                                  lambda dst=dst, text=text: _route(ns(), "replace", dst, text)))
    if actual["nftables"] != desired["nftables"]:
        text = nftables.exit_ruleset(exit_plan)
        changes.append(Change("%s nftables table %s %s" % ("replace" if actual["nftables"] else "create",
                                                          nftables.FAMILY, exit_plan["table"]),
                              lambda: nftables.replace(namespace, text, exit_plan["table"], nft)))
    return changes, holder


def removal_changes(exit_plan, actual, nft="nft"):
    """Remove the uplink (its routes go with it) and the table; the namespace is the resource's."""
    namespace = exit_plan["namespace"]
    changes = []
    if actual["uplink"] is not None:
        name = exit_plan["uplink"]["name"]

        def drop_uplink():
            with netns.open_namespace(namespace) as ns:
                ns.link("del", index=index_of(ns, name))
        changes.append(Change("remove uplink %s" % name, drop_uplink))
    if actual["nftables"] is not None:
        changes.append(Change("remove nftables table %s %s" % (nftables.FAMILY, exit_plan["table"]),
                              lambda: nftables.delete(namespace, exit_plan["table"], nft)))
    return changes


def converge(exit_plan, state, check_mode=False, nft="nft", record=None, locked=False):
    """Bring one exit to `state`. Returns changes, before and after (the --diff shapes).

    With `record` (the module options), the exit is recorded on the node for the agent.
    `locked`: the caller holds the node lock already (the agent).
    """
    try:
        validate(exit_plan)
    except (KeyError, TypeError, ValueError) as exc:
        raise ConvergeError("malformed exit (pass an item of plan.exits): %s" % exc)
    holder = {}
    try:
        with (contextlib.nullcontext() if check_mode or locked else records.node_lock()), IPRoute() as node:
            actual = read_state(exit_plan, nft)
            if state == "absent":
                desired = dict(ABSENT, namespace=actual["namespace"])
                changes = removal_changes(exit_plan, actual, nft)
            else:
                desired = desired_state(exit_plan, nft)
                check_preconditions(exit_plan, actual, node, check_mode)
                changes, holder = plan_changes(exit_plan, desired, actual, node, nft)
            if record is not None:
                bookkeeping = records.record_change("exit", exit_plan["namespace"], exit_plan, record) \
                    if state == "present" else records.forget_change("exit", exit_plan["namespace"])
                changes += [bookkeeping] if bookkeeping else []
            if not check_mode:
                apply_changes(changes, (NetlinkError, OSError, nftables.NftError))
    except nftables.NftError as exc:
        raise ConvergeError(str(exc))
    finally:
        if "ns" in holder:
            holder["ns"].close()
    return {"changes": [c.text for c in changes], "before": public_view(actual), "after": desired}
