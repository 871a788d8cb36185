# -*- coding: utf-8 -*-
# Copyright: (c) 2026, gridnet.tenant contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Names of a network resource's objects from its network tag (docs/naming.md).

Here, in module_utils, because both the planner on the controller and the
modules on the nodes need them; plugin_utils.naming builds on this.
"""

from __future__ import annotations

PREFIXES = {
    "namespace": "gt-",    # network namespace of the network resource
    "bridge": "gtb-",      # bridge in the node's own namespace, where workloads attach
    "veth_host": "gth-",   # veth end enslaved to that bridge
    "veth_ns": "gtn-",     # veth end inside the namespace, holding the gateway addresses
    "vxlan": "gtx-",       # the network's VXLAN device (one per network resource)
    "uplink": "gtu-",      # the exit's uplink interface inside the namespace
    "workload": "gtv-",    # the verify playbook's workload namespace (and its veth on the bridge)
}
WIREGUARD_PREFIX = "gtw"


def names_for_tag(tag):
    return {kind: prefix + tag for kind, prefix in PREFIXES.items()}


def tag_of_namespace(namespace):
    """The tag of a namespace this collection made, or None."""
    prefix = PREFIXES["namespace"]
    return namespace[len(prefix):] if namespace.startswith(prefix) and len(namespace) > len(prefix) else None
