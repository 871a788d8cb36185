# -*- coding: utf-8 -*-
# Copyright: (c) 2026, gridnet.tenant contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""What a node keeps of its own desired state, so it can converge without a controller.

The network_resource and exit_gateway modules record every resource they
converge (its plan entry and the module options it was converged with) under
STATE_DIR, root-only. The node agent (agent.py) re-applies these records at
boot and whenever a link dies. A record holds no private key: the key stays
in its own file and is read from there at each converge.

Only one converge runs on a node at a time (the agent's or a module's):
node_lock() serialises them.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os

from ansible_collections.gridnet.tenant.plugins.module_utils.common.files import write_atomic
from ansible_collections.gridnet.tenant.plugins.module_utils.node.convergence import Change

STATE_DIR = "/var/lib/gridnet-tenant/state"
LOCK_PATH = "/run/gridnet-tenant/converge.lock"
KINDS = ("resource", "exit")  # the order a boot applies them in: an exit needs its resource


def _path(kind, namespace, state_dir=STATE_DIR):
    return os.path.join(state_dir, "%s-%s.json" % (kind, namespace))


def encode(kind, namespace, plan, options):
    return json.dumps({"kind": kind, "namespace": namespace, "plan": plan, "options": options},
                      sort_keys=True, indent=1).encode("utf-8")


def read(kind, namespace, state_dir=STATE_DIR):
    try:
        with open(_path(kind, namespace, state_dir), "rb") as handle:
            return handle.read()
    except OSError:
        return None


def record_change(kind, namespace, plan, options, state_dir=STATE_DIR):
    """A Change that records this desired state for boot, or None when it is recorded already."""
    data = encode(kind, namespace, plan, options)
    if read(kind, namespace, state_dir) == data:
        return None
    return Change("record %s %s for boot" % (kind, namespace),
                  lambda: write_atomic(_path(kind, namespace, state_dir), data, mode=0o600, dir_mode=0o700))


def forget_change(kind, namespace, state_dir=STATE_DIR):
    """A Change that removes the record, or None when there is none."""
    path = _path(kind, namespace, state_dir)
    if not os.path.exists(path):
        return None
    return Change("forget %s %s" % (kind, namespace), lambda: _unlink(path))


def bookkeeping(kind, namespace, plan, options, state):
    """[the Change that records (present) or forgets (absent) this plan], or [] when there is nothing to do
    or no `options` to record it with (the caller converges without records)."""
    if options is None:
        return []
    change = record_change(kind, namespace, plan, options) if state == "present" else forget_change(kind, namespace)
    return [change] if change else []


def _unlink(path):
    try:
        os.unlink(path)
    except FileNotFoundError:
        pass


def recorded(state_dir=STATE_DIR):
    """Every record, resources before exits, each ordered by namespace; unreadable ones reported, not fatal."""
    found, broken = [], []
    try:
        names = sorted(os.listdir(state_dir))
    except FileNotFoundError:
        return found, broken
    for name in names:
        if not name.endswith(".json") or name.startswith("."):
            continue
        try:
            with open(os.path.join(state_dir, name)) as handle:
                entry = json.load(handle)
            if entry.get("kind") not in KINDS or not isinstance(entry.get("plan"), dict):
                raise ValueError("not a record of this collection")
            found.append(entry)
        except (OSError, ValueError) as exc:
            broken.append("%s: %s" % (os.path.join(state_dir, name), exc))
    found.sort(key=lambda e: (KINDS.index(e["kind"]), e["namespace"]))
    return found, broken


@contextlib.contextmanager
def node_lock(path=LOCK_PATH):
    """One converge at a time on this node (the agent's, or a module's)."""
    os.makedirs(os.path.dirname(path), mode=0o700, exist_ok=True)
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        os.close(fd)
