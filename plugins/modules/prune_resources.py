#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: (c) 2026, gridnet.tenant contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
module: prune_resources
short_description: Remove the network resources a node no longer has in the plan
version_added: "0.1.0"
description:
  - Removes, in one call, every network resource of this collection on the node (namespaces named C(gt-TAG), with
    their links, bridge C(gtb-TAG) and veth C(gth-TAG)) whose namespace is not in O(keep). That is what is left when
    the node leaves a network or the network is deleted; its exit uplink and nftables table go with the namespace.
  - Objects without the collection's name prefixes are never touched.
  - With O(networks), also removes from O(key_dir) the private key (C(NETID.key)) of every network not listed.
extends_documentation_fragment:
  - gridnet.tenant.attributes
  - gridnet.tenant.node
  - gridnet.tenant.node.WIREGUARD_GO
options:
  keep:
    description: The namespaces the node's plan has (C(plan.nodes[host].resources[].namespace)).
    type: list
    elements: str
    required: true
  networks:
    description:
      - The networks the node takes part in; the private keys of all others are removed from O(key_dir).
      - When omitted, no key is removed.
    type: list
    elements: str
requirements:
  - pyroute2 >= 0.9 on the node
  - root on the node
notes:
  - Resources are found by their names' prefixes (C(gt-), C(gtb-), C(gth-), C(gtv-)) and by the node's records;
    nothing else is touched.
seealso:
  - module: gridnet.tenant.network_resource
"""

EXAMPLES = r"""
- name: Remove network resources that left the plan
  gridnet.tenant.prune_resources:
    keep: "{{ gridnet_tenant_plan.nodes[inventory_hostname].resources | default([]) | map(attribute='namespace') }}"
"""

RETURN = r"""
changes:
  description: What was removed (or would be, in check mode), in order.
  returned: always
  type: list
  elements: str
  sample: ["remove namespace gt-oldnet and its links", "remove gtb-oldnet",
           "remove the private key of network oldnet (/var/lib/gridnet-tenant/keys/oldnet.key)"]
removed:
  description: The namespaces of the resources removed.
  returned: always
  type: list
  elements: str
  sample: ["gt-oldnet"]
"""

from ansible_collections.gridnet.tenant.plugins.module_utils.node.node_module import exit_converged, node_module, run
from ansible_collections.gridnet.tenant.plugins.module_utils.node.options import KEY_DIR_OPTION, WIREGUARD_GO_OPTION
from ansible_collections.gridnet.tenant.plugins.module_utils.node.prune import prune


def main():
    module = node_module(
        keep=dict(type="list", elements="str", required=True),
        networks=dict(type="list", elements="str"),
        **KEY_DIR_OPTION, **WIREGUARD_GO_OPTION
    )
    result = run(module, "pruning network resources", prune,
                 module.params["keep"], module.check_mode, module.params["wireguard_go"],
                 module.params["key_dir"], module.params["networks"])
    exit_converged(module, dict(result, before={"remove": result["removed"]}, after={"remove": []}),
                   removed=result["removed"])


if __name__ == "__main__":
    main()
