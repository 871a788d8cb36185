# -*- coding: utf-8 -*-
# Copyright: (c) 2026, gridnet.tenant contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Workloads for verification: a namespace on a network resource's bridge, and pings from it.

A workload is what a container or VM would be: its own namespace with one
veth on the resource's bridge, an address of the resource's /64 (and /24),
and default routes via the resource's gateways. Probes are real pings, and
real TCP connections and UDP exchanges with the ports a workload listens on
(the exit's port forwards and allow-list, probed from outside).
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor

MAX_PARALLEL_PROBES = 48
LISTENER_MARK = "gridnet-tenant-listener"
# Runs inside a workload: accepts TCP connections (and closes them), echoes UDP datagrams, on every port given.
LISTENER = """
import socket, sys, threading
def serve(proto, port):
    kind = socket.SOCK_STREAM if proto == "tcp" else socket.SOCK_DGRAM
    s = socket.socket(socket.AF_INET6, kind)
    s.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 0)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    s.bind(("::", port))
    if proto == "tcp":
        s.listen(16)
        while True:
            s.accept()[0].close()
    while True:
        data, peer = s.recvfrom(2048)
        s.sendto(data, peer)
for spec in sys.argv[3:]:
    proto, port = spec.split("/")
    threading.Thread(target=serve, args=(proto, int(port))).start()
"""


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


def _specs(workload):
    return ["%s/%d" % (listen["proto"], int(listen["port"])) for listen in workload.get("listen") or []]


def _marked(name):
    """{pid: [proto/port, ...]} of every listener process marked for workload `name`, wherever it runs."""
    found = {}
    for entry in os.listdir("/proc"):
        try:
            with open("/proc/%s/cmdline" % entry, "rb") as handle:
                argv = handle.read().decode(errors="replace").split("\0")[:-1]
        except (OSError, ValueError):
            continue
        if LISTENER_MARK in argv and argv[argv.index(LISTENER_MARK) + 1:argv.index(LISTENER_MARK) + 2] == [name]:
            found[int(entry)] = argv[argv.index(LISTENER_MARK) + 2:]
    return found


def listeners(name):
    """{pid: [proto/port, ...]} of the listeners serving workload `name`: marked for it by their argv and inside
    its namespace (one left in a namespace that was deleted and made again serves nobody)."""
    # imported here: the probe module starts without pyroute2, and only this needs netns
    from ansible_collections.gridnet.tenant.plugins.module_utils.node import netns  # pylint: disable=import-outside-toplevel
    return {pid: specs for pid, specs in _marked(name).items() if netns.holds(pid, name)}


def stop_listeners(name):
    for pid in _marked(name):
        try:
            os.kill(pid, signal.SIGKILL)
        except ProcessLookupError:
            pass


def needs_change(workload):
    return _current(workload["name"]) != (sorted(workload["addresses"]), workload["bridge"]) or \
        sorted(listeners(workload["name"]).values()) != ([sorted(_specs(workload))] if _specs(workload) else [])


def ensure(workload):
    """Make the workload, and its listeners, if missing or different; True when something changed."""
    if not needs_change(workload):
        return False
    name = workload["name"]
    stop_listeners(name)
    try:
        if _current(name) != (sorted(workload["addresses"]), workload["bridge"]):
            run_commands(*attach_commands(name, workload["bridge"], workload["mtu"], workload["addresses"],
                                          workload["gateways"]))
        if _specs(workload):
            # detached, in its own session: it outlives this module and is found again by its argv
            subprocess.Popen(["ip", "netns", "exec", name, sys.executable, "-c", LISTENER, LISTENER_MARK, name]
                             + sorted(_specs(workload)), stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                             stderr=subprocess.DEVNULL, start_new_session=True, close_fds=True)
    except OSError as exc:
        raise OSError("workload %s: %s" % (name, exc))
    return True


def connects(proto, address, port, timeout):
    """True when a TCP connection to address:port is accepted, or a UDP datagram is echoed (from here)."""
    family = socket.AF_INET6 if ":" in address else socket.AF_INET
    with socket.socket(family, socket.SOCK_STREAM if proto == "tcp" else socket.SOCK_DGRAM) as s:
        s.settimeout(timeout)
        try:
            if proto == "tcp":
                s.connect((address, int(port)))
                return True
            s.sendto(b"gridnet-tenant probe", (address, int(port)))
            return s.recvfrom(2048)[0] == b"gridnet-tenant probe"
        except OSError:  # refused, unreachable, or silent until the timeout
            return False


def run_probes(probes):
    """Run every probe (in parallel: silent ones wait out their timeout); [{id, expect, ok}].

    A probe with a port is a TCP or UDP exchange from this host's own namespace (the exit's
    promises, probed from outside); one without is a ping from its workload.
    """
    def one(probe):
        if probe.get("port"):
            # one that should answer is tried again until its deadline (a handshake on the way may be due)
            until = time.monotonic() + (probe.get("deadline") or 0)
            ok = connects(probe["proto"], probe["address"], probe["port"], probe.get("timeout", 2))
            while not ok and time.monotonic() < until:
                time.sleep(0.5)
                ok = connects(probe["proto"], probe["address"], probe["port"], probe.get("timeout", 2))
        else:
            argv = ping_argv(probe["workload"], probe["address"], probe["size"], probe["forbid_fragments"],
                             probe.get("deadline"), probe.get("timeout", 2))
            ok = subprocess.run(argv, capture_output=True, check=False).returncode == 0
        return {"id": probe["id"], "expect": probe["expect"], "ok": ok}
    with ThreadPoolExecutor(max_workers=MAX_PARALLEL_PROBES) as pool:
        return list(pool.map(one, probes))
