#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: (c) 2026, gridnet.tenant contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
module: network_resource_info
short_description: Report the network resources that exist on a node
version_added: "0.1.0"
description:
  - Lists every network resource namespace this collection made on the node (C(gt-*)), with its links, their
    MTU, addresses, listen ports, WireGuard peers with endpoint, allowed IPs and last handshake, the VXLAN device
    and its peers, the routes the collection owns, and babeld's neighbours and routes with routing babel. Reads
    only; never changes anything.
  - Also returns RV(health), the figures of the health view (C(playbooks/health.yml), docs/health.md) for every
    resource recorded on the node, one per network, read from the node's records and the kernel.
extends_documentation_fragment:
  - gridnet.tenant.attributes.INFO
  - gridnet.tenant.node.WIREGUARD_GO
options:
  namespace:
    description: Report only this network resource namespace. Fails when it does not exist.
    type: str
seealso:
  - module: gridnet.tenant.network_resource
"""

EXAMPLES = r"""
- name: What exists on this node
  gridnet.tenant.network_resource_info:
  register: info

- name: Peers that never completed a handshake
  ansible.builtin.debug:
    msg: "{{ info.resources | map(attribute='wireguard') | map('dict2items') | flatten
             | selectattr('value.last_handshake', 'equalto', 0) | map(attribute='key') | list }}"
"""

RETURN = r"""
resources:
  description: One entry per network resource namespace on the node.
  returned: always
  type: list
  elements: dict
  contains:
    namespace:
      description: The namespace.
      type: str
    bridge:
      description: The bridge workloads attach to.
      type: str
    wireguard:
      description:
        - Link name to its MTU, addresses, listen port, public key and peer (with C(last_handshake), epoch seconds).
        - A wireguard-go link also has C(udp_buffer), the smallest buffer in bytes of its daemon's UDP sockets
          (null before it has bound them; absent where they cannot be read), and C(rps_cpus), the CPUs its
          received packets are steered to (hex mask as sysfs shows it; C(00000000) is none).
      type: dict
    vxlan:
      description: The VXLAN device, its id, local address, port and peers, or null.
      type: dict
    routes:
      description: Destination to C(via GATEWAY dev LINK), for the routes the collection owns.
      type: dict
      sample: {"::/0": "via fe80::d061:e19a:f02e:502a dev gtwals7ui2xti"}
    babel:
      description:
        - With routing babel, babeld's view from its control socket - C(running), C(router_id) (this start's, see
          docs/routing.md), C(neighbours) (address, if, reach,
          rxcost, txcost, rtt, rttcost, cost) and C(routes) (prefix, from, installed, id, metric, refmetric, via, if;
          C(origin) local for what this resource announces, learnt otherwise). Null without babel.
      type: dict
      sample: {"running": true, "router_id": "1e:6b:0c:52:9a:41:00:07", "neighbours": [{"address": "fe80::39ca:5cae:41db:1a79", "if": "gtwowfzi4uvmd",
               "reach": "ffff", "cost": "96", "rtt": "0.811"}], "routes": []}
health:
  description:
    - One entry per resource recorded on the node (also one whose namespace has gone), raw figures that nothing
      judges here (docs/health.md) - C(network), C(namespace), C(time) (the node's clock, epoch seconds), C(links)
      (per peer node - C(interface), C(connection), C(present), C(up), C(routes) (destinations routed through
      that peer), C(babel) (the neighbour's C(reach), C(cost), C(rxcost), C(txcost), or null), and for WireGuard
      C(public_key), C(allowed_ips), C(last_handshake) (epoch seconds, 0 never), C(rx_bytes), C(tx_bytes)),
      C(babel) (C(running), C(routes_installed)) and C(exit) (packets and bytes per counter of an exit's table).
    - With O(namespace), only that resource's.
  returned: always
  type: list
  elements: dict
  sample: [{"network": "acme", "namespace": "gt-14f", "time": 1796540000, "babel": null, "exit": null,
            "links": {"dc2": {"interface": "gtwowfzi4uvmd", "connection": "wireguard", "present": true, "up": true,
                              "routes": ["2001:db8:14f:90bf::/64", "10.60.25.0/24"], "babel": null,
                              "public_key": "Vb4nKBmnF5N4U3fIu4cHkNYbXx1bUYx4dGKr6yZxrmE=",
                              "allowed_ips": ["10.60.25.0/24", "2001:db8:14f:90bf::/64", "fe80::/64"],
                              "last_handshake": 1796539950, "rx_bytes": 18232, "tx_bytes": 17640}}}]
"""

from ansible_collections.gridnet.tenant.plugins.module_utils.node import babel, health, netns, steering
from ansible_collections.gridnet.tenant.plugins.module_utils.node.convergence import public
from ansible_collections.gridnet.tenant.plugins.module_utils.node.routes import display
from ansible_collections.gridnet.tenant.plugins.module_utils.common.names import names_for_tag, tag_of_namespace
from ansible_collections.gridnet.tenant.plugins.module_utils.node.node_module import node_module
from ansible_collections.gridnet.tenant.plugins.module_utils.node.resource import read_state

from ansible_collections.gridnet.tenant.plugins.module_utils.node.pyroute import IPRoute


def describe(node, namespace, wireguard_go):
    names = names_for_tag(tag_of_namespace(namespace))
    state = read_state(node, dict(names, vxlan=None), wireguard_binary=wireguard_go)
    view = display(public(state))
    view["wireguard"] = dict(sorted(view["wireguard"].items()))
    for name, link in view["wireguard"].items():
        if link.get("peer") is not None and "public_keys" not in link["peer"]:
            link["peer"] = dict(link["peer"], last_handshake=state["wireguard"][name].get("_last_handshake", 0))
        if "_udp_buffer" in state["wireguard"][name]:
            link["udp_buffer"] = state["wireguard"][name]["_udp_buffer"]
        if "_rps" in state["wireguard"][name]:
            link["rps_cpus"] = steering.text(state["wireguard"][name]["_rps"])
    if state["babel"] is not None:
        view["babel"] = {"running": state["babel"]["running"], "router_id": babel.running_router_id(namespace)}
        if state["babel"]["running"]:
            try:
                view["babel"].update(babel.dump(namespace))
            except OSError as exc:
                view["babel"]["error"] = "its control socket did not answer: %s" % exc
    return dict(view, namespace=namespace, bridge=names["bridge"])


def main():
    module = node_module(
        namespace=dict(type="str"),
        wireguard_go=dict(type="str", default="wireguard-go"),
    )
    wanted = module.params["namespace"]
    ours = [n for n in netns.listed() if tag_of_namespace(n)]
    if wanted is not None:
        if tag_of_namespace(wanted) is None:
            module.fail_json(msg="namespace %r is not a network resource namespace (they are named gt-TAG)" % wanted)
        if wanted not in ours:
            module.fail_json(msg="namespace %r does not exist on this node (it has: %s)"
                             % (wanted, ", ".join(ours) or "none"))
        ours = [wanted]
    with IPRoute() as node:
        resources = [describe(node, n, module.params["wireguard_go"]) for n in ours]
    module.exit_json(changed=False, resources=resources, health=health.read_node(namespace=wanted))


if __name__ == "__main__":
    main()
