#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: (c) 2026, gridnet.tenant contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
module: network_resource
short_description: Converge a node's whole network resource in one call
version_added: "0.1.0"
description:
  - Takes one network resource of the node's plan (an item of C(plan.nodes[host].resources), see the
    gridnet.tenant.plan filter) and makes the kernel match it - the namespace, the bridge where workloads attach,
    the veth between them with the gateway addresses, forwarding, every WireGuard and VXLAN link with its
    link-local address, MTU and peers, and every route.
  - Reads the actual state, diffs it against the plan and applies only the difference; a second run with the same
    plan changes nothing (no interface recreated, no handshake lost). Links and routes no longer in the plan are
    removed; routes the collection did not make are never touched.
  - WireGuard and VXLAN links are created in the node's namespace, so their UDP sockets live there, and moved into
    the resource's namespace.
  - Everything that could fail half-way (names, keys, listen ports in use, foreign interfaces in the way) is
    checked before anything changes.
extends_documentation_fragment:
  - gridnet.tenant.attributes
  - gridnet.tenant.node
  - gridnet.tenant.node.WIREGUARD
options:
  resource:
    description: One network resource of the plan.
    type: dict
    required: true
  state:
    description: C(absent) removes the namespace, its links, the bridge and the veth this resource made, and nothing else.
    type: str
    choices: [present, absent]
    default: present
notes:
  - One call converges one network resource; the O(resource) holds every link, so a role loops over a node's
    networks, never over peers.
  - After applying, the module reads the state back; anything that differs from the plan (a route the kernel did not
    take, an address that vanished) fails the task, naming it.
  - The private key is read from O(key_dir) on the node and compared, never returned.
seealso:
  - module: gridnet.tenant.wireguard_key
  - module: gridnet.tenant.network_resource_info
  - module: gridnet.tenant.prune_resources
  - module: gridnet.tenant.exit_gateway
  - module: gridnet.tenant.node_agent
  - plugin: gridnet.tenant.plan
    plugin_type: filter
"""

EXAMPLES = r"""
- name: Converge every network resource of this node (one task per network, never per peer)
  gridnet.tenant.network_resource:
    resource: "{{ item }}"
  loop: "{{ gridnet_tenant_plan.nodes[inventory_hostname].resources }}"
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
    - create namespace gt-k3pxqa
    - create WireGuard link gtwals7ui2xti to Yw8hJ0pTHkYXRpB+nFZvz4D0mbJp3QvjpYFAaFyBmHc= (port 53038)
    - route ::/0 via fe80::d061:e19a:f02e:502a dev gtwals7ui2xti
backend:
  description: The WireGuard back end used for new links (C(kernel) or C(userspace)), null when none was made.
  returned: always
  type: str
  sample: kernel
state:
  description:
    - The resource's state as read back after the run (in check mode, the prediction), in the shape --diff shows.
    - Contains no private key.
  returned: always
  type: dict
  contains:
    namespace:
      description: Whether the resource's namespace exists.
      type: bool
    sysctls:
      description: Forwarding and address sysctls inside the namespace.
      type: dict
    bridge:
      description: The bridge where workloads attach (C(mtu), C(up)).
      type: dict
    veth:
      description: The namespace's end of the veth (C(mtu), C(up), C(addresses)).
      type: dict
    wireguard:
      description: Each WireGuard link by name, with its port, public key and peer.
      type: dict
    vxlan:
      description: The VXLAN device, or null.
      type: dict
    routes:
      description: Each route of protocol 152 by destination, as C(via GATEWAY dev INTERFACE).
      type: dict
      sample: {"::/0": "via fe80::d061:e19a:f02e:502a dev gtwals7ui2xti"}
"""

from ansible_collections.gridnet.tenant.plugins.module_utils.common.errors import GridnetError
from ansible_collections.gridnet.tenant.plugins.module_utils.node.node_module import exit_converged, node_module, run
from ansible_collections.gridnet.tenant.plugins.module_utils.node.options import KEY_DIR_OPTION, WIREGUARD_OPTIONS
from ansible_collections.gridnet.tenant.plugins.module_utils.node.keys import private_keys
from ansible_collections.gridnet.tenant.plugins.module_utils.node.resource import converge, validate


def main():
    module = node_module(
        resource=dict(type="dict", required=True),
        state=dict(type="str", choices=["present", "absent"], default="present"),
        **KEY_DIR_OPTION, **WIREGUARD_OPTIONS
    )
    resource, state = module.params["resource"], module.params["state"]
    try:
        validate(resource, state)
    except GridnetError as exc:
        module.fail_json(msg=str(exc))
    private_key = None
    if state == "present":
        private_key = run(module, "network %r" % resource["netid"], private_keys, [resource],
                          module.params["key_dir"], module.check_mode).get(resource["netid"])
    result = run(module, "network %r" % resource["netid"], converge,
                 resource, state, private_key, module.check_mode, module.params["wireguard_backend"],
                 module.params["wireguard_go"],
                 record={k: module.params[k] for k in ("key_dir", "wireguard_backend", "wireguard_go")})
    exit_converged(module, result, backend=result["backend"], state=result["after"])


if __name__ == "__main__":
    main()
