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
  render.py      each member's network resource
  exits.py       each network's exits, and the upstream routes to them
  slices.py      the compact plan a run keeps, and each host's slice of it
"""

from __future__ import annotations

from collections import Counter

from ansible_collections.gridnet.tenant.plugins.plugin_utils.plan import access, allocation, render
from ansible_collections.gridnet.tenant.plugins.plugin_utils.plan import exits as exit_plans
from ansible_collections.gridnet.tenant.plugins.plugin_utils.plan.inventory import read_inventory
from ansible_collections.gridnet.tenant.plugins.plugin_utils.plan.naming import link_local, resource_names
from ansible_collections.gridnet.tenant.plugins.plugin_utils.plan.slices import Slicer, compact, materialised
from ansible_collections.gridnet.tenant.plugins.plugin_utils.plan.topology import Topology


def plan(networks, hostvars, groups=None, public_keys=None, assignments=None):
    """The complete plan: every node's resources materialised. See docs/data-model.md for every part."""
    the_plan, handed_out = compact_plan(networks, hostvars, groups, public_keys, assignments)
    return dict(materialised(the_plan), assignments=handed_out)


def compact_plan(networks, hostvars, groups=None, public_keys=None, assignments=None):
    """(the compact plan hosts are sliced from (slices.py), the assignments it hands out)."""
    inventory = read_inventory(networks, hostvars, groups, public_keys)
    assignments = assignments or {}
    nets, underlays, gateways, keys = inventory
    existing_networks = assignments.get("networks") or {}
    # given back after a removal was applied: reused only once nothing else is free
    released = assignments.get("released") or {}
    blocks = allocation.carve_blocks(nets, gateways, existing_networks, released.get("blocks") or ())
    vnis = allocation.assign_vnis(nets, existing_networks)
    all_rendered = []
    for net in nets:
        prefixes, subnets = allocation.carve_resources(net, blocks[net.netid], existing_networks, released)
        access_peers = None
        if net.access:  # the access /64 and /24 are not a member's
            access_peers = access.rendered_access(
                net, prefixes.pop(access.ACCESS_MEMBER), subnets.pop(access.ACCESS_MEMBER) if subnets else None,
                access.host_numbers(net, existing_networks))
        rendered = render.RenderedNetwork(
            net, resource_names(net.tag), {m: link_local(net.netid, m) for m in net.members}, prefixes, subnets,
            vnis[net.netid], blocks[net.netid], {m: keys[(net.netid, m)] for m in net.members}, Topology(net, underlays),
            access_peers)
        render.check_link_names(rendered)
        all_rendered.append(rendered)
    ports = allocation.assign_ports([rendered.topology for rendered in all_rendered], underlays, assignments.get("ports"))
    for rendered in all_rendered:
        if rendered.access:
            rendered.access = access.with_ports(rendered.access, rendered.net.netid, ports)
    exits, upstream_routes = [], []
    for rendered in all_rendered:
        mine = exit_plans.exit_entries(rendered, gateways)
        exits += mine
        upstream_routes += exit_plans.upstream_routes(rendered, mine)
    the_plan = compact(all_rendered, underlays, ports, exits, upstream_routes)
    # A node in several networks must have every interface name once: checked here, for every such node,
    # so that no host's slice fails later
    slicer = Slicer(the_plan)
    membership = Counter(m for rendered in all_rendered for m in rendered.net.members)
    for node in sorted(n for n, count in membership.items() if count > 1):
        slicer.resources(node)
    handed_out = {
        "networks": {
            rendered.net.netid: {
                "block": rendered.block,
                "vni": rendered.vni,
                "resources": dict({
                    n: {"prefix": rendered.prefixes[n], "ipv4": (rendered.subnets or {}).get(n), "public_key": rendered.keys[n]}
                    for n in rendered.net.members
                }, **({access.ACCESS_MEMBER: {"prefix": rendered.access["prefix"], "ipv4": rendered.access["ipv4"],
                                              "public_key": None}} if rendered.access else {})),
                **({"access": access.recorded(rendered.access)} if rendered.access else {}),
            }
            for rendered in all_rendered
        },
        "ports": ports,
    }
    return the_plan, handed_out
