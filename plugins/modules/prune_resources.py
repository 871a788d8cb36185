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
extends_documentation_fragment:
  - gridnet.tenant.attributes
  - gridnet.tenant.node.WIREGUARD_GO
options:
  keep:
    description: The namespaces the node's plan has (C(plan.nodes[host].resources[].namespace)).
    type: list
    elements: str
    required: true
requirements:
  - pyroute2 >= 0.9 on the node
  - root on the node
"""

EXAMPLES = r"""
- name: Remove network resources that left the plan
  gridnet.tenant.prune_resources:
    keep: "{{ gridnet_tenant_plan.nodes[inventory_hostname].resources | default([]) | map(attribute='namespace') }}"
"""

RETURN = r"""
changes:
  description: What was removed (or would be, in check mode).
  returned: always
  type: list
  elements: str
removed:
  description: The namespaces of the removed network resources.
  returned: always
  type: list
  elements: str
"""

from ansible.module_utils.basic import AnsibleModule, missing_required_lib

from ansible_collections.gridnet.tenant.plugins.module_utils.netns import HAS_PYROUTE2

if HAS_PYROUTE2:
    from ansible_collections.gridnet.tenant.plugins.module_utils.errors import GridnetError
    from ansible_collections.gridnet.tenant.plugins.module_utils.prune import prune


def main():
    module = AnsibleModule(
        argument_spec=dict(
            keep=dict(type="list", elements="str", required=True),
            wireguard_go=dict(type="str", default="wireguard-go"),
        ),
        supports_check_mode=True,
    )
    if not HAS_PYROUTE2:
        module.fail_json(msg=missing_required_lib("pyroute2"))
    try:
        result = prune(module.params["keep"], module.check_mode, module.params["wireguard_go"])
    except GridnetError as exc:
        module.fail_json(msg="pruning network resources: %s" % exc)
    module.exit_json(changed=bool(result["changes"]), changes=result["changes"], removed=result["removed"],
                     diff={"before": {"remove": result["removed"]}, "after": {"remove": []}})


if __name__ == "__main__":
    main()
