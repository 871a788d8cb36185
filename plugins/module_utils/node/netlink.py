# -*- coding: utf-8 -*-
# Copyright: (c) 2026, gridnet.tenant contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Link basics every converging module shares: kind, addresses, up, MTU, and their changes."""

from __future__ import annotations

from ansible_collections.gridnet.tenant.plugins.module_utils.node.convergence import Change
from ansible_collections.gridnet.tenant.plugins.module_utils.common.errors import ApplyError

from ansible_collections.gridnet.tenant.plugins.module_utils.node.pyroute import NetlinkError

APPLY_ERRORS = (NetlinkError, OSError)  # what a netlink change may raise; apply_changes names the change

IFA_F_NODAD = 0x02
IFF_UP = 0x1


def kind(link):
    info = link.get_attr("IFLA_LINKINFO")
    return info.get_attr("IFLA_INFO_KIND") if info else None


def addresses(ipr, index):
    return sorted("%s/%d" % (a.get_attr("IFA_ADDRESS"), a["prefixlen"]) for a in ipr.get_addr(index=index))


def addresses_by_index(ipr):
    """Every address of a namespace in one dump, by link index: one netlink round trip, not one per link."""
    found = {}
    for a in ipr.get_addr():
        found.setdefault(a["index"], []).append("%s/%d" % (a.get_attr("IFA_ADDRESS"), a["prefixlen"]))
    return {index: sorted(values) for index, values in found.items()}


def link_basics(ipr, link, by_index=None):
    """MTU, up and addresses; by_index (addresses_by_index) saves the per-link dump."""
    found = by_index.get(link["index"], []) if by_index is not None else addresses(ipr, link["index"])
    return {"mtu": link.get_attr("IFLA_MTU"), "up": bool(link["flags"] & IFF_UP), "addresses": found}


def index_of(ipr, ifname):
    found = ipr.link_lookup(ifname=ifname)
    if not found:
        raise ApplyError("interface %s vanished while converging" % ifname)
    return found[0]


def link_changes(ns, ifname, have, want):
    """MTU and MAC (when wanted), addresses and up/down of a link inside a namespace; ns() opens it lazily.

    A link made by this run was given its MAC when it was made (`have` then has none to compare).
    """
    changes = []
    if want.get("mtu") is not None and have.get("mtu") != want["mtu"]:
        changes.append(Change("set %s mtu %d" % (ifname, want["mtu"]),
                              lambda: ns().link("set", index=index_of(ns(), ifname), mtu=want["mtu"])))
    if want.get("mac") and "mac" in have and have["mac"] != want["mac"]:
        changes.append(Change("set %s address %s" % (ifname, want["mac"]),
                              lambda: ns().link("set", index=index_of(ns(), ifname), address=want["mac"])))
    for address in sorted(set(have.get("addresses", [])) - set(want["addresses"])):
        changes.append(Change("remove address %s from %s" % (address, ifname), lambda address=address: ns().addr(
            "del", index=index_of(ns(), ifname), address=address.split("/")[0], prefixlen=int(address.split("/")[1]))))
    for address in sorted(set(want["addresses"]) - set(have.get("addresses", []))):
        changes.append(Change("add address %s to %s" % (address, ifname), lambda address=address: ns().addr(
            "add", index=index_of(ns(), ifname), address=address.split("/")[0], prefixlen=int(address.split("/")[1]),
            flags=IFA_F_NODAD)))
    if not have.get("up"):
        changes.append(Change("set %s up" % ifname, lambda: ns().link("set", index=index_of(ns(), ifname), state="up")))
    return changes
