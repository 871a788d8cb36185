#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: (c) 2026, gridnet.tenant contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
module: access_config
short_description: Write every access peer's wg-quick configuration, on the controller
version_added: "0.2.0"
description:
  - Writes, for each access peer of each tenant network in the plan (C(gridnet_tenant_plan)), a ready
    C(wg-quick) configuration to O(dest)C(/NAME/TAG.conf), so the interface it makes is named after the network.
  - The configuration holds the peer's addresses, the MTU of the network, the member it dials (its public key and
    endpoint) and the network's prefixes as C(AllowedIPs). It holds no private key. C(wg-quick) reads the peer's
    private key from its C(private_key_file) (C(PostUp)), which stays with its owner.
  - Only files whose text changes are written, each replaced atomically. Files of access peers no longer in the
    plan are left alone.
extends_documentation_fragment:
  - gridnet.tenant.attributes.CONTROLLER
options:
  dest:
    description: The directory on the controller to write the configurations under.
    type: path
    required: true
  qr:
    description:
      - Also write each configuration as a QR code, C(NAME/TAG.png), for WireGuard's mobile apps. Needs
        C(qrencode) on the controller.
    type: bool
    default: false
notes:
  - docs/access.md describes access peers, from the inventory entry to the first ping.
seealso:
  - module: gridnet.tenant.node
  - module: gridnet.tenant.ledger
"""

EXAMPLES = r"""
- name: Write the access peers' wg-quick configurations beside the inventory
  gridnet.tenant.access_config:
    dest: "{{ inventory_dir }}/gridnet_tenant_access"
  run_once: true
"""

RETURN = r"""
files:
  description: Every configuration of the plan, relative to O(dest).
  returned: always
  type: list
  elements: str
  sample: ["alice/acme.conf"]
written:
  description: The configurations written (or, in check mode, that would be).
  returned: always
  type: list
  elements: str
  sample: ["alice/acme.conf"]
"""
