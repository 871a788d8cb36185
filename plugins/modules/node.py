#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: (c) 2026, gridnet.tenant contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
module: node
short_description: Converge a node's whole tenant-network state in one call
version_added: "0.2.0"
description:
  - Converges everything gridnet.tenant keeps on one node, in one module invocation however many networks the
    node is in - every network resource of the node (as M(gridnet.tenant.network_resource) does for one), the
    removal of resources and keys the node no longer has (M(gridnet.tenant.prune_resources)), the uplink and
    tables of each network the node is the exit of (M(gridnet.tenant.exit_gateway)), the routes of an upstream
    router (M(gridnet.tenant.upstream_routes)) and the node agent (M(gridnet.tenant.node_agent)).
  - Its action plugin cuts the host's slice from the run's plan on the controller (O(plan), the compact plan the
    gridnet.tenant.ledger action returns), so only that slice travels to the node.
  - Every part is checked before any is touched. Every network resource is read and diffed first, and the
    WireGuard links they still need are checked against the node's capacity together (the inotify budget of
    wireguard-go), so a node never stops half-way through its networks for want of capacity.
  - The node's own firewall is taken into account. Where br_netfilter sends bridged frames to an iptables filter
    table (Docker loads it and sets the FORWARD policy to DROP), one rule lets frames bridged within tenant bridges
    pass (in Docker's DOCKER-USER chain, else at the head of FORWARD), for iptables-nft and iptables-legacy, IPv4
    and IPv6. A native nftables firewall that drops forwarded packets or input by policy is named in a warning
    with what must pass. See docs/node-firewall.md.
extends_documentation_fragment:
  - gridnet.tenant.attributes
  - gridnet.tenant.node
  - gridnet.tenant.node.WIREGUARD
options:
  plan:
    description:
      - The run's compact plan (C(plan) of M(gridnet.tenant.ledger) with C(state=plan)). Defaults to the variable
        C(gridnet_tenant_plan). The action plugin takes this host's slice of it.
      - Give O(resources), O(exits) and O(upstream_routes) instead to converge a slice of your own.
    type: dict
  parts:
    description:
      - Which parts of the host's slice to converge. C(resources) includes pruning (when O(prune) is true) and the
        agent (when O(agent) is given and the node has resources).
    type: list
    elements: str
    choices: [resources, exits, upstream_routes]
    default: [resources, exits, upstream_routes]
  upstream:
    description:
      - Whether this host routes the networks' blocks towards their exits. Defaults to membership of the group
        C(gridnet_tenant_upstream_routers).
    type: bool
  upstream_exits:
    description: With O(upstream), route only the blocks of networks whose exit is one of these hosts (empty - all).
    type: list
    elements: str
    default: []
  resources:
    description: The node's network resources, when no plan is given (items as for M(gridnet.tenant.network_resource)).
    type: list
    elements: dict
  exits:
    description: The exits this node runs, when no plan is given (items as for M(gridnet.tenant.exit_gateway)).
    type: list
    elements: dict
  upstream_routes:
    description: The routes of an upstream router, when no plan is given. Left alone when not given.
    type: list
    elements: dict
  prune:
    description: Remove the network resources, workloads and private keys of networks the node is no longer in.
    type: bool
    default: true
  nft:
    description: The nft binary, for the exits' tables.
    type: str
    default: nft
  agent:
    description:
      - Install and run the node agent (docs/node-agent.md) when the node has network resources; null leaves it alone.
    type: dict
    suboptions:
      agent_dir:
        description: Where the agent's code and launcher live on the node.
        type: path
        default: /var/lib/gridnet-tenant/agent
      supervisor:
        description: Who keeps the agent running, as for M(gridnet.tenant.node_agent).
        type: str
        choices: [auto, systemd, detached, none]
        default: auto
      interval:
        description: Seconds between two looks of the agent at the node's links.
        type: float
        default: 1.0
      inotify_max_user_instances:
        description: When set, raise C(fs.inotify.max_user_instances) to at least this. Never lowered.
        type: int
      metrics_dir:
        description:
          - Where the agent writes the node's health figures as C(gridnet_tenant.prom) for node_exporter's textfile
            collector (docs/health.md); C(none) for no file.
        type: path
        default: /var/lib/prometheus/node-exporter
      metrics_interval:
        description: Seconds between two refreshes of that file.
        type: float
        default: 15.0
notes:
  - Two module invocations per node and run - M(gridnet.tenant.wireguard_key) for every network's key, then this one.
  - After applying, every part is read back; a difference from the plan fails the task naming it.
seealso:
  - module: gridnet.tenant.wireguard_key
  - module: gridnet.tenant.network_resource
  - module: gridnet.tenant.exit_gateway
  - module: gridnet.tenant.upstream_routes
  - module: gridnet.tenant.prune_resources
  - module: gridnet.tenant.node_agent
  - module: gridnet.tenant.ledger
"""

EXAMPLES = r"""
- name: Converge this node's whole state from the run's plan (one call, whatever the number of networks)
  gridnet.tenant.node:
    plan: "{{ gridnet_tenant_plan }}"
    agent: {supervisor: auto}

- name: Only the exits this host runs
  gridnet.tenant.node:
    parts: [exits]
"""

RETURN = r"""
changes:
  description: What was changed (or would be, in check mode), in order, each led by its part.
  returned: always
  type: list
  elements: str
  sample:
    - "network acme: create namespace gt-k3pxqa"
    - "exit of acme: create uplink gtu-k3pxqa on uplink0"
    - "prune: remove namespace gt-oldnet and its links"
    - "host firewall: let frames bridged within tenant bridges pass the node's ipv4 FORWARD (br_netfilter is on; iptables-nft)"
backends:
  description: The WireGuard back end of each network resource's new links, by netid (null when none was made).
  returned: always
  type: dict
  sample: {"acme": "userspace"}
removed:
  description: The namespaces of the resources pruned.
  returned: always
  type: list
  elements: str
networks:
  description: The netids of the network resources converged.
  returned: always
  type: list
  elements: str
"""

from ansible_collections.gridnet.tenant.plugins.module_utils.node.node_module import exit_converged, node_module, run
from ansible_collections.gridnet.tenant.plugins.module_utils.node.node_state import converge_node
from ansible_collections.gridnet.tenant.plugins.module_utils.node.options import (
    AGENT_OPTIONS, KEY_DIR_OPTION, WIREGUARD_OPTIONS, agent_problem)


def main():
    module = node_module(
        plan=dict(type="dict"),
        parts=dict(type="list", elements="str", choices=["resources", "exits", "upstream_routes"],
                   default=["resources", "exits", "upstream_routes"]),
        upstream=dict(type="bool"),
        upstream_exits=dict(type="list", elements="str", default=[]),
        resources=dict(type="list", elements="dict"),
        exits=dict(type="list", elements="dict"),
        upstream_routes=dict(type="list", elements="dict"),
        prune=dict(type="bool", default=True),
        nft=dict(type="str", default="nft"),
        agent=dict(type="dict", options=AGENT_OPTIONS),
        **KEY_DIR_OPTION, **WIREGUARD_OPTIONS
    )
    params = module.params
    if params["plan"] is not None:
        module.fail_json(msg="plan is cut into this host's slice by the action plugin on the controller; "
                             "call gridnet.tenant.node as a task, or give resources, exits and upstream_routes")
    parts = params["parts"]
    resources = params["resources"] or [] if "resources" in parts else []
    exits = params["exits"] or [] if "exits" in parts else []
    upstream_routes = params["upstream_routes"] if "upstream_routes" in parts else None
    agent = params["agent"] if "resources" in parts and resources else None
    if agent is not None and agent_problem(agent, "agent."):
        module.fail_json(msg=agent_problem(agent, "agent."))
    nft = module.get_bin_path(params["nft"], required=True) if exits else params["nft"]
    options = dict((k, params[k]) for k in ("key_dir", "wireguard_backend", "wireguard_go"))
    options["nft"] = nft
    result = run(module, "node", converge_node, resources, exits, upstream_routes, options, module.check_mode,
                 params["prune"] and "resources" in parts, agent)
    for text in result["warnings"]:
        module.warn(text)
    exit_converged(module, result, backends=result["backends"], removed=result["removed"],
                   networks=[r["netid"] for r in resources])


if __name__ == "__main__":
    main()
