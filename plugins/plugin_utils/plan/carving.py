# -*- coding: utf-8 -*-
# Copyright: (c) 2026, gridnet.tenant contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Prefix carving: hand out sub-prefixes of a pool, never renumbering anyone.

Each key (a netid, a node name) has a preferred slot, a hash of the key, so
that adding a key rarely disturbs the others even without a ledger; existing
assignments always win, so with the ledger nothing is ever renumbered.
"""

from __future__ import annotations

import ipaddress
import socket

from ansible_collections.gridnet.tenant.plugins.plugin_utils.plan.errors import PlanError, netaddr
from ansible_collections.gridnet.tenant.plugins.plugin_utils.plan.naming import preferred_slot


_BITS = {4: 32, 6: 128}


def _parsed(parse, value, what, version, kind, noun):
    """value parsed by netaddr's `parse`, of IP `version` when given; else refused by name: not `kind`, or not an
    IPv`version` `noun`."""
    try:
        found = parse(str(value))
    except (netaddr.AddrFormatError, ValueError, TypeError):
        raise PlanError("%s: %r is not %s" % (what, value, kind))
    if version is not None and found.version != version:
        raise PlanError("%s: %r is not an IPv%d %s" % (what, value, version, noun))
    return found


def parse_prefix(value, what, version=None):
    """A network prefix; a host address (host bits set) is refused by name."""
    net = _parsed(netaddr.IPNetwork, value, what, version, "an IP prefix", "prefix")
    if "/" not in str(value):
        raise PlanError("%s: %r has no prefix length; write it as a CIDR prefix" % (what, value))
    if net.ip != net.network:
        raise PlanError(
            "%s: %r is a host address, a prefix is expected here (did you mean %s?)"
            % (what, value, net.cidr)
        )
    return net


def parse_interface_address(value, what, version=None):
    """An address with its prefix length (address/len), as configured on an interface."""
    net = _parsed(netaddr.IPNetwork, value, what, version, "an address/prefix-length", "address")
    if "/" not in str(value):
        raise PlanError("%s: %r needs a prefix length (address/len)" % (what, value))
    if net.ip == net.network and net.prefixlen < _BITS[net.version] - 1:
        raise PlanError("%s: %r is a network prefix, an interface address is expected here" % (what, value))
    return net


def parse_address(value, what, version=None):
    return _parsed(netaddr.IPAddress, value, what, version, "an IP address", "address")


def format_address(value, version):
    """Text form of an integer address (RFC 5952 for IPv6), without netaddr's per-call overhead."""
    if version == 4:
        return "%d.%d.%d.%d" % (value >> 24, (value >> 16) & 255, (value >> 8) & 255, value & 255)
    if value >> 48:
        return socket.inet_ntop(socket.AF_INET6, value.to_bytes(16, "big"))
    # inet_ntop writes addresses with 80 leading zero bits as ::a.b.c.d or ::ffff:a.b.c.d
    groups = [(value >> shift) & 0xFFFF for shift in range(112, -16, -16)]
    best_start, best_len, start = -1, 1, None
    for i, group in enumerate(groups + [1]):
        if group == 0 and start is None:
            start = i
        elif group != 0 and start is not None:
            if i - start > best_len:
                best_start, best_len = start, i - start
            start = None
    text = ["%x" % g for g in groups]
    if best_start < 0:
        return ":".join(text)
    return ":".join(text[:best_start]) + "::" + ":".join(text[best_start + best_len:])


def _format(value, prefixlen, version):
    return "%s/%d" % (format_address(value, version), prefixlen)


def host_at(prefix, index):
    """The index-th address of a prefix string, as address/len (the standard library's ipaddress: a host's
    slice needs this and nothing else of netaddr, which would cost each slicing worker its import)."""
    net = ipaddress.ip_network(prefix)
    return "%s/%d" % (net[index], net.prefixlen)


def carve(pool, prefixlen, keys, existing=None, released=(), what="pool", salt=""):
    """Assign one /prefixlen of pool to each key.

    existing  {key: prefix} handed out before; every one of them stays taken
              (also for keys not asked for now) and is returned unchanged.
    released  prefixes given back; reused only once every other slot is taken,
              so a stale route elsewhere never points at a new tenant.
    Returns {key: prefix} for the keys asked for.
    """
    pool = parse_prefix(pool, what) if not isinstance(pool, netaddr.IPNetwork) else pool
    if prefixlen < pool.prefixlen or prefixlen > _BITS[pool.version]:
        raise PlanError("%s %s cannot be divided into /%d prefixes" % (what, pool, prefixlen))
    count = 1 << (prefixlen - pool.prefixlen)
    shift = _BITS[pool.version] - prefixlen
    taken = {}
    result = {}
    for key, prefix in sorted((existing or {}).items()):
        net = parse_prefix(prefix, "%s: existing assignment of %s" % (what, key), pool.version)
        if net.prefixlen != prefixlen or net not in pool:
            raise PlanError(
                "%s: existing assignment %s of %s is not a /%d inside %s"
                % (what, prefix, key, prefixlen, pool)
            )
        index = (net.value - pool.value) >> shift
        if index in taken:
            raise PlanError(
                "%s: %s is assigned to both %s and %s (overlapping prefixes)"
                % (what, prefix, taken[index], key)
            )
        taken[index] = key
        result[key] = str(net.cidr)
    released_slots = set()
    for prefix in released:
        net = parse_prefix(prefix, "%s: released prefix" % what, pool.version)
        if net in pool and net.prefixlen == prefixlen:
            released_slots.add((net.value - pool.value) >> shift)
    wanted = [k for k in sorted(set(keys)) if k not in result]
    if len(taken) + len(wanted) > count:
        raise PlanError(
            "%s %s is exhausted: %d /%d prefixes exist, %d are taken and %d more are needed (first unplaced: %s)"
            % (what, pool, count, prefixlen, len(taken), len(wanted), wanted[count - len(taken)])
        )
    free_fresh = count - len(taken) - len(released_slots - set(taken))
    for key in wanted:
        index = _probe(preferred_slot(count, salt, key), count, taken,
                       released_slots if free_fresh > 0 else ())
        taken[index] = key
        if index not in released_slots:
            free_fresh -= 1
        result[key] = _format(pool.value + (index << shift), prefixlen, pool.version)
    return {k: result[k] for k in sorted(set(keys))}


def _probe(start, count, taken, avoid):
    index = start
    while index in taken or index in avoid:
        index = (index + 1) % count
    return index


def pick_number(low, high, key, taken, what):
    """A number in [low, high] for key, hash-preferred, not in taken."""
    size = high - low + 1
    if len(taken) >= size:
        raise PlanError("%s: all %d values from %d to %d are in use" % (what, size, low, high))
    offset = preferred_slot(size, key)
    while low + offset in taken:
        offset = (offset + 1) % size
    return low + offset
