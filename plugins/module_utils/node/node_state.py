# -*- coding: utf-8 -*-
# Copyright: (c) 2026, gridnet.tenant contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""One node's whole state in one call: its network resources, pruning, its exits, upstream routes, the agent.

Every part is checked before any is touched: each resource and exit is
validated, every resource is read and diffed, and the WireGuard links all of
them still need are held against the node's capacity together (one resource
at a time would pass each check and fail half-way through the last one).
Then, under the node lock, the parts are applied in order and read back.
"""

from __future__ import annotations

import contextlib

from ansible_collections.gridnet.tenant.plugins.module_utils.node import records
from ansible_collections.gridnet.tenant.plugins.module_utils.node import convergence
from ansible_collections.gridnet.tenant.plugins.module_utils.node import (
    exit_gateway, host_firewall, keys, netns, prune, upstream)
from ansible_collections.gridnet.tenant.plugins.module_utils.node.resource import Resource, validate
from ansible_collections.gridnet.tenant.plugins.module_utils.node.wireguard import predict_backend

from ansible_collections.gridnet.tenant.plugins.module_utils.node.pyroute import IPRoute

RESOURCE_OPTIONS = ("key_dir", "wireguard_backend", "wireguard_go")  # recorded with each resource, for the agent


def _prefixed(what, changes):
    return ["%s: %s" % (what, text) for text in changes]


def converge_resources(node, resources, options, check_mode):
    """Every resource prepared (read, diffed, preconditions checked), their new links held against the
    node's capacity together, then each applied and read back. Returns (changes, before, after, backends)."""
    secrets = keys.private_keys(resources, options["key_dir"], check_mode)
    targets = [Resource(node, r, "present", secrets.get(r["netid"]), check_mode, options["wireguard_backend"],
                        options["wireguard_go"]) for r in resources]
    try:
        record = {k: options[k] for k in RESOURCE_OPTIONS}
        prepared = [convergence.prepare(t, records.bookkeeping("resource", t.resource["namespace"], t.resource,
                                                               record, "present")) for t in targets]
        new_links = sum(t.new_links for t in targets)
        if new_links:
            backend = predict_backend(options["wireguard_backend"], options["wireguard_go"]) if check_mode \
                else next(t for t in targets if t.new_links).backend()
            backend.check_capacity(new_links)
        changes, before, after, backends = [], {}, {}, {}
        for target, ready in zip(targets, prepared):
            netid = target.resource["netid"]
            result = convergence.finish(ready, check_mode)
            changes += _prefixed("network %s" % netid, result["changes"])
            before[netid], after[netid] = result["before"], result["after"]
            backends[netid] = target._backend.name if target._backend is not None else None
        return changes, before, after, backends
    finally:
        for target in targets:
            target.close()


def converge_node(resources, exits, upstream_routes, options, check_mode=False, pruning=True, agent=None):
    """The node's whole state. upstream_routes None leaves the node's upstream routes alone; agent None
    leaves the agent alone. Returns {changes, before, after, backends, removed}."""
    for resource in resources:
        validate(resource, "present")
    for exit_plan in exits:
        exit_gateway.validate(exit_plan)
    changes, before, after = [], {}, {}
    removed = []
    with (contextlib.nullcontext() if check_mode else records.node_lock()), IPRoute() as node, netns.sharing():
        part_changes, before["resources"], after["resources"], backends = converge_resources(
            node, resources, options, check_mode)
        changes += part_changes
        warnings = []
        if resources:
            # the node's own firewall may drop what the tenant bridges carry (docs/node-firewall.md)
            result = convergence.converge(host_firewall.HostFirewall(), check_mode)
            changes += _prefixed("host firewall", result["changes"])
            before["host_firewall"], after["host_firewall"] = result["before"], result["after"]
            warnings = host_firewall.warnings(host_firewall.udp_ports(resources), host_firewall.in_scope())
        if pruning:
            result = prune.prune([r["namespace"] for r in resources], check_mode, options["wireguard_go"],
                                 options["key_dir"], [r["netid"] for r in resources], locked=True, node=node)
            changes += _prefixed("prune", result["changes"])
            removed = result["removed"]
            before["removed"], after["removed"] = result["removed"], []
        before["exits"], after["exits"] = {}, {}
        for exit_plan in exits:
            result = exit_gateway.converge(exit_plan, "present", check_mode, options["nft"],
                                           record={"nft": options["nft"]}, locked=True, node=node)
            changes += _prefixed("exit of %s" % exit_plan["netid"], result["changes"])
            before["exits"][exit_plan["netid"]], after["exits"][exit_plan["netid"]] = result["before"], result["after"]
        if upstream_routes is not None:
            result = upstream.converge(upstream_routes, check_mode)
            changes += _prefixed("upstream routes", result["changes"])
            before["upstream_routes"], after["upstream_routes"] = result["before"], result["after"]
    if agent is not None:
        # imported here: the agent's code is only read when the agent is asked for
        from ansible_collections.gridnet.tenant.plugins.module_utils.node import agent_install
        agent_changes = agent_install.node_changes("present", agent)
        if not check_mode:
            convergence.apply_changes(agent_changes, agent_install.APPLY_ERRORS)
        changes += _prefixed("agent", [c.text for c in agent_changes])
        before["agent"], after["agent"] = [c.text for c in agent_changes], []
    return {"changes": changes, "before": before, "after": after, "backends": backends, "removed": removed,
            "warnings": warnings}
