#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: (c) 2026, gridnet.tenant contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
module: upstream_routes
short_description: Route each tenant network's block towards its exit, on the upstream router
version_added: "0.1.0"
description:
  - Makes the router's routes of the collection's route protocol (152) exactly the given list, in one call - each
    tenant network's prefix block via its exit's uplink address, so that nodes with only tunnelled IPv6 are reachable.
  - Routes of other origins are never touched; a route of protocol 152 not in the list (a removed network) is removed.
  - For a router Ansible does not manage, C(plan.upstream_routes) is the same list, to hand to its operator.
extends_documentation_fragment:
  - gridnet.tenant.attributes
options:
  routes:
    description:
      - Items of C(plan.upstream_routes) (C(prefix), C(via), and C(metric) when a network has several exits; other keys
        are ignored). An empty list removes every route this module made.
      - A prefix routed through several exits has one route per exit, each with its own C(metric) (the preferred exit's
        is the lowest); the router must stop using a dead exit's route by itself (docs/routing.md, exit failover).
    type: list
    elements: dict
    required: true
requirements:
  - pyroute2 >= 0.9 on the router
  - root on the router
notes:
  - Only routes of protocol 152 are managed; routes of any other origin, and default routes, are never touched.
seealso:
  - module: gridnet.tenant.exit_gateway
"""

EXAMPLES = r"""
- name: Route every tenant network's block to its exit
  gridnet.tenant.upstream_routes:
    routes: "{{ gridnet_tenant_plan.upstream_routes }}"
"""

RETURN = r"""
changes:
  description: What was changed (or would be, in check mode), in order.
  returned: always
  type: list
  elements: str
  sample: ["route 2001:db8:100::/48 via 2001:db8:ff::10"]
routes:
  description: The routes of protocol 152 after the run, prefix (C(PREFIX metric N) for one of several routes to a
    prefix) to C(via ADDRESS).
  returned: always
  type: dict
  sample: {"2001:db8:100::/48": "via 2001:db8:ff::10"}
"""

from ansible_collections.gridnet.tenant.plugins.module_utils.node.node_module import exit_converged, node_module, run
from ansible_collections.gridnet.tenant.plugins.module_utils.node.upstream import converge


def main():
    module = node_module(routes=dict(type="list", elements="dict", required=True))
    result = run(module, "upstream routes", converge, module.params["routes"], module.check_mode)
    exit_converged(module, result, routes=result["after"])


if __name__ == "__main__":
    main()
