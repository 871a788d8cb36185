# -*- coding: utf-8 -*-
# Copyright: (c) 2026, gridnet.tenant contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The mesh plan: inventory + public keys + existing assignments -> per-node state.

A pure function of its inputs. It never looks at which hosts are in the play,
so ``--limit`` gives a host exactly the configuration a full run gives it.
The stages, each in its own file:

  inventory.py   read and check the input once, into typed records
  allocation.py  blocks, /64s and /24s, VXLAN ids, listen ports
  topology.py    which pairs link and how (connection, family, MTU), relays
  render.py      each member's network resource, each network's exit
"""

from __future__ import annotations

import gc

from ansible_collections.gridnet.tenant.plugins.plugin_utils import allocation, render
from ansible_collections.gridnet.tenant.plugins.plugin_utils.inventory import read_inventory
from ansible_collections.gridnet.tenant.plugins.plugin_utils.naming import link_local, resource_names
from ansible_collections.gridnet.tenant.plugins.plugin_utils.topology import Topology


def plan(networks, hostvars, groups=None, public_keys=None, assignments=None):
    """The complete plan. See docs/data-model.md for the shape of every part."""
    # A full mesh of N nodes is N*(N-1) link entries, all acyclic; the cyclic
    # collector would rescan them again and again while they are built.
    paused = gc.isenabled()
    gc.disable()
    try:
        return _plan(read_inventory(networks, hostvars, groups, public_keys), assignments or {})
    finally:
        if paused:
            gc.enable()


def _plan(inventory, assignments):
    nets, underlays, gateways, keys = inventory
    existing_networks = assignments.get("networks") or {}
    # given back after a removal was applied: reused only once nothing else is free
    released = assignments.get("released") or {}
    blocks = allocation.carve_blocks(nets, gateways, existing_networks, released.get("blocks") or ())
    vnis = allocation.assign_vnis(nets, existing_networks)
    rendered = []
    for net in nets:
        prefixes, subnets = allocation.carve_resources(net, blocks[net.netid], existing_networks, released)
        rendered.append(render.Network(net, resource_names(net.tag), {m: link_local(net.netid, m) for m in net.members},
                                       prefixes, subnets, vnis[net.netid], blocks[net.netid]))
    # A young-generation pass now (only the inventory and the addressing are young yet) untracks
    # their tuples, so the views built from them, and the million link entries copied from those,
    # are never tracked by the cyclic collector: it would scan them all when re-enabled.
    gc.collect(0)
    for w in rendered:
        w.topology = Topology(w.net, underlays)
    ports = allocation.assign_ports([w.topology for w in rendered], underlays, assignments.get("ports"))

    nodes = {}
    exits = []
    for w in rendered:
        views = render.peer_views(w, keys)
        hosts = render.endpoint_hosts(w)
        for node in w.net.members:
            nodes.setdefault(node, {"resources": []})["resources"].append(render.resource(w, node, views, hosts))
        exits.append(render.exit_entry(w, gateways[w.net.exit_node]))
    for node, state in nodes.items():
        render.check_names(node, state["resources"])

    return {
        "nodes": dict(sorted(nodes.items())),
        "exits": exits,
        "upstream_routes": [
            {"netid": e["netid"], "prefix": e["block"], "via": e["gateway_address"], "exit": e["node"]}
            for e in exits if not e["ipv6_nat"]  # a NAT66'd ULA block is not routed upstream
        ],
        "assignments": {
            "networks": {
                w.net.netid: {
                    "block": w.block,
                    "vni": w.vni,
                    "resources": {
                        n: {"prefix": w.prefixes[n], "ipv4": (w.subnets or {}).get(n),
                            "public_key": keys[(w.net.netid, n)]}
                        for n in w.net.members
                    },
                }
                for w in rendered
            },
            "ports": ports,
        },
    }
