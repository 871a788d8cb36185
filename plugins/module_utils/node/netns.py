# -*- coding: utf-8 -*-
# Copyright: (c) 2026, gridnet.tenant contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Network namespaces: create, open, remove, and run code inside one.

pyroute2 0.9 creates a missing namespace silently when asked to open it, so
opening goes through ``open_namespace`` (flags=0: a missing one is an error).
A netns socket does not switch the process's view of /proc/sys/net, so
sysctls are written from a thread that has entered the namespace (setns is
per thread; the main thread never leaves the node's namespace). sysfs shows
the devices of the namespace that mounted it: a thread that needs the
namespace's /sys/class/net also takes a mount namespace of its own, private,
with sysfs mounted there, as `ip netns exec` does; it goes with the thread.
"""

from __future__ import annotations

import contextlib
import ctypes
import os
import threading

from ansible_collections.gridnet.tenant.plugins.module_utils.node.pyroute import IPRoute
from ansible_collections.gridnet.tenant.plugins.module_utils.node.pyroute import netns as pr_netns

NETNS_RUN_DIR = "/run/netns"
CLONE_NEWNET, CLONE_NEWNS = 0x40000000, 0x00020000
MS_REC, MS_PRIVATE, MNT_DETACH = 0x4000, 0x40000, 2


def exists(name):
    return os.path.exists(os.path.join(NETNS_RUN_DIR, name))


def holds(pid, name):
    """True when process `pid` runs inside namespace `name` (found by what it serves, not by its argv alone)."""
    try:
        return os.stat("/proc/%d/ns/net" % pid).st_ino == os.stat(os.path.join(NETNS_RUN_DIR, name)).st_ino
    except OSError:
        return False


def listed():
    return sorted(pr_netns.listnetns()) if os.path.isdir(NETNS_RUN_DIR) else []


def create(name):
    pr_netns.create(name)


def remove(name):
    pr_netns.remove(name)


_shared = None  # {name: IPRoute} while a caller shares namespace sockets (sharing())


class _Shared(object):
    """A shared namespace socket: used as the caller's own, closed by sharing() instead."""

    def __init__(self, ipr):
        self._ipr = ipr

    def __getattr__(self, name):
        return getattr(self._ipr, name)

    def __enter__(self):
        return self

    def __exit__(self, *exc_info):
        return False

    def close(self):
        pass


@contextlib.contextmanager
def sharing():
    """Within it, each namespace is opened once, however many parts read or change it (a node's resource and
    exit of one network: four sockets become one); all are closed at its end."""
    global _shared
    if _shared is not None:  # already sharing: the outer one closes them
        yield
        return
    _shared = {}
    try:
        yield
    finally:
        opened, _shared = _shared, None
        for ipr in opened.values():
            ipr.close()


def open_namespace(name):
    """IPRoute inside an existing namespace; never creates one."""
    if _shared is None:
        return IPRoute(netns=name, flags=0)
    if name not in _shared:
        _shared[name] = IPRoute(netns=name, flags=0)
    return _Shared(_shared[name])


class InNamespace(object):
    """For a converge target whose changes work in one namespace (self.namespace): its netlink handle, opened
    only when a change needs it, and closed with the target."""

    namespace = None
    _ns = None

    def ns(self):
        if self._ns is None:
            self._ns = open_namespace(self.namespace)
        return self._ns

    def close(self):
        if self._ns is not None:
            self._ns.close()


def _check(result, what):
    if result != 0:
        err = ctypes.get_errno()
        raise OSError(err, "%s: %s" % (what, os.strerror(err)))


def run_inside(name, function, *args, sysfs=False):
    """Run function(*args) on a thread that has entered namespace `name`; return its result.

    sysfs: the thread sees the namespace's own /sys (in a private mount namespace of its own).
    """
    outcome = {}

    def target():
        try:
            libc = ctypes.CDLL(None, use_errno=True)
            with open(os.path.join(NETNS_RUN_DIR, name)) as handle:
                _check(libc.setns(handle.fileno(), CLONE_NEWNET), "setns(%s)" % name)
            if sysfs:
                _check(libc.unshare(CLONE_NEWNS), "unshare(CLONE_NEWNS)")
                _check(libc.mount(b"none", b"/", None, MS_REC | MS_PRIVATE, None), "making / private")
                libc.umount2(b"/sys", MNT_DETACH)  # the node's; nothing there is fine too
                _check(libc.mount(b"sysfs", b"/sys", b"sysfs", 0, None), "mounting sysfs in %s" % name)
            outcome["value"] = function(*args)
        except BaseException as exc:  # handed to the caller's thread
            outcome["error"] = exc

    thread = threading.Thread(target=target, name="netns-" + name)
    thread.start()
    thread.join()
    if "error" in outcome:
        raise outcome["error"]
    return outcome.get("value")


def _sysctl_path(key):
    return "/proc/sys/" + key.replace(".", "/")


def read_sysctls(keys):
    values = {}
    for key in keys:
        with open(_sysctl_path(key)) as handle:
            values[key] = handle.read().strip()
    return values


def write_sysctls(values):
    for key, value in values.items():
        with open(_sysctl_path(key), "w") as handle:
            handle.write(str(value))
