#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: (c) 2026, gridnet.tenant contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
module: plan_slice
short_description: This host's slice of the run's tenant-network plan, on the controller
version_added: "0.2.0"
description:
  - Cuts this host's slice (its network resources, the exits it runs, and the upstream routes when it is in group
    C(gridnet_tenant_upstream_routers)) from the plan in C(gridnet_tenant_plan), as M(gridnet.tenant.node) does
    before converging, and summarises it. Touches no host.
  - The plan is read as it is, never templated, so each host's task costs its own slice, not the whole plan.
extends_documentation_fragment:
  - gridnet.tenant.attributes.CONTROLLER
options:
  dest:
    description: A file on the controller to write the slice to, as JSON.
    type: path
notes:
  - In check mode O(dest) is compared, not written. There is no diff; the slice is in O(dest).
seealso:
  - module: gridnet.tenant.node
  - module: gridnet.tenant.ledger
  - plugin: gridnet.tenant.compact_plan
    plugin_type: filter
"""

EXAMPLES = r"""
- name: Write each host's slice to plans/HOST.json
  gridnet.tenant.plan_slice:
    dest: "plans/{{ inventory_hostname }}.json"
"""

RETURN = r"""
summary:
  description: One line per network resource (netid, prefix, number of links) and per exit.
  returned: always
  type: list
  elements: str
  sample: ["acme 2001:db8:104f:4137::/64 4 links", "exit of acme 2001:db8:104f::/48"]
"""
