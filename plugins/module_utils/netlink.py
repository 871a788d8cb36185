# -*- coding: utf-8 -*-
# Copyright: (c) 2026, gridnet.tenant contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""What every converging module shares: a change list, link basics, apply.

A module reads the kernel into the shape of its desired state, builds a list
of Change objects (text for the user, a callable for the kernel), and applies
them in order unless in check mode.
"""

from __future__ import annotations

import socket

try:
    from pyroute2.netlink.exceptions import NetlinkError
except ImportError:  # reported by the modules through missing_required_lib
    NetlinkError = Exception

IFA_F_NODAD = 0x02
IFF_UP = 0x1


class ConvergeError(Exception):
    """Bad input or a node that cannot take the plan; raised before anything changes."""


class Change(object):
    def __init__(self, text, apply):
        self.text = text
        self.apply = apply


def kind(link):
    info = link.get_attr("IFLA_LINKINFO")
    return info.get_attr("IFLA_INFO_KIND") if info else None


def addresses(ipr, index):
    return sorted("%s/%d" % (a.get_attr("IFA_ADDRESS"), a["prefixlen"]) for a in ipr.get_addr(index=index))


def link_basics(ipr, link):
    return {"mtu": link.get_attr("IFLA_MTU"), "up": bool(link["flags"] & IFF_UP),
            "addresses": addresses(ipr, link["index"])}


def owned_routes(ipr, proto):
    """(destination, route) for every IPv6 and IPv4 route of protocol `proto`; defaults as ::/0 and 0.0.0.0/0."""
    for family, default in ((socket.AF_INET6, "::/0"), (socket.AF_INET, "0.0.0.0/0")):
        for route in ipr.get_routes(family=family, proto=proto):
            dst = route.get_attr("RTA_DST")
            yield ("%s/%d" % (dst, route["dst_len"]) if dst else default), route


def index_of(ipr, ifname):
    found = ipr.link_lookup(ifname=ifname)
    if not found:
        raise ConvergeError("interface %s vanished while converging" % ifname)
    return found[0]


def link_changes(ns, ifname, have, want):
    """MTU (when wanted), addresses and up/down of a link inside a namespace; ns() opens it lazily."""
    changes = []
    if want.get("mtu") is not None and have.get("mtu") != want["mtu"]:
        changes.append(Change("set %s mtu %d" % (ifname, want["mtu"]),
                              lambda: ns().link("set", index=index_of(ns(), ifname), mtu=want["mtu"])))
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


def apply_changes(changes, errors=(NetlinkError, OSError)):
    """Apply in order; the first failure names the change that failed."""
    for change in changes:
        try:
            change.apply()
        except errors as exc:
            raise ConvergeError("%s failed: %s" % (change.text, exc))
