# -*- coding: utf-8 -*-
# Copyright: (c) 2026, gridnet.tenant contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

"""Documentation fragment: options every node module shares (key directory, WireGuard back end, wireguard-go)."""

from __future__ import annotations


class ModuleDocFragment(object):
    DOCUMENTATION = r"""
options:
  key_dir:
    description:
      - Directory on the node holding the private keys, one C(NETID.key) per network, mode 0600.
        In the lab, each node's mount namespace keeps its own.
    type: path
    default: /var/lib/gridnet-tenant/keys
requirements:
  - pyroute2 >= 0.9 on the node
  - root on the node (netlink, namespaces)
"""

    WIREGUARD = r"""
options:
  wireguard_backend:
    description:
      - How WireGuard links are made. C(auto) tries the kernel (a netlink C(wireguard) link) and falls back
        to C(userspace) (wireguard-go). Existing links keep the back end that made them.
    type: str
    choices: [auto, kernel, userspace]
    default: auto
  wireguard_go:
    description: The wireguard-go binary, for the C(userspace) back end.
    type: str
    default: wireguard-go
"""

    # Modules that only find and stop links: which binary serves a userspace link.
    WIREGUARD_GO = r"""
options:
  wireguard_go:
    description: The wireguard-go binary, for links of the C(userspace) back end.
    type: str
    default: wireguard-go
"""
