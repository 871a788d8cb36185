#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: (c) 2026, gridnet.tenant contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
module: wireguard_key
short_description: Make a node's WireGuard keys for its tenant networks, on the node
version_added: "0.1.0"
description:
  - Generates the node's private key for a network on the node itself (X25519, mode 0600, in O(key_dir)),
    keeps it across runs and returns only the public key.
  - With O(netids), every network's key in one call (what a role does once per node and run).
  - The private key never appears in output, logs, diffs or facts.
extends_documentation_fragment:
  - gridnet.tenant.attributes
  - gridnet.tenant.node
options:
  netid:
    description: "The tenant network. Names the key file, so it may hold letters, digits and C(_), C(.), C(:), C(-)."
    type: str
  netids:
    description: Several tenant networks at once, instead of O(netid). Every name is checked before any key is made.
    type: list
    elements: str
  state:
    description: C(absent) deletes the key file.
    type: str
    choices: [present, absent]
    default: present
notes:
  - The private key is made on the node, kept there with mode 0600 and never returned.
  - Exactly one of O(netid) and O(netids) is required.
seealso:
  - module: gridnet.tenant.network_resource
"""

EXAMPLES = r"""
- name: Make the key for network acme and publish the public key
  gridnet.tenant.wireguard_key:
    netid: acme
  register: key

- name: Every network of this node in one call
  gridnet.tenant.wireguard_key:
    netids: [acme, globex]
  register: keys

- name: Only the public key travels
  ansible.builtin.set_fact:
    gridnet_tenant_public_keys: "{{ gridnet_tenant_public_keys | default({}) | combine({'acme': key.public_key}) }}"
"""

RETURN = r"""
public_key:
  description:
    - The node's public key for the network.
    - In check mode, before the key exists, a random placeholder that stands for the key a real run would
      make, so that a plan can be predicted; RV(placeholder) is then true.
  returned: when state is present
  type: str
  sample: "Yw8hJ0pTHkYXRpB+nFZvz4D0mbJp3QvjpYFAaFyBmHc="
placeholder:
  description: True when RV(public_key) is a check-mode placeholder, not a key this node holds.
  returned: when state is present
  type: bool
public_keys:
  description: With O(netids), the public key of each network (check-mode placeholders included).
  returned: when netids is given and state is present
  type: dict
  sample: {"acme": "Yw8hJ0pTHkYXRpB+nFZvz4D0mbJp3QvjpYFAaFyBmHc="}
placeholders:
  description: With O(netids), the networks whose RV(public_keys) entry is a check-mode placeholder.
  returned: when netids is given and state is present
  type: list
  elements: str
path:
  description: Where the private key is kept on the node.
  returned: when netid is given
  type: str
  sample: /var/lib/gridnet-tenant/keys/acme.key
paths:
  description: With O(netids), where each network's private key is kept on the node.
  returned: when netids is given
  type: dict
  sample: {"acme": "/var/lib/gridnet-tenant/keys/acme.key"}
"""

import os

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.gridnet.tenant.plugins.module_utils.node import keys
from ansible_collections.gridnet.tenant.plugins.module_utils.node.options import KEY_DIR_OPTION


class KeyProblem(Exception):
    pass


def ensure(path, state, check_mode):
    """One key brought to state. Returns (changed, public key or None, placeholder)."""
    exists = os.path.exists(path)
    if state == "absent":
        if exists and not check_mode:
            os.unlink(path)
        return exists, None, False
    if exists:
        try:
            private = keys.read_private_key(path)
        except (OSError, ValueError) as exc:
            raise KeyProblem("%s holds no usable WireGuard private key (%s); move it away to make a new one"
                             % (path, exc))
        mode = os.stat(path).st_mode & 0o777
        if mode & 0o077:
            raise KeyProblem("%s is readable by others (mode %o); a private key must be 0600" % (path, mode))
        return False, keys.public_key(private), False
    private = keys.generate_private_key()
    if check_mode:  # nothing is written: a random key's public half stands for the one a run would make
        return True, keys.public_key(private), True
    keys.write_private_key(path, private)
    return True, keys.public_key(private), False


def main():
    module = AnsibleModule(
        argument_spec=dict(
            netid=dict(type="str"),
            netids=dict(type="list", elements="str"),
            state=dict(type="str", choices=["present", "absent"], default="present"),
            **KEY_DIR_OPTION
        ),
        required_one_of=[("netid", "netids")],
        mutually_exclusive=[("netid", "netids")],
        supports_check_mode=True,
    )
    params = module.params
    netids = params["netids"] if params["netids"] is not None else [params["netid"]]
    try:
        paths = [keys.key_path(params["key_dir"], netid) for netid in netids]
    except ValueError as exc:
        module.fail_json(msg=str(exc))
    try:
        keys.x25519_base(b"\x01" * 32)  # before anything is written: can this node derive public keys at all?
    except keys.NoX25519 as exc:
        module.fail_json(msg=str(exc))
    results = []
    for path in paths:
        try:
            results.append(ensure(path, params["state"], module.check_mode))
        except KeyProblem as exc:
            module.fail_json(msg=str(exc), path=path, changed=any(r[0] for r in results))
    present = params["state"] == "present"
    diff = [{"before": {"key": "present" if (r[0] != present) else "absent"},
             "after": {"key": "present" if present else "absent"}} for r in results]
    if params["netids"] is None:
        changed, public, placeholder = results[0]
        extra = dict(public_key=public, placeholder=placeholder) if present else {}
        module.exit_json(changed=changed, path=paths[0], diff=diff[0] if changed else {}, **extra)
    extra = {}
    if present:
        extra = dict(public_keys={n: r[1] for n, r in zip(netids, results)},
                     placeholders=[n for n, r in zip(netids, results) if r[2]])
    changed_netids = [n for n, r in zip(netids, results) if r[0]]
    module.exit_json(changed=bool(changed_netids), paths=dict(zip(netids, paths)),
                     diff={"before": {"keys": {n: d["before"]["key"] for n, d in zip(netids, diff)}},
                           "after": {"keys": {n: d["after"]["key"] for n, d in zip(netids, diff)}}}, **extra)


if __name__ == "__main__":
    main()
