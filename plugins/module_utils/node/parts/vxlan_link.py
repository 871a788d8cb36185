# -*- coding: utf-8 -*-
# Copyright: (c) 2026, gridnet.tenant contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The resource's VXLAN device, towards the members that share its L2 segment: one fdb entry per peer, or a
multicast group. Made in the node's namespace (its UDP socket stays there) and moved into the resource's.

State: {"name", "vni", "local", "port", "mtu", "up", "addresses", "group", "remotes", "mac"} or None.
"""

from __future__ import annotations

from ansible_collections.gridnet.tenant.plugins.module_utils.node.convergence import Change
from ansible_collections.gridnet.tenant.plugins.module_utils.common.errors import NodeError
from ansible_collections.gridnet.tenant.plugins.module_utils.common.names import PREFIXES
from ansible_collections.gridnet.tenant.plugins.module_utils.node.netlink import index_of, link_changes
from ansible_collections.gridnet.tenant.plugins.module_utils.node.parts import Part
from ansible_collections.gridnet.tenant.plugins.module_utils.node.parts.attachment import mac

IMMUTABLE = ("name", "vni", "local", "port", "group")  # changed only by making the device again


def _entry(ns, link, name, entry):
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


class VxlanLink(Part):
    def desired(self):
        resource = self.resource
        if not resource.get("vxlan"):
            return {"vxlan": None}
        device = resource["vxlan"]
        wanted = {
            "name": device["name"],
            "vni": device["vni"],
            "local": device["local"],
            "port": device["port"],
            "mtu": device["mtu"],
            "up": True,
            "addresses": [resource["link_local"] + "/64"],
            "group": device.get("group"),
            "remotes": [] if device.get("group") else
            sorted(c["remote"] for c in resource["connected"] if c["connection"] == "localvxlan"),
        }
        wanted.update(mac(resource, "vxlan"))
        return {"vxlan": wanted}

    def read(self, view):
        wanted_name = (self.resource.get("vxlan") or {}).get("name")
        found = None
        for name, link_kind in view.kinds.items():
            if name == wanted_name or name.startswith(PREFIXES["vxlan"]) and link_kind == "vxlan":
                link = view.links[name]
                found = dict(_entry(view.ns, link, name, view.basics(name)), **mac(self.resource, "vxlan", link))
        return {"vxlan": found}

    def changes(self, desired, actual):
        want, have, changes = desired["vxlan"], actual["vxlan"], []
        ns = self.target.ns
        if have is not None and (want is None or any(have[k] != want[k] for k in IMMUTABLE)):
            # the name is bound now: `have` is rebound below, before any change runs
            changes.append(Change("remove VXLAN %s" % have["name"], lambda name=have["name"]: ns().link(
                "del", index=index_of(ns(), name))))
            have = None
        if want is None:
            return changes
        if have is None:
            changes.append(Change("create VXLAN %s id %d local %s" % (want["name"], want["vni"], want["local"]),
                                  lambda: self._create(want, self.resource["vxlan"].get("device"))))
            have = {"mtu": None, "up": False, "addresses": [], "remotes": []}
        for remote in sorted(set(have["remotes"]) - set(want["remotes"])):
            changes.append(Change("remove VXLAN peer %s" % remote, lambda remote=remote: ns().fdb(
                "del", ifindex=index_of(ns(), want["name"]), lladdr="00:00:00:00:00:00", dst=remote)))
        for remote in sorted(set(want["remotes"]) - set(have["remotes"])):
            changes.append(Change("add VXLAN peer %s" % remote, lambda remote=remote: ns().fdb(
                "append", ifindex=index_of(ns(), want["name"]), lladdr="00:00:00:00:00:00", dst=remote)))
        return changes + link_changes(ns, want["name"], have, want)

    def _create(self, want, device=None):
        node = self.target.node
        for stale in node.link_lookup(ifname=want["name"]):
            node.link("del", index=stale)
        options = {"vxlan_local6" if ":" in want["local"] else "vxlan_local": want["local"]}
        if want.get("group"):
            found = node.link_lookup(ifname=device or "")
            if not found:
                raise NodeError("VXLAN multicast needs the segment's interface %r on this node" % device)
            options["vxlan_group6" if ":" in want["group"] else "vxlan_group"] = want["group"]
            options["vxlan_link"] = found[0]
        if want.get("mac"):
            options["address"] = want["mac"]
        node.link("add", ifname=want["name"], kind="vxlan", vxlan_id=want["vni"], vxlan_port=want["port"],
                  vxlan_learning=0, **options)
        node.link("set", index=node.link_lookup(ifname=want["name"])[0], net_ns_fd=self.resource["namespace"])
