# -*- coding: utf-8 -*-
# Copyright: (c) 2026, gridnet.tenant contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The lab: a simulated farm of nodes on one machine (root).

Each node is one anchor process in its own network, mount, UTS, IPC and PID
namespaces. Its mount namespace gives it a /run of its own (lost when it
stops, as at a reboot) and a /var/lib of its own (kept, when the node has a
persistent directory); its PID namespace means that SIGKILL to the anchor
(PID 1 there, which ignores SIGTERM) ends every process the node started,
wireguard-go included. Ansible reaches a node with community.docker.nsenter
(ansible_nsenter_pid = the anchor's PID).
"""

from __future__ import annotations

import ipaddress
import json
import os
import signal
import subprocess
import sys
import tempfile
import time

from ansible_collections.gridnet.tenant.plugins.module_utils import workload

ANCHOR_MARK = b"gridnet-lab-anchor"
# PID 1 of a node reaps what its children leave behind, as init does on a real
# node (a wireguard-go whose link is deleted exits and must not stay a zombie).
_REAPER = (
    "import signal, os\n"
    "signal.pthread_sigmask(signal.SIG_BLOCK, [signal.SIGCHLD])\n"
    "while True:\n"
    "    signal.sigtimedwait([signal.SIGCHLD], 60)\n"
    "    try:\n"
    "        while os.waitpid(-1, os.WNOHANG)[0]: pass\n"
    "    except ChildProcessError: pass\n"
)
# What a node loses at a reboot lives under /run (a tmpfs of its own); what it
# keeps lives under /var/lib (the node's persistent directory, or a tmpfs of its
# own when it has none). Both are mounted over existing directories inside the
# node's mount namespace only: the lab never creates or removes a directory
# that other labs may have mounts on.
# Values reach the script as its arguments ($1 node, $2 lab, $3 python, $4 the
# persistent directory or "", $5 the reaper), never formatted into its text.
_ANCHOR_SCRIPT = """
set -e
mount -t tmpfs -o mode=0755 gridnet-lab-run /run
mkdir -p /run/netns /run/wireguard /run/sshd /run/gridnet-tenant
chmod 0700 /run/gridnet-tenant
# no resolver: name lookups in a node (sshd's, for one) must not leave for the machine's DNS server
echo "options attempts:1 timeout:1" > /run/resolv.conf
if [ -e /etc/resolv.conf ]; then mount --bind /run/resolv.conf /etc/resolv.conf; fi
if [ -n "$4" ]; then mount --bind "$4" /var/lib; else mount -t tmpfs -o mode=0755 gridnet-lab-var /var/lib; fi
hostname "$1"
ip link set lo up
exec "$3" -c "$5" gridnet-lab-anchor "$2" "$1"
"""
DEFAULT_LAB = "gridnet-lab"


class LabError(Exception):
    pass


def _children(pid):
    try:
        with open("/proc/%d/task/%d/children" % (pid, pid)) as handle:
            return [int(p) for p in handle.read().split()]
    except OSError:
        return []


def start_node(name, lab=DEFAULT_LAB, persistent=None):
    """Start an anchor of lab `lab`; returns the PID of the node's PID 1 (the one to nsenter and to kill).

    `persistent`: a directory of the machine that becomes the node's /var/lib,
    kept across reboots (keys, recorded state, the agent); None: a tmpfs.
    """
    if persistent:
        os.makedirs(persistent, mode=0o700, exist_ok=True)
    launcher = subprocess.Popen(
        ["unshare", "--net", "--mount", "--uts", "--ipc", "--pid", "--fork", "--mount-proc",
         "--propagation", "private", "sh", "-c", _ANCHOR_SCRIPT, "anchor", name, lab, sys.executable,
         persistent or "", _REAPER],
        stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, start_new_session=True)
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        for child in _children(launcher.pid):
            try:
                with open("/proc/%d/cmdline" % child, "rb") as handle:
                    if ANCHOR_MARK in handle.read().split(b"\0"):
                        return child
            except OSError:
                pass
        if launcher.poll() is not None:
            raise LabError("lab node %s did not start: %s" % (name, launcher.stderr.read().decode(errors="replace")))
        time.sleep(0.01)
    stop_node(launcher.pid)
    raise LabError("lab node %s did not come up within 10 s" % name)


def stop_node(pid):
    """SIGKILL the anchor: its PID namespace ends, and every process of the node with it."""
    try:
        os.kill(pid, signal.SIGKILL)
    except ProcessLookupError:
        return
    deadline = time.monotonic() + 5
    while os.path.exists("/proc/%d" % pid) and time.monotonic() < deadline:
        time.sleep(0.01)


def _anchor_of(pid):
    """(lab, node) when pid is a lab anchor, else None: read from its argv mark."""
    try:
        with open("/proc/%d/cmdline" % pid, "rb") as handle:
            argv = handle.read().split(b"\0")
    except OSError:
        return None
    if ANCHOR_MARK not in argv or len(argv) < argv.index(ANCHOR_MARK) + 3:
        return None
    at = argv.index(ANCHOR_MARK)
    return argv[at + 1].decode(), argv[at + 2].decode()


def is_anchor(pid, name, lab=DEFAULT_LAB):
    """True when pid is a live anchor of node `name` in lab `lab` (guards against PID reuse)."""
    return _anchor_of(pid) == (lab, name)


def find_anchors(lab):
    """{node: pid} of every live anchor of lab `lab`, found by the exact mark it carries in its argv."""
    found = {}
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            owner = _anchor_of(int(entry))
            if owner is not None and owner[0] == lab:
                found[owner[1]] = int(entry)
    return found


def run(pid, argv, check=True, namespaces=("--net", "--mount", "--uts", "--ipc", "--pid"), **kwargs):
    """Run a command inside a lab node."""
    result = subprocess.run(["nsenter", "--target", str(pid)] + list(namespaces) + list(argv),
                            capture_output=True, text=True, **kwargs)
    if check and result.returncode != 0:
        raise LabError("%s in node %d failed: %s" % (" ".join(argv), pid, (result.stderr or result.stdout).strip()))
    return result


def run_module(pid, name, args, collections_path, check=False):
    """Run one of the collection's modules inside a lab node, as Ansible would; its JSON result."""
    payload = {"ANSIBLE_MODULE_ARGS": dict(args, _ansible_check_mode=check, _ansible_diff=True)}
    with tempfile.NamedTemporaryFile("w", suffix=".json", delete=False) as handle:
        json.dump(payload, handle)
    try:
        result = run(pid, [sys.executable, "-m", "ansible_collections.gridnet.tenant.plugins.modules." + name,
                           handle.name], check=False, env=dict(os.environ, PYTHONPATH=collections_path))
    finally:
        os.unlink(handle.name)
    try:
        return json.loads(result.stdout)
    except ValueError:
        raise LabError("module %s printed no JSON: %s %s" % (name, result.stdout, result.stderr))


def connect(pid_a, ifname_a, pid_b, ifname_b, mtu=1500):
    """A veth cable between two lab nodes (or a node and a switch)."""
    subprocess.run(["ip", "link", "add", ifname_a, "netns", str(pid_a), "mtu", str(mtu), "type", "veth",
                    "peer", "name", ifname_b, "netns", str(pid_b), "mtu", str(mtu)], check=True,
                   capture_output=True)
    run(pid_a, ["ip", "link", "set", ifname_a, "up"])
    run(pid_b, ["ip", "link", "set", ifname_b, "up"])


def add_address(pid, ifname, address):
    run(pid, ["ip", "addr", "add", address, "dev", ifname] + (["nodad"] if ":" in address else []))


def attach_workload(pid, name, bridge, mtu, addresses, gateways):
    """A workload: a namespace inside the node, its veth on the resource's bridge."""
    commands = workload.attach_commands(name, bridge, mtu, addresses, gateways, ("wl-" + name)[:15])
    workload.run_commands(*commands, run=lambda argv: run(pid, argv, check=False))


def ping(pid, name, address, size=56, count=1, timeout=2, forbid_fragments=False, deadline=None):
    """True when `address` answers from inside workload `name` of node pid.

    With a deadline, ping keeps trying once a second until `count` replies or the
    deadline: first contact over a fresh WireGuard link waits for its handshake
    (wireguard-go notices a moved link is up within a second, and a dropped
    initiation is retried after 5 s).
    """
    argv = workload.ping_argv(name, address, size, forbid_fragments, deadline, timeout)
    if count != 1:
        argv[argv.index("-c") + 1] = str(count)
    return run(pid, argv, check=False).returncode == 0


# A tiny echo of the caller's source address, for probes that must prove what
# the other side sees (source preserved, NATed, forwarded, or dropped).
_SOURCE_ECHO = """
import socket, sys, threading
def strip(a): return a[7:] if a.startswith("::ffff:") else a
def tcp(port):
    s = socket.socket(socket.AF_INET6, socket.SOCK_STREAM)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    s.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 0)
    s.bind(("::", port)); s.listen(16)
    while True:
        c, a = s.accept(); c.sendall(strip(a[0]).encode()); c.close()
def udp(port):
    s = socket.socket(socket.AF_INET6, socket.SOCK_DGRAM)
    s.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 0)
    s.bind(("::", port))
    while True:
        d, a = s.recvfrom(64); s.sendto(strip(a[0]).encode(), a)
for spec in sys.argv[1:]:
    proto, port = spec.split(":")
    threading.Thread(target=tcp if proto == "tcp" else udp, args=(int(port),)).start()
print("ready", flush=True)
"""

_PROBE = """
import socket, sys
proto, host, port, timeout = sys.argv[1], sys.argv[2], int(sys.argv[3]), float(sys.argv[4])
family = socket.AF_INET6 if ":" in host else socket.AF_INET
s = socket.socket(family, socket.SOCK_STREAM if proto == "tcp" else socket.SOCK_DGRAM)
s.settimeout(timeout)
try:
    if proto == "tcp":
        s.connect((host, port)); print(s.recv(64).decode())
    else:
        for _ in range(int(timeout)):
            s.sendto(b"?", (host, port))
            try:
                print(s.recvfrom(64)[0].decode()); break
            except socket.timeout:
                pass
except OSError:
    pass
"""


def _in_workload(workload, argv):
    return (["ip", "netns", "exec", workload] if workload else []) + argv


def serve_source_echo(pid, workload, specs):
    """Start echo servers ("tcp:80", "udp:9000") in a workload (or the node itself); returns the process."""
    process = subprocess.Popen(
        ["nsenter", "--target", str(pid), "--net", "--mount", "--uts", "--ipc", "--pid"]
        + _in_workload(workload, [sys.executable, "-c", _SOURCE_ECHO] + list(specs)),
        stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    if process.stdout.readline().strip() != "ready":
        process.kill()
        raise LabError("source echo did not start in node %d" % pid)
    return process


def probe(pid, workload, proto, address, port, timeout=3):
    """The source address `address:port` saw from this workload, or None when nothing came back."""
    result = run(pid, _in_workload(workload, [sys.executable, "-c", _PROBE, proto, address, str(port), str(timeout)]),
                 check=False)
    return result.stdout.strip() or None


AGENT_LAUNCHER = "/var/lib/gridnet-tenant/agent/gridnet-tenant-agent"
_BOOT_AGENT = '[ -x "$0" ] || exit 3; setsid -f "$0" run </dev/null >>/run/gridnet-tenant/agent.log 2>&1'


def boot_agent(pid, launcher=AGENT_LAUNCHER):
    """What a node's init does at boot: start the node agent, when one is installed. True if started."""
    return run(pid, ["sh", "-c", _BOOT_AGENT, launcher], check=False).returncode == 0
