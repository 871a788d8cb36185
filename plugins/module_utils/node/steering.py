# -*- coding: utf-8 -*-
# Copyright: (c) 2026, gridnet.tenant contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Receive packet steering (RPS) on wireguard-go's TUN links: what it receives, handled by every CPU.

A packet wireguard-go decrypts and writes into its TUN device is routed,
bridged and delivered to the workload in the writing thread's own softirq,
so wireguard-go decrypts the next one only after all that; the mesh path is a
pipeline that one CPU runs end to end. With RPS the TUN's receive queue hands
each flow to a CPU's backlog (hashed), and wireguard-go goes on at once (what
it bought is measured in docs/node-modules.md). The kernel back end needs
none: it receives through NAPI and decrypts on every CPU already.

Only sysfs sets it (rx-0/rps_cpus), so these run inside the resource's
namespace with its own /sys (netns.run_inside(..., sysfs=True)). Compared as
on or off: the kernel drops isolated CPUs from a mask it is given.
"""

from __future__ import annotations

import os

CPUS_ONLINE = "/sys/devices/system/cpu/online"


def wanted_mask(online=None):
    """Every online CPU as a mask; 0 (no steering) with a single CPU, where it would only add a queue."""
    if online is None:
        with open(CPUS_ONLINE) as handle:
            online = handle.read().strip()
    mask = 0
    for span in online.split(","):
        first, _unused, last = span.partition("-")
        for cpu in range(int(first), int(last or first) + 1):
            mask |= 1 << cpu
    return mask if bin(mask).count("1") > 1 else 0


def text(mask):
    """The mask as sysfs writes it: hex in 32-bit words separated by commas."""
    digits = "%x" % mask
    digits = "0" * (-len(digits) % 8) + digits
    return ",".join(digits[i:i + 8] for i in range(0, len(digits), 8))


def _path(ifname):
    return "/sys/class/net/%s/queues/rx-0/rps_cpus" % ifname


def read(ifnames):
    """{ifname: mask}; a kernel without RPS (no such file) leaves a link out."""
    masks = {}
    for ifname in ifnames:
        try:
            with open(_path(ifname)) as handle:
                masks[ifname] = int(handle.read().strip().replace(",", ""), 16)
        except FileNotFoundError:
            pass
    return masks


def write(ifnames, mask):
    for ifname in ifnames:
        if os.path.exists(_path(ifname)):  # not on a kernel without RPS
            with open(_path(ifname), "w") as handle:
                handle.write(text(mask))
