#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: (c) 2026, gridnet.tenant contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
module: node_agent
short_description: Install and run the node agent that re-applies a node's tenant networks without a controller
version_added: "0.2.0"
description:
  - The M(gridnet.tenant.network_resource) and M(gridnet.tenant.exit_gateway) modules record each resource they
    converge under C(/var/lib/gridnet-tenant/state) (root-only, no private key). The node agent re-applies those
    records with the same converge code at boot, and supervises them - every O(interval) seconds it looks at each
    record's links and converges again a resource whose link went (a wireguard-go that died takes its link with it).
  - Every O(metrics_interval) seconds the agent writes the node's health figures for Prometheus into O(metrics_dir).
  - Installs the agent's code (the collection's own module_utils) and the launcher C(gridnet-tenant-agent) under
    O(agent_dir).
  - Where systemd is the init, installs, enables and starts C(/etc/systemd/system/gridnet-tenant-agent.service)
    (C(Restart=always)). Elsewhere starts the agent detached (its own session, no inherited descriptors); the node's
    own boot must then run C(gridnet-tenant-agent run) (the lab does).
  - O(state=absent) stops the agent, disables and removes the unit and removes O(agent_dir); records and keys stay.
extends_documentation_fragment:
  - gridnet.tenant.attributes
options:
  state:
    description: Whether the agent is installed and running.
    type: str
    choices: [present, absent]
    default: present
  agent_dir:
    description: Where the agent's code and launcher go (root-only).
    type: path
    default: /var/lib/gridnet-tenant/agent
  supervisor:
    description:
      - Who keeps the agent running. C(auto) is C(systemd) when systemd is the init, else C(detached).
        C(none) installs the code and launcher only.
    type: str
    choices: [auto, systemd, detached, none]
    default: auto
  interval:
    description: Seconds between two looks at the recorded resources.
    type: float
    default: 1.0
  inotify_max_user_instances:
    description:
      - When set, raise C(fs.inotify.max_user_instances) to at least this number, now and at boot
        (C(/etc/sysctl.d/60-gridnet-tenant.conf)); never lowered. Each wireguard-go link takes one instance, and
        the default of 128 is shared by every process of the user on the node.
    type: int
  metrics_dir:
    description:
      - Where the agent writes the node's health figures (every link's state, last WireGuard handshake and bytes,
        babeld's neighbours, an exit's counters) as C(gridnet_tenant.prom), replaced atomically, for
        node_exporter's textfile collector; Debian's C(prometheus-node-exporter) reads this directory. C(none)
        for no file. docs/health.md lists the metrics.
    type: path
    default: /var/lib/prometheus/node-exporter
  metrics_interval:
    description: Seconds between two refreshes of that file.
    type: float
    default: 15.0
requirements:
  - pyroute2 >= 0.9 on the node
  - root on the node
seealso:
  - module: gridnet.tenant.network_resource
  - module: gridnet.tenant.exit_gateway
"""

EXAMPLES = r"""
- name: Re-apply this node's tenant networks at boot and restore dead links
  gridnet.tenant.node_agent:
"""

RETURN = r"""
changes:
  description: What was changed (or would be, in check mode), in order.
  returned: always
  type: list
  elements: str
  sample:
    - write /var/lib/gridnet-tenant/agent/gridnet-tenant-agent
    - enable and (re)start gridnet-tenant-agent.service
launcher:
  description: The agent's launcher on the node (C(gridnet-tenant-agent boot|run|status)).
  returned: always
  type: str
  sample: /var/lib/gridnet-tenant/agent/gridnet-tenant-agent
"""

import os

from ansible_collections.gridnet.tenant.plugins.module_utils.node import agent_install
from ansible_collections.gridnet.tenant.plugins.module_utils.node.convergence import apply_changes
from ansible_collections.gridnet.tenant.plugins.module_utils.node.node_module import node_module, run
from ansible_collections.gridnet.tenant.plugins.module_utils.node.options import AGENT_OPTIONS, agent_problem


def main():
    module = node_module(
        state=dict(type="str", choices=["present", "absent"], default="present"),
        **AGENT_OPTIONS
    )
    if agent_problem(module.params):
        module.fail_json(msg=agent_problem(module.params))
    params = module.params
    changes = agent_install.node_changes(params["state"], params)
    if not module.check_mode:
        run(module, "node agent", apply_changes, changes, agent_install.APPLY_ERRORS)
    texts = [c.text for c in changes]
    module.exit_json(changed=bool(texts), changes=texts,
                     launcher=os.path.join(params["agent_dir"], agent_install.LAUNCHER),
                     diff={"before": {"changes": texts}, "after": {"changes": []}})


if __name__ == "__main__":
    main()
