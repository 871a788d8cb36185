# -*- coding: utf-8 -*-
# Copyright: (c) 2026, gridnet.tenant contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Access peers: a person's device (an operator's laptop, a tenant's user) joined to one network from outside.

An access peer is not a node: the inventory gives its name, its public key (the private half stays with its
owner) and the member it dials. The network gets one more /64 and /24 (carved as the member ACCESS_MEMBER, so
the ledger keeps them), and each access peer one host number in both, kept in the ledger. The member it dials
holds a WireGuard link to it (named from its key, like every link) and routes its two addresses into that link;
the other members route them towards that member (static routing) or learn them from its babeld. Its wg-quick
configuration is written on the controller (client_config), without a private key. docs/access.md.
"""

from __future__ import annotations

import re
from collections import namedtuple

from ansible_collections.gridnet.tenant.plugins.module_utils.common import rules
from ansible_collections.gridnet.tenant.plugins.plugin_utils.plan.carving import host_at, pick_number
from ansible_collections.gridnet.tenant.plugins.plugin_utils.plan.errors import PlanError
from ansible_collections.gridnet.tenant.plugins.plugin_utils.plan.fields import integer, known_keys, mapping, sequence
from ansible_collections.gridnet.tenant.plugins.plugin_utils.plan.naming import link_local, wireguard_ifname

Access = namedtuple("Access", "name public_key node family private_key_file")
ACCESS_MEMBER = "@access"  # the name the network's access /64 and /24 are carved and recorded under
PORT_KEY = "@"  # ports[node][netid]["@" + name]: the listen port of the dialled member's link to an access peer
HOSTS = (2, 254)  # host numbers of the access /64 and /24 (.1 would look like a gateway)
NAME = re.compile(r"^[a-z0-9][a-z0-9-]{0,30}$")
KEEPALIVE = 25  # from the access peer: it is behind NAT more often than not
_KEYS = {"name", "public_key", "node", "family", "private_key_file"}


def read(value, network_what, members, underlays):
    """The network's access entries, checked: unique names and keys, a reachable member to dial."""
    entries, names, keys = [], set(), set()
    for position, raw in enumerate(sequence(value, network_what + ".access")):
        what = "%s: access[%d]" % (network_what, position)
        mapping(raw, what)
        known_keys(raw, _KEYS, what)
        name = str(raw.get("name", ""))
        if not NAME.match(name):
            raise PlanError("%s: name %r must be 1-31 characters [a-z0-9-], starting with a letter or digit"
                            % (what, name))
        if name in names:
            raise PlanError("%s: name %r is used twice" % (what, name))
        key = rules.check_public_key(raw.get("public_key") or "", "%s (%s)" % (what, name))
        if key in keys:
            raise PlanError("%s: public key of %r is already another access peer's" % (what, name))
        node = raw.get("node")
        if node not in members:
            raise PlanError("%s: node %r (the member %s dials) is not a member of the network" % (what, node, name))
        underlay = underlays[node]
        if not underlay.reachable:
            raise PlanError("%s: node %r is behind NAT (reachable: false); an access peer must be able to dial it"
                            % (what, node))
        family = integer(raw.get("family", 6 if underlay.ipv6 else 4), what + ".family", 4, 6)
        if family not in (4, 6):
            raise PlanError("%s.family: %d must be 6 or 4 (the IP version it dials %r over)" % (what, family, node))
        if not (underlay.ipv6 if family == 6 else underlay.ipv4):
            raise PlanError("%s: node %r has no IPv%d underlay address to be dialled at" % (what, node, family))
        private_key_file = str(raw.get("private_key_file") or "/etc/wireguard/%s.key" % name)
        if not private_key_file.startswith("/") or any(c.isspace() for c in private_key_file):
            raise PlanError("%s: private_key_file %r must be an absolute path without spaces" % (what, private_key_file))
        names.add(name)
        keys.add(key)
        entries.append(Access(name, key, node, family, private_key_file))
    return tuple(entries)


def host_numbers(net, existing_networks):
    """{name: host number} of the network's access peers: recorded ones kept, new ones hash-preferred."""
    held = ((existing_networks.get(net.netid) or {}).get("access") or {})
    numbers, taken = {}, set()
    for entry in net.access:
        number = (held.get(entry.name) or {}).get("host")
        if number is not None:
            numbers[entry.name] = int(number)
            taken.add(int(number))
    for entry in net.access:
        if entry.name not in numbers:
            numbers[entry.name] = pick_number(HOSTS[0], HOSTS[1], "access\x1f%s\x1f%s" % (net.netid, entry.name),
                                              taken, "network %r: access host numbers" % net.netid)
            taken.add(numbers[entry.name])
    return numbers


def rendered_access(net, prefix, subnet, numbers):
    """What the plan keeps of a network's access peers (None without any): its prefixes, and per peer its
    addresses (/128, /32), key, the member it dials and the IP version it dials over."""
    if not net.access:
        return None
    peers = []
    for entry in net.access:
        number = numbers[entry.name]
        addresses = [host_at(prefix, number).split("/")[0] + "/128"]
        if subnet is not None:
            addresses.append(host_at(subnet, number).split("/")[0] + "/32")
        peers.append({"name": entry.name, "node": entry.node, "public_key": entry.public_key, "host": number,
                      "family": entry.family, "addresses": addresses, "private_key_file": entry.private_key_file})
    return {"prefix": prefix, "ipv4": subnet, "peers": peers}


def port_key(name):
    return PORT_KEY + name


def with_ports(access, netid, ports):
    """The plan's access record with each peer's listen port on the member it dials (ports: {node: {netid:
    {peer: port}}}, allocation.assign_ports')."""
    peers = [dict(peer, port=ports[peer["node"]][netid][port_key(peer["name"])]) for peer in access["peers"]]
    return dict(access, peers=peers)


def recorded(access):
    """What the ledger keeps of a network's access peers: {name: {host, node, public_key}}."""
    return {peer["name"]: {"host": peer["host"], "node": peer["node"], "public_key": peer["public_key"]}
            for peer in (access or {}).get("peers", ())}


def links(access, netid, node, mtu):
    """node's WireGuard links to the access peers that dial it (the plan's connected entries): no endpoint
    (the peer dials), its addresses as the only allowed sources."""
    entries = []
    for peer in (access or {}).get("peers", ()):
        if peer["node"] == node:
            entries.append({
                "connection": "wireguard", "peer": port_key(peer["name"]), "prefixes": (),
                "peer_link_local": link_local(netid, port_key(peer["name"])),
                "interface": wireguard_ifname(peer["public_key"]), "public_key": peer["public_key"],
                "allowed_ips": tuple(peer["addresses"]), "mtu": mtu, "listen_port": peer["port"],
                "endpoint": None, "access": True,
            })
    return entries


def routes(access, own_links, hop_link):
    """node's routes to every access peer: into its own link when it is the one dialled, else over
    hop_link(member) (the link towards that member, or None when babeld routes)."""
    found = []
    mine = {link["peer"]: link for link in own_links}
    for peer in (access or {}).get("peers", ()):
        link = mine.get(port_key(peer["name"]))
        if link is None:
            link = hop_link(peer["node"])
            if link is None:
                continue
        for address in peer["addresses"]:
            found.append((address, link))
    return found


def client_config(netid, tag, allowed, peer, endpoint, node_key, mtu):
    """The wg-quick configuration of one access peer (its file: NAME/TAG.conf, so the interface is named after
    the network): everything but the private key, which wg-quick reads from the peer's private_key_file."""
    return "\n".join([
        "# gridnet.tenant: access peer %s of network %s, through %s" % (peer["name"], netid, peer["node"]),
        "# The private key stays with you, in %s (wg genkey > it); the inventory holds its public half." % (
            peer["private_key_file"]),
        "# Bring the network up with: wg-quick up ./%s.conf" % tag,
        "[Interface]",
        "Address = %s" % ", ".join(peer["addresses"]),
        "MTU = %d" % mtu,
        "PostUp = wg set %%i private-key %s" % peer["private_key_file"],
        "",
        "[Peer]",
        "PublicKey = %s" % node_key,
        "Endpoint = %s" % endpoint,
        "AllowedIPs = %s" % ", ".join(allowed),
        "PersistentKeepalive = %d" % KEEPALIVE,
        "",
    ])
