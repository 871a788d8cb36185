# -*- coding: utf-8 -*-
# Copyright: (c) 2026, gridnet.tenant contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""What a wireguard-go link needs beyond its configuration to carry a few hundred Mbit/s.

Two changes, after a resource's links are up: the daemons' UDP socket buffers
raised (udp_buffers.py; wireguard-go binds its sockets when its link comes
up), and what the TUN links receive steered to every CPU (steering.py). Both
are read with the resource's state as bookkeeping (`_udp_buffer`, `_rps`);
a link where they cannot be read has neither, and is left alone. Kernel
links need neither.
"""

from __future__ import annotations

from ansible_collections.gridnet.tenant.plugins.module_utils.node import netns, steering, udp_buffers
from ansible_collections.gridnet.tenant.plugins.module_utils.node.convergence import Change
from ansible_collections.gridnet.tenant.plugins.module_utils.node.wireguard import backend_for_kind, predict_backend


def changes(target, desired, actual):
    """The tuning changes of one resource (target: resource.Resource). New links are tuned when the back end
    they will probably be made with is wireguard-go, and then only if it was."""
    namespace, binary = target.resource["namespace"], target.wireguard_binary
    new = [name for name in sorted(desired["wireguard"]) if name not in actual["wireguard"]]
    if predict_backend(target.backend_choice, binary).kind != "tun":
        new = []
    kept = {name: link for name, link in sorted(actual["wireguard"].items()) if name in desired["wireguard"]}
    low = [name for name, link in kept.items()
           if "_udp_buffer" in link and (link["_udp_buffer"] or 0) < udp_buffers.SIZE]
    mask = steering.wanted_mask()
    unsteered = [name for name, link in kept.items() if "_rps" in link and bool(link["_rps"]) != bool(mask)]

    def userspace(names):  # at apply time: new links are wireguard-go's only if the back end is
        return [name for name in names if name not in new or target.backend().kind == "tun"]

    found = []
    if new + low:
        names = sorted(new + low)
        found.append(Change("raise the UDP socket buffers of wireguard-go for %s" % ", ".join(names),
                            lambda: [backend_for_kind("tun", binary).raise_udp_buffers(name) for name in userspace(names)]))
    steer = sorted(new + unsteered) if mask else unsteered
    if steer:
        what = "steer to every CPU the packets received on" if mask else "stop steering the packets received on"
        found.append(Change("%s %s (RPS)" % (what, ", ".join(steer)),
                            lambda: netns.run_inside(namespace, steering.write, userspace(steer), mask, sysfs=True)))
    return found
