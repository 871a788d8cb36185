#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: (c) 2026, gridnet.tenant contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
module: ledger
short_description: The allocation ledger of every network object, on the controller, encrypted at rest
version_added: "0.1.0"
description:
  - Keeps every network object the collection hands out - networks (block, VXLAN id), network resources (prefix,
    IPv4 subnet, public key) and WireGuard listen ports - in one file beside the inventory, by default
    C(group_vars/all/gridnet_tenant_ledger.vault), so nothing is ever renumbered across runs and controllers.
  - The file is encrypted whole with Ansible Vault when a vault secret is configured (C(--vault-password-file),
    C(--ask-vault-pass), C(ANSIBLE_VAULT_PASSWORD_FILE)) - no prefix, netid or key is readable without it. Clear text
    only with O(plaintext=true). A wrong secret, or a corrupt file, fails clearly and writes nothing.
  - C(state=plan) takes an exclusive lock, reads the ledger, computes the plan from the inventory and the ledger
    (recorded public keys serve the hosts outside the play, so C(--limit) keeps every peer), records what it handed
    out and marks what left the inventory C(removing) (still reserved), writes the file atomically and returns the
    plan. Two concurrent runs are serialised by the lock, so they never hand out the same prefix or port.
  - C(state=settle) releases what is C(removing) once its removal has been applied (every node of its network is in
    O(applied) of this run or of an earlier one since the removal, or no longer in the inventory; runs sliced by host
    add up). A released prefix is reused only after every other free one.
  - C(state=publish) records the public keys that the hosts in O(hosts) published (C(gridnet_tenant_public_keys)) and
    that the ledger does not hold yet, so that a run limited to some hosts (a C(--limit) run, a slice of a sliced job)
    can plan links to nodes it does not run on. The C(gridnet.tenant.keys) playbook runs it.
  - C(state=show) returns the ledger as rows (network, node, prefix, IPv4 subnet, ports, state).
  - C(state=check) reads the ledger as C(state=show) does and fails if this run could not write it (no vault
    secret configured and O(plaintext) not asked; with O(backend=etcd), the cluster out of reach). The
    C(netresource) role runs it before any node is touched.
  - With O(backend=etcd) the ledger is shared by several controllers in an etcd cluster (docs/ledger.md) - always
    vault-encrypted, the read-plan-write held under a lease-backed lock and written by a transaction that fails if
    another run wrote in between (then tried again). C(state=migrate) copies the file at O(path) into etcd,
    C(state=export) writes etcd's ledger to O(path).
  - An action plugin; runs on the controller. Nothing is written in check mode.
extends_documentation_fragment:
  - gridnet.tenant.attributes.CONTROLLER
options:
  path:
    description: The ledger file.
    type: path
    required: true
  state:
    description: What to do.
    type: str
    choices: [plan, settle, show, check, migrate, export, publish]
    default: plan
  networks:
    description: The tenant networks (C(gridnet_tenant_networks)), for C(state=plan).
    type: list
    elements: dict
  plaintext:
    description: Write the ledger in clear text when no vault secret is configured. Without it, that is an error.
    type: bool
    default: false
  applied:
    description: For C(state=settle), the hosts on which this run's converge succeeded (C(ansible_play_hosts)).
    type: list
    elements: str
  hosts:
    description: For C(state=publish), the hosts whose published public keys are recorded (C(ansible_play_hosts)).
    type: list
    elements: str
  backend:
    description: Where the ledger is kept (C(gridnet_tenant_ledger_backend)).
    type: str
    choices: [file, etcd]
    default: file
  etcd:
    description:
      - The etcd cluster, for O(backend=etcd) (C(gridnet_tenant_ledger_etcd)).
      - C(endpoints) (list of C(http://) or C(https://) URLs, required), C(prefix) (this deployment's key prefix,
        required), C(ca), C(cert), C(key) (TLS files), C(user), C(password), C(lock_ttl) (seconds a killed
        controller's lock blocks the others, default 30), C(lock_timeout) (seconds to wait for the lock, default
        120), C(layout) (C(keys), the default, the ledger under many keys, a run writing only those it changes;
        C(single), the whole ledger as one value, as before 0.2.0; a run moves a ledger found in the other layout).
    type: dict
seealso:
  - plugin: gridnet.tenant.plan
    plugin_type: filter
"""

EXAMPLES = r"""
- name: Plan from the inventory and the ledger, recording what was handed out
  gridnet.tenant.ledger:
    path: "{{ inventory_dir }}/group_vars/all/gridnet_tenant_ledger.vault"
    networks: "{{ gridnet_tenant_networks }}"
  register: ledger
  run_once: true

- name: Show the ledger as a table
  gridnet.tenant.ledger:
    path: "{{ inventory_dir }}/group_vars/all/gridnet_tenant_ledger.vault"
    state: show
  register: shown
  run_once: true
"""

RETURN = r"""
plan:
  description: The plan (as the gridnet.tenant.plan filter returns it), for C(state=plan).
  returned: state=plan
  type: dict
  contains:
    nodes:
      description: Per host, its network resources (each an item for M(gridnet.tenant.network_resource)).
      type: dict
    exits:
      description: Per network, its exit (each an item for M(gridnet.tenant.exit_gateway)).
      type: list
      elements: dict
    upstream_routes:
      description: Each network's block via its exit (for M(gridnet.tenant.upstream_routes)).
      type: list
      elements: dict
    assignments:
      description: What the plan handed out (blocks, VXLAN ids, prefixes, subnets, public keys, ports).
      type: dict
released:
  description: What C(state=settle) released.
  returned: state=settle
  type: list
  elements: str
  sample: ["acme/dc2 2001:db8:14f:90bf::/64"]
rows:
  description: The ledger's rows, for C(state=show).
  returned: state=show
  type: list
  elements: dict
  sample: [{"network": "acme", "node": "dc1", "prefix": "2001:db8:14f:239a::/64", "ipv4": "10.60.15.0/24",
            "ports": "53038,54532", "state": "active"}]
lines:
  description: The same as an aligned text table.
  returned: state=show
  type: list
  elements: str
  sample: ["NETWORK  NODE  PREFIX                  IPV4           PORTS        STATE",
           "acme     dc1   2001:db8:14f:239a::/64  10.60.15.0/24  53038,54532  active"]
"""
