# -*- coding: utf-8 -*-
# Copyright: (c) 2026, gridnet.tenant contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""A relay's UDP forwarding: two nodes behind NAT linked through a reachable member, in the kernel.

Each relayed pair has two ports on the relay's underlay address: the pair's
first node dials the even one, the second the odd one (port ^ 1). A datagram
arriving on a port teaches the relay where its sender is (address and port as
its NAT shows them, kept under the partner port); it is then rewritten, with
no connection tracking, to come from the partner port and go to the partner's
last learnt address and port, and sent by the kernel's own output path (nft
`dup`, then the original is dropped). So the node forwards nothing in the
routing sense: no forwarding sysctl, no conntrack entry, no decryption. A
WireGuard link whose UDP goes this way is as fast as a direct one plus one
kernel hop.

A datagram from a new address or port replaces what was learnt for its port,
so a NAT that changes its mapping is followed at its next packet, and a table
made again (after the node's own firewall flushed it) relearns both ends from
their keepalives (KEEPALIVE). Anyone able
to send to the relay's ports can therefore divert a relayed link's datagrams
(still encrypted: the link's peer discards them) until the real node's next
packet; the ends keep 25 s keepalives, so a diversion lasts while it is kept up.

One table per network and IP version (families ip and ip6: nft's `dup` has
no inet form), in the node's own namespace, where the WireGuard sockets are.
It is compared in nft's terse listing, without the learnt entries.
"""

from __future__ import annotations

import ipaddress
import shutil

from ansible_collections.gridnet.tenant.plugins.module_utils.node import nftables
from ansible_collections.gridnet.tenant.plugins.module_utils.node.convergence import Change
from ansible_collections.gridnet.tenant.plugins.module_utils.common.errors import InputError, NodeError

# IP version key of the plan's relay entry -> (nft family, address type, address selector)
FAMILIES = {"ipv4": ("ip", "ipv4_addr", "ip"), "ipv6": ("ip6", "ipv6_addr", "ip6")}
LEARNT_TIMEOUT = "3m"  # a sender not heard for this long is learnt again from its next datagram
# The persistent keepalive of a link whose endpoint is a relay's port (both ends are behind NAT). A relay
# that lost what it learnt (the node's firewall flushed the ruleset; the agent restores the table within a
# second) forwards a pair again once each end has sent a datagram: this bounds that wait, for 32-byte
# datagrams every few seconds per relayed link.
KEEPALIVE = 2


TABLE_PREFIX = "gt_relay_"


def table_name(tag):
    return TABLE_PREFIX + tag


def tags_of(present_tables):
    """{tag: {nft family: True}} of every relay table of ours among present_tables (tables())."""
    found = {}
    for family, name in present_tables:
        if name.startswith(TABLE_PREFIX) and family in ("ip", "ip6"):
            found.setdefault(name[len(TABLE_PREFIX):], {})[family] = True
    return found


def check(resource):
    """Refuse a relay entry that is not the plan's shape, by name, before anything is touched (its values
    become nft text)."""
    relay = resource.get("relay") or {}
    if not isinstance(relay, dict):
        raise InputError("resource relay: a mapping of ipv6/ipv4 entries or null, got %r" % (relay,))
    for version, duty in relay.items():
        what = "resource relay.%s" % version
        if version not in FAMILIES or not isinstance(duty, dict):
            raise InputError("%s: only ipv6 and ipv4 entries of {address, ports} are known" % what)
        try:
            address = ipaddress.ip_address(str(duty.get("address")))
        except ValueError:
            raise InputError("%s.address: %r is not an IP address" % (what, duty.get("address")))
        if address.version != (6 if version == "ipv6" else 4):
            raise InputError("%s.address: %s is not an IP%s address" % (what, address, version[2:]))
        ports = duty.get("ports")
        if not isinstance(ports, list) or not ports or \
                not all(isinstance(p, int) and not isinstance(p, bool) and 1 <= p <= 65535 for p in ports):
            raise InputError("%s.ports: a list of port numbers is needed, got %r" % (what, ports))


def ruleset(resource, version):
    """The relay table of one network and IP version as nft input text."""
    duty = resource["relay"][version]
    family, address_type, ip = FAMILIES[version]
    address, ports = duty["address"], ", ".join(str(p) for p in duty["ports"])
    sender = "%s saddr . udp sport . udp dport" % ip
    rules = [
        'iifname "lo" return',  # a datagram sent back to the relay itself is never relayed again
        "%s daddr != %s return" % (ip, address),
        "meta l4proto != udp return",
        "udp dport != { %s } return" % ports,
        # a sender not seen on this port from this address and port replaces what was learnt for it
        "%s != @seen delete @address { udp dport ^ 1 : %s saddr } delete @port { udp dport ^ 1 : udp sport }"
        % (sender, ip),
        "%s != @seen add @address { udp dport ^ 1 : %s saddr } add @port { udp dport ^ 1 : udp sport }"
        % (sender, ip),
        "update @seen { %s }" % sender,
        # to the partner, from the partner's port; nothing learnt for it yet: dropped below
        "notrack %s saddr set %s %s daddr set udp dport map @address udp sport set udp dport ^ 1 "
        "udp dport set udp dport map @port dup to %s daddr" % (ip, address, ip, ip),
        "drop",
        # never reached: a conntrack expression makes the kernel reassemble fragments before this chain
        # (defragmentation runs first), so a datagram an end's underlay fragmented is relayed whole
        "ct state untracked counter",
    ]
    lines = [
        "table %s %s {" % (family, table_name(resource["tag"])),
        '\tcomment "gridnet.tenant relay of network %s"' % resource["netid"].replace('"', ""),
        "\tset seen { type %s . inet_service . inet_service; size 65535; flags dynamic,timeout; timeout %s; }"
        % (address_type, LEARNT_TIMEOUT),
        "\tmap address { type inet_service : %s; size 65535; flags dynamic; }" % address_type,
        "\tmap port { type inet_service : inet_service; size 65535; flags dynamic; }",
        "\tchain prerouting {",
        "\t\ttype filter hook prerouting priority raw; policy accept;",
    ] + ["\t\t" + rule for rule in rules] + ["\t}", "}"]
    return "\n".join(lines) + "\n"


def desired(resource, nft="nft", keep=True):
    """{nft family: the table's terse listing} this resource's node must hold as a relay."""
    wanted = {}
    for version in sorted(resource.get("relay") or {}):
        family = FAMILIES[version][0]
        if shutil.which(nft) is None:
            raise NodeError("this node relays network %s (%s): it needs nft, which is not installed"
                            % (resource["netid"], version))
        wanted[family] = nftables.canonical(ruleset(resource, version), table_name(resource["tag"]), nft,
                                            keep=keep, family=family, terse=True)
    return wanted


def tables():
    """{(nft family, name)} of the ip and ip6 tables of this process's network namespace: no nft process on a
    node that relays nothing."""
    return set(nftables.tables(("ip", "ip6")))


def read(resource, present_tables, nft="nft"):
    """{nft family: the live table's terse listing} of this resource's relay tables.
    present_tables: {(family, name)} of the node's nft tables, so a node relaying nothing runs no nft."""
    name, found = table_name(resource["tag"]), {}
    for family, _unused, _unused in FAMILIES.values():
        if (family, name) in present_tables:
            found[family] = nftables.read(None, name, nft, family=family, terse=True)
    return found


def changes(resource, actual, wanted, nft="nft"):
    name, result = table_name(resource["tag"]), []
    for family in sorted(set(actual) - set(wanted)):
        result.append(Change("remove nftables relay table %s %s" % (family, name),
                             lambda family=family: nftables.delete(None, name, nft, family=family)))
    by_family = {FAMILIES[v][0]: v for v in resource.get("relay") or {}}
    for family in sorted(wanted):
        if actual.get(family) != wanted[family]:
            version = by_family[family]
            text = ruleset(resource, version)
            ports = ", ".join(str(p) for p in resource["relay"][version]["ports"])
            verb = "replace" if family in actual else "create"
            result.append(Change("%s nftables relay table %s %s (ports %s)" % (verb, family, name, ports),
                                 lambda text=text, family=family: nftables.replace(None, text, name, nft,
                                                                                   family=family)))
    return result


def removal(resource, actual, nft="nft"):
    """Remove the relay tables in actual ({nft family: anything}); resource needs only its tag."""
    return changes(resource, actual, {}, nft)
