#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: (c) 2026, gridnet.tenant contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
module: exit_gateway
short_description: Carry one tenant network to the outside world from its exit
version_added: "0.1.0"
description:
  - Takes one exit of the plan (an item of C(plan.exits), see the gridnet.tenant.plan filter) and converges, inside the
    exit's network resource namespace, what carries the network outside - the uplink (a macvlan on the gateway's
    uplink interface with a stable MAC, named C(gtu-TAG)), the network's IPv6 address on it (the one address the
    upstream router routes the whole block to) and its IPv4 address, the default routes with the given metric, and
    the network's nftables table.
  - "The table (family inet, C(gt_exit_TAG)) is replaced whole in one nft transaction: NAT44 masquerade of the
    network's private IPv4 subnets to the uplink address, IPv4 DNAT port forwards to workloads, and the IPv6
    allow-list (inbound from outside dropped except the listed prefix/protocol/port entries; established traffic
    passes). NAT66 (masquerade) only when the plan asks for it, which it allows for ULA blocks only."
  - The desired table is loaded into a throw-away network namespace and listed back, so it is compared with the
    live table in nft's own words; an unchanged table is left alone and keeps its rule handles.
  - Run it after gridnet.tenant.network_resource has made the exit's namespace. Its default routes carry their own
    route protocol (153), so the network resource never touches them.
extends_documentation_fragment:
  - gridnet.tenant.attributes
options:
  exit:
    description: One exit of the plan (C(plan.exits) item whose C(node) is this host).
    type: dict
    required: true
  state:
    description: C(absent) removes the uplink, its routes and the table, and nothing else.
    type: str
    choices: [present, absent]
    default: present
  nft:
    description: The nft binary.
    type: str
    default: nft
requirements:
  - pyroute2 >= 0.9, nft (nftables) and unshare/nsenter (util-linux) on the node
  - root on the node
notes:
  - Run after M(gridnet.tenant.network_resource) has made the exit's namespace.
  - After applying, the module reads the state back and fails naming anything that differs from the plan.
seealso:
  - module: gridnet.tenant.network_resource
  - module: gridnet.tenant.upstream_routes
"""

EXAMPLES = r"""
- name: Converge the exits this host carries (one task per network)
  gridnet.tenant.exit_gateway:
    exit: "{{ item }}"
  loop: "{{ gridnet_tenant_plan.exits | selectattr('node', '==', inventory_hostname) }}"
  loop_control:
    label: "{{ item.netid }}"
"""

RETURN = r"""
changes:
  description: What was changed (or would be, in check mode), in order.
  returned: always
  type: list
  elements: str
  sample:
    - create uplink gtu-k3pxqa on uplink0
    - route ::/0 via 2001:db8:ff::1 dev gtu-k3pxqa metric 1024
    - create nftables table inet gt_exit_k3pxqa
state:
  description: The exit's state as read back after the run (in check mode, the prediction), in the shape --diff shows.
  returned: always
  type: dict
  contains:
    namespace:
      description: Whether the network's namespace exists.
      type: bool
    uplink:
      description: The uplink (C(parent), C(mac), C(up), C(addresses)), or null.
      type: dict
    routes:
      description: The default routes of protocol 153 by destination, as C(via GATEWAY dev UPLINK metric N).
      type: dict
      sample: {"::/0": "via 2001:db8:ff::1 dev gtu-k3pxqa metric 1024"}
    nftables:
      description: nft's own listing of the network's table, line by line, or null.
      type: list
      elements: str
"""

from ansible_collections.gridnet.tenant.plugins.module_utils.node.exit_gateway import converge
from ansible_collections.gridnet.tenant.plugins.module_utils.node.node_module import exit_converged, node_module, run


def main():
    module = node_module(
        exit=dict(type="dict", required=True),
        state=dict(type="str", choices=["present", "absent"], default="present"),
        nft=dict(type="str", default="nft"),
    )
    exit_plan = module.params["exit"]
    nft = module.get_bin_path(module.params["nft"], required=True)
    result = run(module, "exit of network %r" % exit_plan.get("netid"), converge,
                 exit_plan, module.params["state"], module.check_mode, nft, record={"nft": nft})
    exit_converged(module, result, state=result["after"])


if __name__ == "__main__":
    main()
