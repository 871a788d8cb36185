#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: (c) 2026, gridnet.tenant contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
module: probe
short_description: Attach verification workloads to a node's network resources and ping from them
version_added: "0.1.0"
description:
  - Makes one workload per network resource (a namespace C(gtv-TAG) with a veth on the resource's bridge, an address
    of its /64 and /24 and default routes via its gateways), if missing or different, and runs every probe - a real
    C(ping) from a workload, optionally full-size with fragmentation forbidden - in parallel, in one call.
  - Probes come from the gridnet.tenant.probes filter; their results go to the gridnet.tenant.connectivity_matrix filter.
    The verify playbook does both. Workloads stay for inspection; gridnet.tenant.prune_resources removes them with
    their network resource.
  - Reports changed only when it made a workload; probing changes nothing.
extends_documentation_fragment:
  - gridnet.tenant.attributes
options:
  workloads:
    description: The node's workloads (C(probes[host].workloads)).
    type: list
    elements: dict
    required: true
  probes:
    description: The node's probes (C(probes[host].probes)). In check mode none is run.
    type: list
    elements: dict
    default: []
requirements:
  - iproute2 and ping (iputils) on the node; root
seealso:
  - module: gridnet.tenant.network_resource
  - plugin: gridnet.tenant.probes
    plugin_type: filter
  - plugin: gridnet.tenant.connectivity_matrix
    plugin_type: filter
"""

EXAMPLES = r"""
- name: Probe from every workload of this node
  gridnet.tenant.probe:
    workloads: "{{ gridnet_tenant_probes[inventory_hostname].workloads }}"
    probes: "{{ gridnet_tenant_probes[inventory_hostname].probes }}"
  register: probed
"""

RETURN = r"""
results:
  description: One result per probe, in the order given.
  returned: always (empty in check mode)
  type: list
  elements: dict
  sample: [{"id": "dc1/acme ping6 dc2/acme", "expect": true, "ok": true}]
made:
  description: The workloads created (or that would be, in check mode).
  returned: always
  type: list
  elements: str
  sample: ["gtv-k3pxqa"]
"""

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.gridnet.tenant.plugins.module_utils.node import workload
from ansible_collections.gridnet.tenant.plugins.module_utils.common.errors import InputError
from ansible_collections.gridnet.tenant.plugins.module_utils.common.rules import check_ifname


def main():
    module = AnsibleModule(
        argument_spec=dict(
            workloads=dict(type="list", elements="dict", required=True),
            probes=dict(type="list", elements="dict", default=[]),
        ),
        supports_check_mode=True,
    )
    made = []
    for wanted in module.params["workloads"]:
        missing = [k for k in ("name", "bridge", "mtu", "addresses", "gateways") if k not in wanted]
        if missing:
            module.fail_json(msg="workload lacks %s (pass probes[host].workloads)" % ", ".join(missing))
        try:
            check_ifname(str(wanted["name"]), "workload")
        except InputError as exc:
            module.fail_json(msg=str(exc))
    for wanted in module.params["workloads"]:
        if module.check_mode:
            if workload.needs_change(wanted):
                made.append(wanted["name"])
            continue
        try:
            if workload.ensure(wanted):
                made.append(wanted["name"])
        except OSError as exc:
            module.fail_json(msg=str(exc), made=made)
    results = [] if module.check_mode else workload.run_probes(module.params["probes"])
    module.exit_json(changed=bool(made), made=made, results=results,
                     diff={"before": {"workloads": []}, "after": {"workloads": made}})


if __name__ == "__main__":
    main()
