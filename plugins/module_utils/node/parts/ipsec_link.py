# -*- coding: utf-8 -*-
# Copyright: (c) 2026, gridnet.tenant contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""IPsec links: one XFRM interface per peer, made in the node's namespace (where the daemon's SAs and policies
live, keyed by the interface's if_id) and moved into the resource's, and the daemon's files (ipsec.py).

State: {"ipsec": {ifname: {"mtu", "up", "addresses", "if_id"}}, "ipsec_files": {path: content}}.
The rest of the product sees an XFRM link as it sees a WireGuard one: a point-to-point link with the
deterministic fe80 address, kernel address generation off (the namespace's default), routes and babeld on it.
"""

from __future__ import annotations

import ipaddress

from ansible_collections.gridnet.tenant.plugins.module_utils.common import rules
from ansible_collections.gridnet.tenant.plugins.module_utils.common.errors import InputError, NodeError
from ansible_collections.gridnet.tenant.plugins.module_utils.common.names import IPSEC_PREFIX as PREFIX
from ansible_collections.gridnet.tenant.plugins.module_utils.node import ipsec
from ansible_collections.gridnet.tenant.plugins.module_utils.node.convergence import Change
from ansible_collections.gridnet.tenant.plugins.module_utils.node.netlink import index_of, link_changes
from ansible_collections.gridnet.tenant.plugins.module_utils.node.parts import Part

IF_ID_RANGE = (1, 0xFFFFFFFE)  # 0 is no interface; 0xffffffff is the kernel's wildcard


def _if_id(link):
    data = link.get_attr("IFLA_LINKINFO").get_attr("IFLA_INFO_DATA")
    return data.get_attr("IFLA_XFRM_IF_ID") if data is not None else None


class IpsecLinks(Part):
    @staticmethod
    def check(resource):
        for link in ipsec.ipsec_links(resource):
            what = "IPsec link to %s" % link.get("peer")
            rules.check_ifname(link.get("interface", ""), what)
            if not str(link.get("interface", "")).startswith(PREFIX):
                raise InputError("%s: interface %r must start with %s" % (what, link.get("interface"), PREFIX))
            ipsec.check_public_key(link.get("public_key") or "", what)
            if_id = link.get("if_id")
            if isinstance(if_id, bool) or not isinstance(if_id, int) or not IF_ID_RANGE[0] <= if_id <= IF_ID_RANGE[1]:
                raise InputError("%s: if_id must be a number of %d-%d, not %r" % ((what,) + IF_ID_RANGE + (if_id,)))
            for field in ("local", "remote"):
                try:
                    address = ipaddress.ip_address(str(link.get(field)))
                except ValueError:
                    raise InputError("%s: %s %r is not an address" % (what, field, link.get(field)))
                if address.version != 6:
                    raise InputError("%s: %s %s must be IPv6 (IPsec links are for routed IPv6 underlays)"
                                     % (what, field, address))

    def desired(self):
        resource, link_local = self.resource, self.resource["link_local"] + "/64"
        links = {link["interface"]: {"mtu": link["mtu"], "up": True, "addresses": [link_local],
                                     "if_id": link["if_id"]} for link in ipsec.ipsec_links(resource)}
        files = ipsec.files(resource, self.target.ipsec_public_key()) if links else {}
        return {"ipsec": links, "ipsec_files": files}

    def read(self, view):
        found = {name: dict(view.basics(name), if_id=_if_id(view.links[name]))
                 for name, link_kind in view.kinds.items() if name.startswith(PREFIX) and link_kind == "xfrm"}
        return {"ipsec": found, "ipsec_files": ipsec.ours(self.resource["namespace"])}

    def node_check(self, desired, actual):
        if desired["ipsec_files"] and not self.target.check_mode and ipsec.shutil.which(ipsec.SWANCTL) is None:
            raise NodeError("IPsec links need strongSwan on this node (charon-systemd, strongswan-swanctl, "
                            "libstrongswan-standard-plugins): swanctl is missing")

    def changes(self, desired, actual):
        ns, changes = self.target.ns, []
        for name, have in sorted(actual["ipsec"].items()):
            want = desired["ipsec"].get(name)
            if want is None or have["if_id"] != want["if_id"]:
                changes.append(Change("remove IPsec link %s" % name, lambda name=name: ns().link(
                    "del", index=index_of(ns(), name))))
        for name, want in sorted(desired["ipsec"].items()):
            have = actual["ipsec"].get(name)
            if have is None or have["if_id"] != want["if_id"]:
                changes.append(Change("create IPsec link %s (if_id %d)" % (name, want["if_id"]),
                                      lambda name=name, want=want: self._create(name, want)))
                have = {"mtu": None, "up": False, "addresses": []}
            changes += link_changes(ns, name, have, want)
        if desired["ipsec_files"] != actual["ipsec_files"]:
            wanted, present = desired["ipsec_files"], actual["ipsec_files"]
            what = "write the IPsec connections of %s and load them" % self.resource["namespace"] if wanted \
                else "remove the IPsec connections of %s and unload them" % self.resource["namespace"]
            changes.append(Change(what, lambda: ipsec.write(wanted, present)))
        return changes

    def _create(self, name, want):
        node = self.target.node
        for stale in node.link_lookup(ifname=name):  # a leftover of an interrupted run
            node.link("del", index=stale)
        node.link("add", ifname=name, kind="xfrm", xfrm_if_id=want["if_id"])
        node.link("set", index=node.link_lookup(ifname=name)[0], net_ns_fd=self.resource["namespace"])
