"""site.yml --check --diff on a fresh lab: every node's changes predicted, nothing made anywhere."""

import os
import re

from ansible_collections.gridnet.tenant.plugins.module_utils.lab import lab


def node_state(farm):
    """What a run could leave on a node: namespaces, everything under /var/lib and /run/gridnet-tenant."""
    state = {}
    for node, pid in farm.pids().items():
        state[node] = (
            lab.run(pid, ["ip", "netns", "list"]).stdout,
            lab.run(pid, ["find", "/var/lib", "/run/gridnet-tenant", "-mindepth", "1"], check=False).stdout,
            lab.run(pid, ["ip", "-o", "link", "show"]).stdout.count("\n"),
        )
    return state


def files_under(directory):
    return sorted(os.path.relpath(os.path.join(d, f), directory) for d, _unused, fs in os.walk(directory) for f in fs)


def test_site_check_diff_on_fresh_nodes_predicts_every_node_and_touches_nothing(new_lab):
    farm = new_lab("gridnet-check")
    farm.playbook("lab/up.yml", inventory=False)
    nodes_before, files_before = node_state(farm), files_under(farm.directory)
    predicted = farm.playbook("site.yml", "--check", "--diff")
    members = {m for n in farm.networks for m in n["members"]} | {n["exit"]["node"] for n in farm.networks}
    # every member would get its keys, then its resources and the agent in one call: a change and a diff each
    assert all(predicted.changed[node] >= 2 for node in members), predicted.changed
    assert predicted.stdout.count("--- before") >= len(members), predicted.stdout[-3000:]
    # the links are predicted (inside each network's part of the node's diff, however deep it is indented)
    assert re.search(r'^\+\s+"wireguard": \{', predicted.stdout, re.M) and '"gtw' in predicted.stdout, \
        predicted.stdout[-3000:]
    assert '"parent": "uplink"' in predicted.stdout, predicted.stdout[-3000:]  # the exit's uplink, predicted
    assert node_state(farm) == nodes_before  # no namespace, key, record, agent or link
    assert files_under(farm.directory) == files_before  # no ledger, no lock beside the inventory
