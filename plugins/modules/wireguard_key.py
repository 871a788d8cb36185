#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: (c) 2026, gridnet.tenant contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
module: wireguard_key
short_description: Make a node's WireGuard key for a tenant network, on the node
version_added: "0.1.0"
description:
  - Generates the node's private key for a network on the node itself (X25519, mode 0600, in O(key_dir)),
    keeps it across runs and returns only the public key.
  - The private key never appears in output, logs, diffs or facts.
extends_documentation_fragment:
  - gridnet.tenant.attributes
  - gridnet.tenant.node
options:
  netid:
    description: "The tenant network. Names the key file, so it may hold letters, digits and C(_), C(.), C(:), C(-)."
    type: str
    required: true
  state:
    description: C(absent) deletes the key file.
    type: str
    choices: [present, absent]
    default: present
notes:
  - The private key is made on the node, kept there with mode 0600 and never returned.
seealso:
  - module: gridnet.tenant.network_resource
"""

EXAMPLES = r"""
- name: Make the key for network acme and publish the public key
  gridnet.tenant.wireguard_key:
    netid: acme
  register: key

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
path:
  description: Where the private key is kept on the node.
  returned: always
  type: str
  sample: /var/lib/gridnet-tenant/keys/acme.key
"""

import os

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.gridnet.tenant.plugins.module_utils import keys


def main():
    module = AnsibleModule(
        argument_spec=dict(
            netid=dict(type="str", required=True),
            state=dict(type="str", choices=["present", "absent"], default="present"),
            key_dir=dict(type="path", default="/var/lib/gridnet-tenant/keys"),
        ),
        supports_check_mode=True,
    )
    try:
        path = keys.key_path(module.params["key_dir"], module.params["netid"])
    except ValueError as exc:
        module.fail_json(msg=str(exc))
    exists = os.path.exists(path)
    try:
        keys.x25519_base(b"\x01" * 32)  # before anything is written: can this node derive public keys at all?
    except keys.NoX25519 as exc:
        module.fail_json(msg=str(exc))
    if module.params["state"] == "absent":
        if exists and not module.check_mode:
            os.unlink(path)
        module.exit_json(changed=exists, path=path,
                         diff={"before": {"key": "present" if exists else "absent"}, "after": {"key": "absent"}})
    if exists:
        try:
            private = keys.read_private_key(path)
        except (OSError, ValueError) as exc:
            module.fail_json(msg="%s holds no usable WireGuard private key (%s); move it away to make a new one"
                             % (path, exc), path=path)
        mode = os.stat(path).st_mode & 0o777
        if mode & 0o077:
            module.fail_json(msg="%s is readable by others (mode %o); a private key must be 0600" % (path, mode))
        module.exit_json(changed=False, path=path, public_key=keys.public_key(private), placeholder=False)
    if module.check_mode:  # nothing is written: a random key's public half stands for the one a run would make
        module.exit_json(changed=True, path=path, public_key=keys.public_key(keys.generate_private_key()),
                         placeholder=True, diff={"before": {"key": "absent"}, "after": {"key": "present"}})
    private = keys.generate_private_key()
    keys.write_private_key(path, private)
    module.exit_json(changed=True, path=path, public_key=keys.public_key(private), placeholder=False,
                     diff={"before": {"key": "absent"}, "after": {"key": "present"}})


if __name__ == "__main__":
    main()
