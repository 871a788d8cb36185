# -*- coding: utf-8 -*-
# Copyright: (c) 2026, gridnet.tenant contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The exit of one tenant network as a converge target: uplink, default routes, NAT and firewall.

The exit's network resource (namespace, bridge, mesh links) is converged by
resource.py like any other; this adds what carries the network outside:

    {"namespace": bool,
     "uplink": {"parent", "mac", "up", "addresses"} | None,   # macvlan on the parent, moved in
     "routes": {dst: {"via", "dev", "metric"}},               # protocol rules.EXIT_ROUTE_PROTO
     "nftables": [listing lines] | None}                      # the network's table, whole
"""

from __future__ import annotations

import contextlib
import ipaddress

from ansible_collections.gridnet.tenant.plugins.module_utils.node import convergence
from ansible_collections.gridnet.tenant.plugins.module_utils.common import rules
from ansible_collections.gridnet.tenant.plugins.module_utils.node import netns, nftables, records, routes
from ansible_collections.gridnet.tenant.plugins.module_utils.node.convergence import Change
from ansible_collections.gridnet.tenant.plugins.module_utils.common.errors import InputError, NodeError
from ansible_collections.gridnet.tenant.plugins.module_utils.node.netlink import (
    APPLY_ERRORS,
    index_of,
    kind,
    link_basics,
    link_changes,
)

from ansible_collections.gridnet.tenant.plugins.module_utils.node.pyroute import IPRoute

ALIAS_PREFIX = "gridnet.tenant uplink via "
ABSENT = {"namespace": False, "uplink": None, "routes": {}, "nftables": None}


def validate(exit_plan):
    """Refuse what the kernel would take half of, with the rules the planner applies (rules.py)."""
    for key in ("netid", "namespace", "table", "block", "uplink"):
        if not exit_plan.get(key):
            raise InputError("exit lacks %s (pass an item of plan.exits)" % key)
    uplink = exit_plan["uplink"]
    for key in ("name", "parent", "ipv6", "link_local"):
        if not uplink.get(key):
            raise InputError("exit uplink lacks %s" % key)
    rules.check_ifname(uplink["name"], "uplink")
    for version in (6, 4):
        conf = uplink.get("ipv%d" % version)
        if conf:
            rules.uplink_address(conf.get("address"), conf.get("gateway"), version, "uplink ipv%d address" % version)
    subnets = [rules.prefix(s, "ipv4_subnets", 4) for s in exit_plan.get("ipv4_subnets") or []]
    for position, rule in enumerate(exit_plan.get("ipv4_dnat") or []):
        if not uplink.get("ipv4"):
            raise InputError("ipv4_dnat[%d]: the uplink has no IPv4 address to forward from" % position)
        rules.dnat_target(rule["to"], subnets, "ipv4_dnat[%d]" % position)
    rules.check_allow_list(exit_plan.get("ipv6_allow") or [], exit_plan["block"])


class Exit(netns.InNamespace, convergence.Target):
    apply_errors = APPLY_ERRORS
    # states with routes: route records read as text
    display = staticmethod(routes.display)
    shown = staticmethod(routes.shown)

    def __init__(self, node, exit_plan, state="present", check_mode=False, nft="nft"):
        try:
            validate(exit_plan)
        except (KeyError, TypeError, ValueError) as exc:
            if isinstance(exc, InputError):
                raise
            raise InputError("malformed exit (pass an item of plan.exits): %s" % exc)
        self.node, self.plan, self.state, self.check_mode, self.nft = node, exit_plan, state, check_mode, nft
        self.namespace, self.name = exit_plan["namespace"], exit_plan["uplink"]["name"]
        self._present = None

    def desired(self):
        if self.state == "absent":
            return dict(ABSENT, namespace=netns.exists(self.namespace))
        uplink = self.plan["uplink"]
        addresses = [uplink["ipv6"]["address"]] + ([uplink["ipv4"]["address"]] if uplink.get("ipv4") else [])
        # without a link-local address the kernel sends no Neighbour Solicitation for forwarded packets
        addresses.append(uplink["link_local"] + "/64")
        wanted = {}
        for version, default in ((6, "::/0"), (4, "0.0.0.0/0")):
            conf = uplink.get("ipv%d" % version) or {}
            if conf.get("gateway"):
                wanted[default] = routes.route(conf["gateway"], uplink["name"], uplink.get("metric", 1024))
        return {
            "namespace": True,
            "uplink": {"parent": uplink["parent"], "mac": uplink.get("mac"), "up": True,
                       "addresses": sorted(str(ipaddress.ip_interface(a)) for a in addresses)},
            "routes": dict(sorted(wanted.items())),
            # nft's own listing of the table; also proves nft takes the text before anything is touched
            "nftables": nftables.canonical(nftables.exit_ruleset(self.plan), self.plan["table"], self.nft,
                                           keep=not self.check_mode),
        }

    def read(self):
        state = dict(ABSENT, namespace=netns.exists(self.namespace))
        if not state["namespace"]:
            return state
        with netns.open_namespace(self.namespace) as ns:
            for link in ns.get_links():
                if link.get_attr("IFLA_IFNAME") == self.name:
                    alias = link.get_attr("IFLA_IFALIAS") or ""
                    state["uplink"] = dict(link_basics(ns, link), _kind=kind(link),
                                           parent=alias[len(ALIAS_PREFIX):] if alias.startswith(ALIAS_PREFIX) else None,
                                           mac=link.get_attr("IFLA_ADDRESS"))
                    state["uplink"].pop("mtu")
            state["routes"] = routes.read(ns, rules.EXIT_ROUTE_PROTO, fields=("via", "dev", "metric"))
        state["nftables"] = nftables.read(self.namespace, self.plan["table"], self.nft)
        return state

    def changes(self, desired, actual):
        if self.state == "absent":
            return self.removal_changes(actual)
        self.check_preconditions(actual)
        want, have, changes = desired["uplink"], actual["uplink"], []
        if have is not None and (have["parent"] != want["parent"] or (want["mac"] and have["mac"] != want["mac"])):
            changes.append(Change("remove uplink %s (parent or address changed)" % self.name,
                                  lambda: self.ns().link("del", index=index_of(self.ns(), self.name))))
            have = None
        if have is None:
            changes.append(Change("create uplink %s on %s" % (self.name, want["parent"]),
                                  lambda: self._create_uplink(want)))
            have = {"up": False, "addresses": []}
        changes += link_changes(self.ns, self.name, have, want)
        changes += routes.changes(self.ns, actual["routes"], desired["routes"], rules.EXIT_ROUTE_PROTO)
        if actual["nftables"] != desired["nftables"]:
            text, table = nftables.exit_ruleset(self.plan), self.plan["table"]
            verb = "replace" if actual["nftables"] else "create"
            changes.append(Change("%s nftables table %s %s" % (verb, nftables.FAMILY, table),
                                  lambda: nftables.replace(self.namespace, text, table, self.nft)))
        return changes

    def check_preconditions(self, actual):
        if not actual["namespace"] and not self.check_mode:
            raise NodeError("namespace %s does not exist; converge the exit's network resource first "
                            "(gridnet.tenant.network_resource)" % self.namespace)
        parent = self.plan["uplink"]["parent"]
        if not self.node.link_lookup(ifname=parent):
            raise NodeError("uplink parent interface %s does not exist on this node" % parent)
        found = self.node.link_lookup(ifname=self.name)
        if found and kind(self.node.get_links(found[0])[0]) != "macvlan":
            raise NodeError("interface %s exists on this node and is not an uplink of ours" % self.name)
        if actual["uplink"] and actual["uplink"]["_kind"] != "macvlan":
            raise NodeError("interface %s in %s is a %s, not an uplink of ours"
                            % (self.name, self.namespace, actual["uplink"]["_kind"]))

    def _create_uplink(self, want):
        node = self.node
        for stale in node.link_lookup(ifname=self.name):  # a leftover of an interrupted run
            node.link("del", index=stale)
        options = {"address": want["mac"]} if want.get("mac") else {}
        node.link("add", ifname=self.name, kind="macvlan", link=index_of(node, want["parent"]),
                  macvlan_mode="bridge", **options)
        index = index_of(node, self.name)
        node.link("set", index=index, ifalias=ALIAS_PREFIX + want["parent"])
        node.link("set", index=index, net_ns_fd=self.namespace)

    def removal_changes(self, actual):
        """Remove the uplink (its routes go with it) and the table; the namespace is the resource's."""
        changes = []
        if actual["uplink"] is not None:
            changes.append(Change("remove uplink %s" % self.name,
                                  lambda: self.ns().link("del", index=index_of(self.ns(), self.name))))
        if actual["nftables"] is not None:
            changes.append(Change("remove nftables table %s %s" % (nftables.FAMILY, self.plan["table"]),
                                  lambda: nftables.delete(self.namespace, self.plan["table"], self.nft)))
        return changes


def converge(exit_plan, state, check_mode=False, nft="nft", record=None, locked=False, node=None):
    """Bring one exit to `state`. Returns changes, before and after (read back).

    With `record` (the module options), the exit is recorded on the node for the agent.
    `locked`: the caller holds the node lock already (the agent). `node`: the caller's netlink socket.
    """
    with (contextlib.nullcontext() if check_mode or locked else records.node_lock()), \
            (contextlib.nullcontext(node) if node is not None else IPRoute()) as node:
        target = Exit(node, exit_plan, state, check_mode, nft)
        extra = records.bookkeeping("exit", exit_plan["namespace"], exit_plan, record, state)
        return convergence.converge(target, check_mode, extra)
