# -*- coding: utf-8 -*-
# Copyright: (c) 2026, gridnet.tenant contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Where workloads attach: the resource's namespace and its sysctls, the bridge and the veth pair.

The bridge and one veth end live in the node's own namespace (containers and
VMs attach there); the other veth end, in the resource's namespace, holds the
gateway addresses. MACs are part of the state only when the plan gives them.
"""

from __future__ import annotations

from ansible_collections.gridnet.tenant.plugins.module_utils.common import rules
from ansible_collections.gridnet.tenant.plugins.module_utils.node import netns
from ansible_collections.gridnet.tenant.plugins.module_utils.node.convergence import Change
from ansible_collections.gridnet.tenant.plugins.module_utils.common.errors import NodeError
from ansible_collections.gridnet.tenant.plugins.module_utils.node.netlink import IFF_UP, index_of, kind, link_changes
from ansible_collections.gridnet.tenant.plugins.module_utils.node.parts import Part

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
NAME_FIELDS = ("namespace", "bridge", "veth_host", "veth_ns")


def mac(resource, device, link=None):
    """{"mac": ...} of a device, wanted (from the plan) or read (from `link`), when the plan gives one; else {}."""
    if device not in (resource.get("macs") or {}):
        return {}
    return {"mac": resource["macs"][device] if link is None else link.get_attr("IFLA_ADDRESS")}


class Attachment(Part):
    check_when_absent = True  # its names say what to remove

    @staticmethod
    def check(resource):
        for field in NAME_FIELDS:
            if field in resource:
                rules.check_ifname(str(resource[field]), "resource %s" % field)

    def desired(self):
        resource = self.resource
        # the link-local is needed for Neighbour Discovery towards workloads (the kernel adds none: addr_gen_mode 1)
        addresses = [resource["gateway6"], resource["link_local"] + "/64"] + \
            ([resource["gateway4"]] if resource.get("gateway4") else [])
        return {
            "namespace": True,
            "sysctls": dict(NAMESPACE_SYSCTLS),
            "bridge": dict({"mtu": resource["mtu"], "up": True}, **mac(resource, "bridge")),
            "veth": dict({"mtu": resource["mtu"], "up": True, "addresses": sorted(addresses)},
                         **mac(resource, "veth_ns")),
        }

    def read(self, view):
        node, resource = self.target.node, self.resource
        state = {"namespace": view.exists, "sysctls": {}, "bridge": None, "veth": None}
        bridge = node.link_lookup(ifname=resource["bridge"])
        if bridge:
            link = node.get_links(bridge[0])[0]
            state["bridge"] = dict({"mtu": link.get_attr("IFLA_MTU"), "up": bool(link["flags"] & IFF_UP)},
                                   **mac(resource, "bridge", link))
        host = node.link_lookup(ifname=resource["veth_host"])
        state["_veth_host"] = node.get_links(host[0])[0] if host else None
        if view.exists:
            state["sysctls"] = netns.run_inside(resource["namespace"], netns.read_sysctls, list(NAMESPACE_SYSCTLS))
            if resource["veth_ns"] in view.links:
                state["veth"] = dict(view.basics(resource["veth_ns"]),
                                     **mac(resource, "veth_ns", view.links[resource["veth_ns"]]))
        return state

    def node_check(self, desired, actual):
        node = self.target.node
        for name, wanted_kind in ((self.resource["bridge"], "bridge"), (self.resource["veth_host"], "veth")):
            found = node.link_lookup(ifname=name)
            if found:
                found_kind = kind(node.get_links(found[0])[0])
                if found_kind != wanted_kind:
                    raise NodeError("interface %s exists on this node as a %s, not ours" % (name, found_kind))

    def changes(self, desired, actual):
        """Namespace, sysctls, bridge and veth: where workloads attach."""
        node, resource, name = self.target.node, self.resource, self.resource["namespace"]
        changes = []
        if not actual["namespace"]:
            changes.append(Change("create namespace %s" % name, lambda: netns.create(name)))
        if actual["sysctls"] != desired["sysctls"]:
            changes.append(Change("set forwarding and address sysctls in %s" % name,
                                  lambda: netns.run_inside(name, netns.write_sysctls, desired["sysctls"])))
        bridge, mtu = resource["bridge"], resource["mtu"]
        macs = resource.get("macs") or {}
        bridge_mac = {"address": macs["bridge"]} if "bridge" in macs else {}
        if actual["bridge"] is None:
            changes.append(Change("create bridge %s" % bridge,
                                  lambda: node.link("add", ifname=bridge, kind="bridge", **bridge_mac)))
        if actual["bridge"] != desired["bridge"]:
            text = "set bridge %s mtu %d up" % (bridge, mtu) + (" address %s" % macs["bridge"] if bridge_mac else "")
            changes.append(Change(text, lambda: node.link("set", index=index_of(node, bridge), mtu=mtu, state="up",
                                                          **bridge_mac)))
        host = actual["_veth_host"]
        actual_veth = actual["veth"]
        host_mac = {"address": macs["veth_host"]} if "veth_host" in macs else {}
        if host is None or actual_veth is None:
            def make_veth():
                for stale in node.link_lookup(ifname=resource["veth_host"]):
                    node.link("del", index=stale)
                peer = dict({"ifname": resource["veth_ns"], "net_ns_fd": name},
                            **({"address": macs["veth_ns"]} if "veth_ns" in macs else {}))
                node.link("add", ifname=resource["veth_host"], kind="veth", peer=peer, **host_mac)
            changes.append(Change("create veth %s <-> %s" % (resource["veth_host"], resource["veth_ns"]), make_veth))
            actual_veth = {"mtu": None, "up": False, "addresses": []}
        if host is None or host.get_attr("IFLA_MASTER") != (node.link_lookup(ifname=bridge) or [None])[0] \
                or host.get_attr("IFLA_MTU") != mtu or not host["flags"] & IFF_UP \
                or host_mac and host.get_attr("IFLA_ADDRESS") != host_mac["address"]:
            changes.append(Change("attach %s to %s" % (resource["veth_host"], bridge), lambda: node.link(
                "set", index=index_of(node, resource["veth_host"]), master=index_of(node, bridge),
                mtu=mtu, state="up", **host_mac)))
        return changes + link_changes(self.target.ns, resource["veth_ns"], actual_veth, desired["veth"])
