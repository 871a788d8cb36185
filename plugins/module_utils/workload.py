# -*- coding: utf-8 -*-
# Copyright: (c) 2026, gridnet.tenant contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Workloads for verification: a namespace on a network resource's bridge, and pings from it.

A workload is what a container or VM would be: its own namespace with one
veth on the resource's bridge, an address of the resource's /64 (and /24),
and default routes via the resource's gateways. Probes are real pings.
"""

from __future__ import annotations

import subprocess
from concurrent.futures import ThreadPoolExecutor

MAX_PARALLEL_PROBES = 48


def host_end(name):
    """The workload veth's end on the bridge (in the node's namespace)."""
    return name[:15]


def attach_commands(name, bridge, mtu, addresses, gateways, host_ifname=None):
    """argv lists that (re)make workload `name` on `bridge`, run in order in the node's namespaces.

    Argument vectors, never a shell string: names and addresses come from module input.
    The first two clear what an earlier attempt left and may fail (nothing to clear).
    """
    host_ifname = host_ifname or host_end(name)
    cleanup = [["ip", "netns", "del", name], ["ip", "link", "del", host_ifname]]
    make = [
        ["ip", "netns", "add", name],
        ["ip", "link", "add", host_ifname, "mtu", str(mtu), "type", "veth", "peer", "name", "eth0", "netns", name,
         "mtu", str(mtu)],
        ["ip", "link", "set", host_ifname, "master", bridge, "up"],
        ["ip", "-n", name, "link", "set", "lo", "up"],
        ["ip", "-n", name, "link", "set", "eth0", "up"],
    ]
    make += [["ip", "-n", name, "addr", "add", a, "dev", "eth0"] + (["nodad"] if ":" in a else []) for a in addresses]
    make += [["ip", "-n", name, "route", "add", "default", "via", g] for g in gateways]
    return cleanup, make


def run_commands(cleanup, make, run=None):
    """Run attach_commands' lists with run(argv) -> CompletedProcess (default: here); OSError on a failure."""
    run = run or (lambda argv: subprocess.run(argv, capture_output=True, text=True, check=False))
    for argv in cleanup:
        run(argv)
    for argv in make:
        result = run(argv)
        if result.returncode != 0:
            raise OSError("%s: %s" % (" ".join(argv), (result.stderr or result.stdout).strip()))


def ping_argv(workload, address, size=56, forbid_fragments=False, deadline=None, timeout=2):
    argv = ["ip", "netns", "exec", workload, "ping", "-n", "-q", "-c", "1", "-s", str(size)]
    argv += ["-w", str(deadline)] if deadline else ["-W", str(timeout)]
    if forbid_fragments:
        argv += ["-M", "do"]
    return argv + [address]


def _current(name):
    """(addresses, master bridge) of an existing workload, or None."""
    listed = subprocess.run(["ip", "netns", "list"], capture_output=True, text=True, check=False).stdout.split()
    if name not in listed:
        return None
    addr = subprocess.run(["ip", "-n", name, "-o", "addr", "show", "dev", "eth0"], capture_output=True, text=True, check=False)
    found = sorted(f.split()[3] for f in addr.stdout.splitlines() if " inet" in f and "scope link" not in f)
    link = subprocess.run(["ip", "-o", "link", "show", host_end(name)], capture_output=True, text=True, check=False).stdout
    bridge = link.split(" master ")[1].split()[0] if " master " in link else None
    return found, bridge


def needs_change(workload):
    return _current(workload["name"]) != (sorted(workload["addresses"]), workload["bridge"])


def ensure(workload):
    """Make the workload if it is missing or different; True when something changed."""
    if not needs_change(workload):
        return False
    try:
        run_commands(*attach_commands(workload["name"], workload["bridge"], workload["mtu"], workload["addresses"],
                                      workload["gateways"]))
    except OSError as exc:
        raise OSError("workload %s: %s" % (workload["name"], exc))
    return True


def run_probes(probes):
    """Run every probe (in parallel: silent ones wait out their timeout); [{id, expect, ok}]."""
    def one(probe):
        argv = ping_argv(probe["workload"], probe["address"], probe["size"], probe["forbid_fragments"],
                         probe.get("deadline"), probe.get("timeout", 2))
        ok = subprocess.run(argv, capture_output=True, check=False).returncode == 0
        return {"id": probe["id"], "expect": probe["expect"], "ok": ok}
    with ThreadPoolExecutor(max_workers=MAX_PARALLEL_PROBES) as pool:
        return list(pool.map(one, probes))
