# -*- coding: utf-8 -*-
# Copyright: (c) 2026, gridnet.tenant contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Routes as records, read from and written to the kernel by their owner's protocol.

A route is {dst: {"via": next hop, "dev": interface, "metric": n}}, holding
only the fields its owner manages (the upstream router's routes have no
device). A route is ours by its protocol number (rules.ROUTE_PROTO,
rules.EXIT_ROUTE_PROTO): routes of any other origin are never read or touched.
An IPv4 route may go through an IPv6 link-local next hop (RFC 8950 style).
"""

from __future__ import annotations

import socket

from ansible_collections.gridnet.tenant.plugins.module_utils.node.convergence import Change, show
from ansible_collections.gridnet.tenant.plugins.module_utils.node.netlink import index_of

DEFAULTS = {socket.AF_INET6: "::/0", socket.AF_INET: "0.0.0.0/0"}
FIELDS = ("via", "dev", "metric")  # a route record's fields, in the order they read


def text(record):
    """How a route record reads in change lists and returned states: "via X dev Y metric N"."""
    return " ".join("%s %s" % (field, record[field]) for field in FIELDS if field in record)


def display(state):
    """A state as modules return it: its routes read as text (the display of every target with routes)."""
    if isinstance(state, dict) and isinstance(state.get("routes"), dict):
        return dict(state, routes={dst: text(r) for dst, r in state["routes"].items()})
    return state


def shown(value):
    """A value of a state with routes, in a read-back failure: a route record as text."""
    return text(value) if isinstance(value, dict) and "via" in value else show(value)


def route(via, dev=None, metric=None):
    """A route record with the fields given."""
    return {k: v for k, v in zip(FIELDS, (via, dev, metric)) if v is not None}


def entries(ipr, proto, fields=("via", "dev"), names=None):
    """(dst, record) of every IPv6 and IPv4 route of protocol `proto` (or of any of a tuple of them; defaults as
    ::/0 and 0.0.0.0/0), several per dst when the kernel has them (different metrics). names: {index: name} of
    the links, when the caller has dumped them already."""
    if names is None:
        names = {link["index"]: link.get_attr("IFLA_IFNAME") for link in ipr.get_links()} if "dev" in fields else {}
    protos = proto if isinstance(proto, tuple) else (proto,)
    for family, default in DEFAULTS.items():
        for entry in ipr.get_routes(family=family, **({"proto": proto} if len(protos) == 1 else {})):
            if entry["proto"] not in protos:
                continue
            dst = entry.get_attr("RTA_DST")
            via = entry.get_attr("RTA_VIA")
            values = {"via": entry.get_attr("RTA_GATEWAY") or (via["addr"] if via else None),
                      "dev": names.get(entry.get_attr("RTA_OIF"), "?"),
                      "metric": entry.get_attr("RTA_PRIORITY") or 0}
            yield "%s/%d" % (dst, entry["dst_len"]) if dst else default, {f: values[f] for f in fields}


def read(ipr, proto, fields=("via", "dev")):
    """{dst: record} of every IPv6 and IPv4 route of protocol `proto` (defaults as ::/0 and 0.0.0.0/0)."""
    return dict(sorted(entries(ipr, proto, fields)))


def write(ipr, command, dst, record, proto):
    """`ip route replace|del` of one record; dst may be a key "PREFIX metric N" (one of several routes to PREFIX)."""
    dst = dst.split(" ", 1)[0]
    if command == "del" and "dev" in record and not ipr.link_lookup(ifname=record["dev"]):
        return  # went with its link
    options = {"dst": dst, "proto": proto}
    if "dev" in record:
        options["oif"] = index_of(ipr, record["dev"])
    if "metric" in record:
        options["priority"] = record["metric"]
    if ":" in dst or ":" not in record["via"]:
        options["gateway"] = record["via"]
    else:
        options["via"] = {"family": socket.AF_INET6, "addr": record["via"]}
    ipr.route(command, **options)


def changes(ipr, actual, desired, proto):
    """Make the routes of `proto` exactly `desired`. ipr() gives the netlink socket, opened lazily.

    Where the metric is managed it is part of a route's key: replace would add a
    second route beside the old one, so a changed route is removed first.
    """
    result = []
    for dst in sorted(set(actual) - set(desired)):
        result.append(Change("remove route %s %s" % (dst, text(actual[dst])),
                             lambda dst=dst: write(ipr(), "del", dst, actual[dst], proto)))
    for dst, wanted in desired.items():
        old = actual.get(dst)
        if old == wanted:
            continue
        if old is not None and "metric" in wanted:
            result.append(Change("remove route %s %s" % (dst, text(old)),
                                 lambda dst=dst, old=old: write(ipr(), "del", dst, old, proto)))
        result.append(Change("route %s %s" % (dst, text(wanted)),
                             lambda dst=dst, wanted=wanted: write(ipr(), "replace", dst, wanted, proto)))
    return result
