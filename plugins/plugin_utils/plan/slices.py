# -*- coding: utf-8 -*-
# Copyright: (c) 2026, gridnet.tenant contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Per-host slices: the compact plan, and one host's part of it materialised.

The compact plan is what a run keeps in memory on the controller: per network
its members, addressing and public keys, the underlays, every exit and the
listen ports packed as text. It grows with N per network plus 2 bytes a link,
where the materialised mesh grows with N^2 link entries. One host's slice (its
network resources, its exits, the upstream routes when it routes upstream)
costs O(N) per network it is in, so each host's task pays for its own part only.
docs/data-model.md shows both shapes.
"""

from __future__ import annotations

import array
import gc
import sys

from ansible_collections.gridnet.tenant.plugins.plugin_utils.plan import access, render
from ansible_collections.gridnet.tenant.plugins.plugin_utils.plan.allocation import relay_key
from ansible_collections.gridnet.tenant.plugins.plugin_utils.plan.errors import PlanError
from ansible_collections.gridnet.tenant.plugins.plugin_utils.plan.hosts import Underlay
from ansible_collections.gridnet.tenant.plugins.plugin_utils.plan.inventory import Network
from ansible_collections.gridnet.tenant.plugins.plugin_utils.plan.naming import resource_names
from ansible_collections.gridnet.tenant.plugins.plugin_utils.plan.topology import Topology

FORMAT = 3  # 2: relays, the relay ports of pairs linked through a relay; 3: routing, topology, degree, backup_exits, hubs
PORT_DIGITS = 4  # a listen port as 4 hex digits; 0000 where two members have no WireGuard link
_UNDERLAY_FIELDS = Underlay._fields[1:]
# a network record's keys that are inventory.Network fields (the exit node is "exit"; backup_exits and hubs are
# lists in the record); the exit's allow-list, forwards and IPv4 range are rendered at plan time into plan["exits"]
_RECORD_FIELDS = {"exit": "exit_node"}
_NOT_RECORDED = {"ipv4_range": None, "ipv6_allow": (), "ipv4_dnat": (), "access": ()}  # access: in access_peers
PLAN_VARIABLE = "gridnet_tenant_plan"
UPSTREAM_GROUP = "gridnet_tenant_upstream_routers"
SLICE_ERRORS = (PlanError, ValueError, KeyError, TypeError)  # a plan that is not one, or has no such host


def network_of(record):
    """The inventory.Network a compact plan's network record holds, decoded by field name."""
    fields = {_RECORD_FIELDS.get(key, key): record[key] for key in record
              if _RECORD_FIELDS.get(key, key) in Network._fields}
    fields.update(_NOT_RECORDED, backup_exits=tuple(tuple(e) for e in record["backup_exits"]),
                  hubs=tuple(record["hubs"]))
    return Network(**fields)


def compact(networks, underlays, ports, exits, upstream_routes):
    """The compact plan from rendered networks (render.RenderedNetwork), underlays, ports {node: {netid: {peer: port}}}."""
    used = set()
    records = []
    for rendered in networks:
        net = rendered.net
        used.update(net.members)
        records.append({
            "netid": net.netid, "tag": net.tag, "members": list(net.members), "exit": net.exit_node,
            "exit_ipv6": net.exit_ipv6, "exit_ipv4": net.exit_ipv4, "vxlan_group": net.vxlan_group,
            "ipv6_nat": net.ipv6_nat, "vni": rendered.vni, "block": rendered.block,
            "routing": net.routing, "topology": net.topology, "degree": net.degree,
            "backup_exits": [list(e) for e in net.backup_exits], "hubs": list(net.hubs),
            **({"keepalive": net.keepalive} if net.keepalive else {}),  # absent: 0 (plans of before stay the same)
            **({"access_peers": rendered.access} if rendered.access else {}),  # absent: none
            **({"failover": net.failover} if net.failover != "normal" else {}),  # absent: normal
            "prefixes": rendered.prefixes, "subnets": rendered.subnets, "link_local": rendered.link_local, "public_keys": rendered.keys,
            "ports": pack_ports(net, ports),
            "relays": {relay_key(a, b): ports[link.relay][net.netid][relay_key(a, b)]
                       for a, b, link in rendered.topology.relayed_pairs()},
        })
    return {
        "format": FORMAT,
        "networks": records,
        "underlays": {n: [underlays[n][i + 1] for i in range(len(_UNDERLAY_FIELDS))] for n in sorted(used)},
        "exits": exits,
        "upstream_routes": upstream_routes,
    }


def pack_ports(net, ports):
    """{member: its listen port towards each member, in member order, as PORT_DIGITS hex digits each}.

    A sparse or hub-and-spoke network keeps {member: {peer: port}} instead: one entry a link, not N^2 digits.
    """
    netid, members = net.netid, net.members
    packed = {}
    if net.topology != "full":
        return {node: dict((ports.get(node) or {}).get(netid) or {}) for node in members}
    for node in members:
        mine = (ports.get(node) or {}).get(netid) or {}
        packed[node] = "".join("%04x" % mine.get(peer, 0) for peer in members)
    return packed


class PortTable(object):
    """One member's listen ports in a network, and its peers' towards it, read from the packed table."""

    def __init__(self, packed, members, node, index):
        self.packed, self.members, self.node, self.index = packed, members, node, index

    def own(self):
        """node's listen port towards each member, in member order (0: no WireGuard link)."""
        ports = array.array("H", bytes.fromhex(self.packed[self.node]))
        if sys.byteorder == "little":  # the text is big-endian, as written
            ports.byteswap()
        return ports

    def towards(self):
        """Each member's listen port towards node, in member order."""
        at, packed = PORT_DIGITS * self.index, self.packed
        return [int(packed[m][at:at + PORT_DIGITS], 16) for m in self.members]


class SparsePortTable(object):
    """PortTable's reads for a sparse or hub-and-spoke network: by member index, only for the peers node links to."""

    def __init__(self, ports, index, node):
        self.ports, self.index, self.node = ports, index, node

    def own(self):
        return {self.index[peer]: port for peer, port in self.ports[self.node].items()}

    def towards(self):
        return {self.index[peer]: self.ports[peer][self.node] for peer in self.ports[self.node]}


class Slicer(object):
    """Hosts' slices of one compact plan; each network is rebuilt once, however many hosts are sliced."""

    def __init__(self, plan):
        if not isinstance(plan, dict) or plan.get("format") != FORMAT:
            raise ValueError("not a compact plan of format %d (from gridnet.tenant.ledger or mesh.compact_plan)"
                             % FORMAT)
        self.plan = plan
        self._underlays = {}
        self._networks = {}

    def underlay(self, node):
        if node not in self._underlays:
            self._underlays[node] = Underlay(node, *self.plan["underlays"][node])
        return self._underlays[node]

    def network(self, record):
        """(render.RenderedNetwork, peer views, endpoint hosts, relay duties), built on first use."""
        netid = record["netid"]
        if netid not in self._networks:
            net = network_of(record)
            underlays = {m: self.underlay(m) for m in net.members}
            rendered = render.RenderedNetwork(
                net, resource_names(net.tag), record["link_local"], record["prefixes"], record["subnets"],
                record["vni"], record["block"], record["public_keys"], Topology(net, underlays),
                record.get("access_peers"))
            self._networks[netid] = (rendered, render.peer_views(rendered), render.endpoint_hosts(rendered),
                                     render.relay_duties(rendered, record["relays"]))
        return self._networks[netid]

    def resources(self, node):
        """node's network resources, one per network it is a member of, in the plan's network order."""
        resources = []
        for record in self.plan["networks"]:
            if node not in record["prefixes"]:
                continue
            rendered, views, hosts, duties = self.network(record)
            if record["topology"] != "full":
                ports = SparsePortTable(record["ports"], rendered.topology.index, node)
            else:
                ports = PortTable(record["ports"], record["members"], node, rendered.topology.index[node])
            resources.append(render.resource(rendered, node, views, hosts, ports, (record["relays"], duties.get(node))))
        render.check_names(node, resources)
        return resources

    def node(self, node, upstream=False):
        """node's whole slice: its resources, the exits it runs, and every upstream route when it routes upstream."""
        return {
            "resources": self.resources(node),
            "exits": [e for e in self.plan["exits"] if e["node"] == node],
            "upstream_routes": list(self.plan["upstream_routes"]) if upstream else [],
        }


def host_slice(plan, host, upstream, upstream_exits=()):
    """The parts of host's slice of a plan (compact, or materialised by the plan filter), as gridnet.tenant.node
    takes them; upstream_exits: only the upstream routes towards these exits (empty: all)."""
    if "nodes" in plan:
        part = {"resources": (plan["nodes"].get(host) or {}).get("resources") or [],
                "exits": [e for e in plan["exits"] if e["node"] == host],
                "upstream_routes": list(plan["upstream_routes"]) if upstream else []}
    else:
        part = Slicer(plan).node(host, upstream=upstream)
    if upstream_exits:
        part["upstream_routes"] = [r for r in part["upstream_routes"] if r["exit"] in upstream_exits]
    return part


def slice_for(plan, task_vars, upstream=None, upstream_exits=()):
    """The task's host's slice; upstream None: whether the host is in group gridnet_tenant_upstream_routers."""
    host = task_vars.get("inventory_hostname")
    if upstream is None:
        upstream = host in (task_vars.get("groups") or {}).get(UPSTREAM_GROUP, [])
    return host_slice(plan, host, upstream, upstream_exits), upstream


def materialised(plan):
    """The plan with every node's resources: a full plan as it is, a compact one sliced for every member."""
    if "nodes" in plan:
        return plan
    slicer = Slicer(plan)
    paused = gc.isenabled()
    gc.disable()  # N*(N-1) acyclic link entries: the cyclic collector would rescan them while they are built
    try:
        nodes = {node: {"resources": slicer.resources(node)} for node in sorted(plan["underlays"])}
    finally:
        if paused:
            gc.enable()
    return {"nodes": nodes, "exits": plan["exits"], "upstream_routes": plan["upstream_routes"]}


def access_configs(plan):
    """{"NAME/TAG.conf": wg-quick text} of every access peer of every network of a compact plan (access.py)."""
    slicer, found = Slicer(plan), {}
    ranges = {e["netid"]: e.get("ipv4_range") for e in plan["exits"]}
    for record in plan["networks"]:
        if not record.get("access_peers"):
            continue
        rendered = slicer.network(record)[0]
        allowed = [record["block"]] + ([ranges[record["netid"]]] if ranges.get(record["netid"]) else [])
        for peer in record["access_peers"]["peers"]:
            underlay = slicer.underlay(peer["node"])
            endpoint = "[%s]:%d" % (underlay.ipv6, peer["port"]) if peer["family"] == 6 \
                else "%s:%d" % (underlay.ipv4, peer["port"])
            found["%s/%s.conf" % (peer["name"], record["tag"])] = access.client_config(
                record["netid"], record["tag"], allowed, peer, endpoint, record["public_keys"][peer["node"]],
                rendered.topology.mtu)
    return found
