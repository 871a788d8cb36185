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

import os
import signal
import subprocess
import sys
import time

from ansible_collections.gridnet.tenant.plugins.module_utils.common.errors import GridnetError


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


class LabError(GridnetError):
    """A lab node could not be started, reached or stopped."""


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
                            capture_output=True, text=True, check=False, **kwargs)
    if check and result.returncode != 0:
        raise LabError("%s in node %d failed: %s" % (" ".join(argv), pid, (result.stderr or result.stdout).strip()))
    return result


def add_address(pid, ifname, address):
    run(pid, ["ip", "addr", "add", address, "dev", ifname] + (["nodad"] if ":" in address else []))


AGENT_LAUNCHER = "/var/lib/gridnet-tenant/agent/gridnet-tenant-agent"
_BOOT_AGENT = '[ -x "$0" ] || exit 3; setsid -f "$0" run </dev/null >>/run/gridnet-tenant/agent.log 2>&1'


def boot_agent(pid, launcher=AGENT_LAUNCHER):
    """What a node's init does at boot: start the node agent, when one is installed. True if started."""
    return run(pid, ["sh", "-c", _BOOT_AGENT, launcher], check=False).returncode == 0
