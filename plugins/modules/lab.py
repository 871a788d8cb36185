#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: (c) 2026, gridnet.tenant contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
module: lab
short_description: Build or tear down the lab, a simulated farm of namespaces on this machine
version_added: "0.1.0"
description:
  - Starts one anchor process per node of O(topology), each in its own network, mount, UTS, IPC and PID namespaces,
    wires the topology's segments (a bridge in the segment's router node, a veth per attached node, addresses,
    default routes, forwarding, masquerade for NATed segments), and writes an Ansible inventory in which the lab's
    hosts are reached with C(community.docker.nsenter).
  - The lab's state (node to anchor PID) is written after every node that starts, so C(state=absent) removes every
    process of the lab even after a failed or interrupted build; anchors are also found by the exact mark they carry
    in their argv (C(gridnet-lab-anchor LAB NODE)). Killing an anchor ends its PID namespace and with it every
    process of the node (wireguard-go included); its namespaces and private mounts go with it.
  - Runs on the machine that hosts the lab, as root.
extends_documentation_fragment:
  - gridnet.tenant.attributes.LAB
options:
  name:
    description: The lab's name; anchors carry it, so two labs never touch each other's nodes.
    type: str
    default: gridnet-lab
  directory:
    description: Where the lab keeps its state file and writes its inventory (C(inventory/hosts.yml)).
    type: path
    required: true
  state:
    description: C(present) builds the lab (an intact running lab is left as it is); C(absent) tears it down.
    type: str
    choices: [present, absent]
    default: present
  topology:
    description: Segments and inventory hosts (see C(playbooks/lab/topology.yml)). Required with C(state=present).
    type: dict
  networks:
    description: The tenant networks written into the inventory as C(gridnet_tenant_networks).
    type: list
    elements: dict
    default: []
  python:
    description: The Python the lab's hosts run modules with (needs pyroute2); the controller's by default.
    type: str
  connection:
    description:
      - How Ansible reaches the lab's hosts. C(nsenter) uses C(community.docker.nsenter); C(ssh) uses Ansible's
        ssh connection to the node's own sshd (C(sshd -i) started inside the node by each connection through a
        C(ProxyCommand)), so modules run under a real SSH session and pty, as on a farm. No port is opened on
        the machine.
    type: str
    choices: [nsenter, ssh]
    default: nsenter
  reboot:
    description:
      - Nodes to reboot - each anchor is killed (every process, namespace and C(/run) of the node goes), a new one
        starts with the node's C(/var/lib) kept, is wired as at the build, and starts the node agent as a real
        node's init would. The inventory is rewritten with the new anchors. A node killed with O(kill) is booted.
    type: list
    elements: str
    default: []
  kill:
    description:
      - Nodes to kill and leave down - each anchor is killed (every process, namespace and link of the node goes), as
        a node that dies. It stays in the inventory, unreachable. O(reboot) boots it again, keeping its C(/var/lib).
        Nodes that route a segment cannot be killed.
    type: list
    elements: str
    default: []
  cut:
    description:
      - Links to cut, each C(a:b) - node I(a) drops every UDP datagram to and from I(b)'s underlay addresses, in its
        own underlay namespace (never inside a tenant network), so the link between them dies as a cable cut would
        kill it. Name first the node that sees the other's configured address (the one behind NAT). Cuts stay until
        mended; a rebooted node loses its own.
    type: list
    elements: str
    default: []
  mend:
    description: Cuts to undo, each C(a:b) as it was given to O(cut).
    type: list
    elements: str
    default: []
requirements:
  - root; unshare and nsenter (util-linux), iproute2, nftables
notes:
  - A simulation for tests and demonstrations; not for production nodes.
  - The default O(directory) of the lab playbooks is C(~/.local/state/gridnet-tenant/LAB), outside the collection.
seealso:
  - module: gridnet.tenant.network_resource
"""

EXAMPLES = r"""
- name: Build the default lab and write its inventory
  gridnet.tenant.lab:
    directory: "{{ lookup('env', 'HOME') }}/.local/state/gridnet-tenant/gridnet-lab"
    topology: "{{ gridnet_lab_topology }}"
    networks: "{{ gridnet_lab_networks }}"
    python: "{{ ansible_playbook_python }}"

- name: Cut the link between home1 and gw in the underlay, then mend it
  gridnet.tenant.lab:
    directory: "{{ lookup('env', 'HOME') }}/.local/state/gridnet-tenant/gridnet-lab"
    topology: "{{ gridnet_lab_topology }}"
    cut: ["home1:gw"]

- name: Tear it down
  gridnet.tenant.lab:
    directory: "{{ lookup('env', 'HOME') }}/.local/state/gridnet-tenant/gridnet-lab"
    state: absent
"""

RETURN = r"""
inventory:
  description: The inventory file the lab wrote.
  returned: state=present
  type: str
  sample: /root/.local/state/gridnet-tenant/gridnet-lab/inventory/hosts.yml
nodes:
  description: Node name to anchor PID.
  returned: always
  type: dict
  sample: {"dc1": 41235, "gw": 41302}
rebooted:
  description: Node name to the PID of its new anchor, for the nodes rebooted.
  returned: state=present
  type: dict
  sample: {"home1": 52871}
down:
  description: The nodes killed with O(kill) and not booted since.
  returned: state=present
  type: list
  elements: str
  sample: ["gw"]
cuts:
  description: The links cut now, as C(a:b).
  returned: state=present
  type: list
  elements: str
  sample: ["home1:gw"]
stopped:
  description: The nodes whose anchors were stopped.
  returned: state=absent
  type: list
  elements: str
  sample: ["dc1", "gw"]
"""

import json
import os
import shutil
import sys

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.gridnet.tenant.plugins.module_utils.lab import lab, lab_cuts, lab_farm
from ansible_collections.gridnet.tenant.plugins.module_utils.common.files import write_atomic

try:
    import yaml
except ImportError:  # ansible-core depends on PyYAML
    yaml = None

STATE_FILE = "state.json"


def _write(path, text):
    write_atomic(path, text.encode("utf-8"), mode=0o644)


def _read_state(directory):
    try:
        with open(os.path.join(directory, STATE_FILE)) as handle:
            return json.load(handle)
    except (OSError, ValueError):
        return {}


def _reboot_and_kill(module, topology, alive, down, recorded):
    """Reboot (or boot, when killed) the nodes asked for, then kill the others asked for: ({node: new pid} booted,
    [nodes] killed). alive and down are updated, and the state file after each node."""
    name, directory, rebooted, killed = module.params["name"], module.params["directory"], {}, []

    def record():
        _write(os.path.join(directory, STATE_FILE),
               json.dumps(dict(recorded, nodes=alive, topology=topology, down=sorted(down)), indent=1))
    for node in module.params["reboot"]:
        if node not in alive and node not in down:
            module.fail_json(msg="cannot reboot %r: not a node of lab %s" % (node, name))
        if module.check_mode:
            rebooted[node] = None
            continue
        try:
            if node in down:
                alive[node], _unused = lab_farm.boot_node(topology, name, directory, alive, node)
            else:
                alive[node], _unused = lab_farm.reboot_node(topology, name, directory, alive, node)
        except (lab.LabError, OSError) as exc:
            module.fail_json(msg="rebooting %s failed: %s" % (node, exc))
        down.discard(node)
        rebooted[node] = alive[node]
        record()
    for node in module.params["kill"]:
        if node in down or node in rebooted:
            continue
        if node not in alive:
            module.fail_json(msg="cannot kill %r: not a node of lab %s" % (node, name))
        try:
            lab_farm.check_not_a_router(topology, node, "killed")
        except lab.LabError as exc:
            module.fail_json(msg=str(exc))
        killed.append(node)
        if not module.check_mode:
            lab.stop_node(alive.pop(node))
            down.add(node)
            record()
    return rebooted, killed


def _cuts(module, topology, alive, recorded, gone):
    """Apply the cuts asked for and the mends, and keep the list in the state file; `gone`: nodes whose anchor
    died since (their cuts went with their namespace)."""
    nodes = set(alive) | gone
    try:
        before = [lab_cuts.parse(c, nodes) for c in recorded.get("cuts") or [] if c.split(":")[0] not in gone]
        wanted = [lab_cuts.parse(c, nodes) for c in module.params["cut"]]
        mended = {lab_cuts.parse(c, nodes) for c in module.params["mend"]}
    except lab.LabError as exc:
        module.fail_json(msg=str(exc))
    after = sorted((set(before) | set(wanted)) - mended)
    now = ["%s:%s" % pair for pair in after]
    if set(after) == set(before) and now == sorted(recorded.get("cuts") or []):
        return {"changed": False, "now": now}
    if not module.check_mode:
        try:
            lab_cuts.apply(topology, alive, before, after)
        except lab.LabError as exc:
            module.fail_json(msg="cutting links failed: %s" % exc)
        state = dict(_read_state(module.params["directory"]), cuts=now)
        _write(os.path.join(module.params["directory"], STATE_FILE), json.dumps(state, indent=1))
    return {"changed": True, "now": now}


def main():
    module = AnsibleModule(
        argument_spec=dict(
            name=dict(type="str", default=lab.DEFAULT_LAB),
            directory=dict(type="path", required=True),
            state=dict(type="str", choices=["present", "absent"], default="present"),
            topology=dict(type="dict"),
            networks=dict(type="list", elements="dict", default=[]),
            python=dict(type="str"),
            connection=dict(type="str", choices=["nsenter", "ssh"], default="nsenter"),
            reboot=dict(type="list", elements="str", default=[]),
            kill=dict(type="list", elements="str", default=[]),
            cut=dict(type="list", elements="str", default=[]),
            mend=dict(type="list", elements="str", default=[]),
        ),
        required_if=[("state", "present", ["topology"])],
        supports_check_mode=True,
    )
    if os.geteuid() != 0:
        module.fail_json(msg="the lab builds namespaces and needs root")
    name, directory = module.params["name"], module.params["directory"]
    recorded = _read_state(directory)
    alive = {n: p for n, p in (recorded.get("nodes") or {}).items() if lab.is_anchor(p, n, name)}
    down = {n for n in recorded.get("down") or [] if n not in alive}  # killed on purpose, not a broken lab

    if module.params["state"] == "absent":
        running = dict(alive, **lab.find_anchors(name))
        if module.check_mode:
            module.exit_json(changed=bool(running or os.path.exists(directory)), nodes=running, stopped=sorted(running))
        stopped = lab_farm.stop_farm(name, recorded.get("nodes"))
        existed = os.path.exists(directory)
        shutil.rmtree(directory, ignore_errors=True)
        module.exit_json(changed=bool(stopped) or existed, nodes={}, stopped=stopped)

    topology = module.params["topology"]
    try:
        lab_farm.validate_topology(topology)
    except (lab.LabError, ValueError, TypeError) as exc:
        module.fail_json(msg="lab topology: %s" % exc)
    wanted = lab_farm.farm_nodes(topology)
    path = os.path.join(directory, "inventory", "hosts.yml")
    python = module.params["python"] or sys.executable
    changed = False
    if sorted(set(alive) | down) != wanted or recorded.get("topology") != topology:
        changed = True
        if module.check_mode:
            module.exit_json(changed=True, nodes=alive, inventory=path)
        lab_farm.stop_farm(name, recorded.get("nodes"))  # a partial or different lab: start clean
        state = {"lab": name, "nodes": {}, "topology": None}

        def record(pids):
            state["nodes"] = pids
            _write(os.path.join(directory, STATE_FILE), json.dumps(state, indent=1))
        try:
            alive = lab_farm.build_farm(topology, name, on_started=record, directory=directory)
        except (lab.LabError, OSError, ValueError) as exc:
            module.fail_json(msg="building the lab failed (tear it down with state=absent): %s" % exc)
        state["topology"] = topology
        record(alive)
        recorded, down = dict(recorded, cuts=[]), set()  # a new lab has no cuts and no dead node
    rebooted, killed = _reboot_and_kill(module, topology, alive, down, recorded)
    changed = changed or bool(rebooted or killed)
    cuts = _cuts(module, topology, alive, recorded, set(rebooted) | down)
    changed = changed or cuts["changed"]
    ssh_folder = os.path.join(directory, "ssh")
    if module.params["connection"] == "ssh" and not module.check_mode:
        lab_farm.ssh_setup(directory)
    # a dead node stays in the inventory, unreachable: the plan still counts it
    text = yaml.safe_dump(lab_farm.inventory(topology, module.params["networks"], dict(alive, **dict.fromkeys(down, 0)),
                                             python, name,
                                             module.params["connection"], ssh_folder), default_flow_style=False)
    try:
        with open(path) as handle:
            current = handle.read()
    except OSError:
        current = None
    if current != text:
        changed = True
        if not module.check_mode:
            _write(path, text)
    module.exit_json(changed=changed, nodes=alive, inventory=path, rebooted=rebooted, cuts=cuts["now"],
                     down=sorted(down))


if __name__ == "__main__":
    main()
