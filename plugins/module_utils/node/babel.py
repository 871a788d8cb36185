# -*- coding: utf-8 -*-
# Copyright: (c) 2026, gridnet.tenant contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""babeld for a network resource with routing: babel: its configuration and its process.

One babeld per resource, inside the resource's namespace, speaking on every
link of the resource and announcing only the resource's own /64 and /24 (and,
on the exit, the default routes the exit installed). Its files are named after
the namespace under BABEL_DIR (the configuration, the pid file, the control
socket (read-write, root only), the state file and the log) and PERSISTENT_DIR (its
incarnation, kept across reboots). The process is found by what it serves: the
pid in the pid file, whose command line names this configuration and whose
network namespace is the resource's.

Every start is a new incarnation with its own router-id: the plan's six octets
(network, node) and a 16-bit counter. A babeld that crashed lost its sequence
number; under its old router-id, its neighbours would hold its new routes for
unfeasible (older than what they saw) and drop them for minutes (babeld's
source GC, 200 s). A new router-id is a new source, feasible at once.

A change to the links only is applied over the control socket (interfaces
added, flushed), so the routes over the other links stay; any other change
restarts babeld. docs/routing.md explains the parameters.
"""

from __future__ import annotations

import ipaddress
import os
import re
import shutil
import signal
import socket
import subprocess
import time

from ansible_collections.gridnet.tenant.plugins.module_utils.common import files, rules
from ansible_collections.gridnet.tenant.plugins.module_utils.node import netns
from ansible_collections.gridnet.tenant.plugins.module_utils.node.convergence import Change
from ansible_collections.gridnet.tenant.plugins.module_utils.common.errors import InputError, NodeError

BABEL_DIR = "/run/gridnet-tenant/babel"
# the last incarnation outlives a reboot, so the next start never reuses the router-id of the one before
PERSISTENT_DIR = "/var/lib/gridnet-tenant/babel"
BINARY = "babeld"
# Tunnels: a hello a second, so a dead link is noticed after two missed hellos (~2-3 s), RTT in the
# metric (babeld's tunnel defaults: 10-120 ms adds 0-96). VXLAN neighbours share an L2 segment: wired.
HELLO_INTERVAL = {"tunnel": 1, "wired": 1}
HELLO_RANGE = (0.05, 10.0)  # an interface's own hello interval (failover: fast), in seconds
UPDATE_INTERVAL = 4
ROUTER_ID_PREFIX = re.compile(r"^[0-9a-f]{2}(:[0-9a-f]{2}){5}$")
RUNNING_ID = re.compile(r"^router-id ([0-9a-f]{2}(?::[0-9a-f]{2}){7})$")
START_TIMEOUT = 5.0
STOP_TIMEOUT = 5.0


def paths(namespace):
    where = {part: os.path.join(BABEL_DIR, "%s.%s" % (namespace, part))
             for part in ("conf", "pid", "sock", "log", "state")}
    return dict(where, incarnation=os.path.join(PERSISTENT_DIR, namespace + ".incarnation"))


def config_text(resource):
    """babeld's configuration for the resource, as the node writes it (the desired state compares this text)."""
    babel, where = resource["babel"], paths(resource["namespace"])  # no router-id: each start has its own
    lines = [
        "# gridnet.tenant: babeld of network %s in namespace %s; written by the collection" % (
            resource["netid"], resource["namespace"]),
        "local-path-readwrite %s" % where["sock"],
        "pid-file %s" % where["pid"],
        "state-file %s" % where["state"],
    ]
    lines += [interface_line(entry) for entry in babel["interfaces"]]
    for prefix in babel["announce"]:
        lines.append("redistribute ip %s eq %s allow" % (prefix, prefix.split("/")[1]))
    if babel.get("default_metric") is not None:  # an exit's own default routes (exit_gateway.py), by protocol
        for default in ("::/0", "0.0.0.0/0"):
            lines.append("redistribute ip %s eq 0 proto %d metric %d"
                         % (default, rules.EXIT_ROUTE_PROTO, int(babel["default_metric"])))
    lines += ["redistribute local deny", "redistribute deny"]
    return "\n".join(lines) + "\n"


def interface_line(entry):
    if entry.get("hello") is None:
        return "interface %s type %s hello-interval %d" % (entry["name"], entry["type"], HELLO_INTERVAL[entry["type"]])
    # a faster hello (failover: fast); full route dumps stay every 4 s, babeld's default would be 4 hellos
    return "interface %s type %s hello-interval %g update-interval %d" % (
        entry["name"], entry["type"], entry["hello"], UPDATE_INTERVAL)


def desired(resource):
    return {"config": config_text(resource), "running": True} if resource.get("babel") else None


def running_pid(namespace):
    """The pid of the babeld serving this namespace's configuration, or None."""
    found = _running(namespace)
    return found[0] if found else None


def running_router_id(namespace):
    """The router-id the running babeld of this namespace was started with, or None."""
    found = _running(namespace)
    ids = [m.group(1) for m in map(RUNNING_ID.match, found[1]) if m] if found else []
    return ids[0] if ids else None


def _running(namespace):
    where = paths(namespace)
    try:
        with open(where["pid"]) as handle:
            pid = int(handle.read().strip())
        with open("/proc/%d/cmdline" % pid, "rb") as handle:
            argv = [a.decode(errors="replace") for a in handle.read().split(b"\0")]
    except (OSError, ValueError):
        return None
    return (pid, argv) if where["conf"] in argv and netns.holds(pid, namespace) else None


def read(resource):
    """{"config": the file's text or None, "running": bool}, or None when neither exists."""
    where = paths(resource["namespace"])
    try:
        with open(where["conf"]) as handle:
            config = handle.read()
    except FileNotFoundError:
        config = None
    running = running_pid(resource["namespace"]) is not None
    return {"config": config, "running": running} if config is not None or running else None


def node_check(resource):
    """What this node needs to run the resource's babeld: babeld itself."""
    if resource.get("babel") and shutil.which(BINARY) is None:
        raise NodeError("routing: babel needs babeld on this node (Debian: apt install babeld)")


def changes(resource, actual, wanted):
    namespace = resource["namespace"]
    if wanted is None:
        return removal(resource, actual)
    if actual is None or not actual["running"]:
        return [Change("start babeld in %s" % namespace, lambda: _write_and_start(resource, wanted["config"]))]
    if actual["config"] == wanted["config"]:
        return []
    live = _interface_delta(actual["config"], wanted["config"])
    if live is None:
        return [Change("restart babeld in %s with its new configuration" % namespace,
                       lambda: (stop(namespace), _write_and_start(resource, wanted["config"])))]
    added, removed = live
    text = "babeld in %s: %s" % (namespace, "; ".join(
        (["speak on %s" % ", ".join(n for n, _unused in added)] if added else [])
        + (["stop speaking on %s" % ", ".join(removed)] if removed else [])))
    return [Change(text, lambda: _update_live(namespace, wanted["config"], added, removed))]


def removal(resource, actual):
    if actual is None:
        return []
    return [Change("stop babeld in %s" % resource["namespace"], lambda: stop(resource["namespace"], restarting=False))]


def _interfaces(config):
    return {line.split()[1]: line for line in config.splitlines() if line.startswith("interface ")}


def _interface_delta(have, want):
    """([(name, line) added], [names removed]) when the two configurations differ in interfaces only, else None."""
    if have is None or [x for x in have.splitlines() if not x.startswith("interface ")] != \
            [x for x in want.splitlines() if not x.startswith("interface ")]:
        return None
    old, new = _interfaces(have), _interfaces(want)
    if any(old[name] != new[name] for name in set(old) & set(new)):
        return None
    return sorted((n, new[n]) for n in set(new) - set(old)), sorted(set(old) - set(new))


def _write_and_start(resource, config):
    namespace = resource["namespace"]
    files.write_atomic(paths(namespace)["conf"], config.encode(), mode=0o600, dir_mode=0o700)
    start(namespace, next_router_id(namespace, resource["babel"]["router_id_prefix"]))


def next_router_id(namespace, prefix):
    """The router-id of babeld's next start in namespace: prefix and the next incarnation, recorded now."""
    path = paths(namespace)["incarnation"]
    try:
        with open(path) as handle:
            last = int(handle.read())
    except (OSError, ValueError):  # the first start (or a lost /var/lib): anywhere in the counter's range
        last = int.from_bytes(os.urandom(2), "big")
    incarnation = (last + 1) & 0xFFFF
    files.write_atomic(path, b"%d\n" % incarnation, mode=0o600, dir_mode=0o700)
    return "%s:%02x:%02x" % (prefix, incarnation >> 8, incarnation & 0xFF)


def start(namespace, router_id):
    """Start babeld in its namespace as router_id, detached (own session, no descriptor of ours), and wait
    for its socket."""
    where = paths(namespace)
    for stale in ("pid", "sock"):
        if os.path.exists(where[stale]):
            os.unlink(where[stale])
    with open(where["log"], "ab") as log:
        process = subprocess.Popen(["ip", "netns", "exec", namespace, BINARY, "-c", where["conf"],
                                    "-C", "router-id %s" % router_id],
                                   stdin=subprocess.DEVNULL, stdout=log, stderr=log, close_fds=True,
                                   start_new_session=True, cwd="/")
    deadline = time.monotonic() + START_TIMEOUT
    while True:
        if process.poll() is not None:
            raise NodeError("babeld in %s exited with status %s: %s" % (namespace, process.returncode,
                                                                        _tail(where["log"])))
        try:
            talk(namespace, [])
            return process.pid
        except OSError:
            if time.monotonic() > deadline:
                raise NodeError("babeld in %s did not open its control socket within %.0f s: %s"
                                % (namespace, START_TIMEOUT, _tail(where["log"])))
            time.sleep(0.05)


def stop(namespace, restarting=True):
    """End this namespace's babeld (it withdraws its routes) and remove its files; when restarting, keep the
    log and the incarnation."""
    pid = running_pid(namespace)
    if pid is not None:
        os.kill(pid, signal.SIGTERM)
        deadline = time.monotonic() + STOP_TIMEOUT
        while running_pid(namespace) == pid and time.monotonic() < deadline:
            time.sleep(0.05)
        if running_pid(namespace) == pid:
            os.kill(pid, signal.SIGKILL)
    for part, path in paths(namespace).items():
        if (part not in ("log", "incarnation") or not restarting) and os.path.exists(path):
            os.unlink(path)


def _update_live(namespace, config, added, removed):
    answers = talk(namespace, [line for _unused, line in added] + ["flush interface %s" % name for name in removed])
    refused = [a for a in answers if a[-1] != "ok"]
    if refused:
        raise NodeError("babeld in %s refused: %s" % (namespace, refused[0]))
    files.write_atomic(paths(namespace)["conf"], config.encode(), mode=0o600, dir_mode=0o700)


def talk(namespace, requests, timeout=3.0):
    """Send requests over the control socket; each answer is its lines up to ok/no/bad."""
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as sock:
        sock.settimeout(timeout)
        sock.connect(paths(namespace)["sock"])
        stream = sock.makefile("rw")
        _answer(stream)  # the greeting
        answers = []
        for request in requests + ["quit"]:
            stream.write(request + "\n")
            stream.flush()
            if request != "quit":
                answers.append(_answer(stream))
        return answers


def _answer(stream):
    lines = []
    while True:
        line = stream.readline()
        if not line:
            return lines + ["closed"]
        lines.append(line.rstrip("\n"))
        if lines[-1] in ("ok", "no", "bad"):
            return lines


def dump(namespace):
    """babeld's view: {"neighbours": [...], "routes": [...]}, each a record of its `dump` line's fields;
    a route babeld originates itself has "origin": "local"."""
    result = {"neighbours": [], "routes": []}
    for line in talk(namespace, ["dump"])[0][:-1]:
        words = line.split()
        if len(words) < 3 or words[0] != "add" or words[1] not in ("neighbour", "route", "xroute"):
            continue
        record = dict(zip(words[3::2], words[4::2]))  # words[2] is babeld's own handle
        if words[1] == "neighbour":
            result["neighbours"].append(record)
        else:
            record["origin"] = "local" if words[1] == "xroute" else "learnt"
            result["routes"].append(record)
    return result


def check(resource):
    """The babel entry is turned into configuration lines: every field is checked by its form first."""
    babel = resource.get("babel")
    if not babel:
        return
    if not isinstance(babel, dict) or not ROUTER_ID_PREFIX.match(str(babel.get("router_id_prefix", ""))):
        raise InputError("resource babel.router_id_prefix must be 6 colon-separated hex octets")
    for entry in babel.get("interfaces") or []:
        rules.check_ifname(str(entry.get("name", "")), "babel interface")
        if entry.get("type") not in HELLO_INTERVAL:
            raise InputError("babel interface %s: type must be one of %s" % (entry.get("name"),
                                                                             ", ".join(sorted(HELLO_INTERVAL))))
        hello = entry.get("hello")
        if hello is not None and (isinstance(hello, bool) or not isinstance(hello, (int, float))
                                  or not HELLO_RANGE[0] <= hello <= HELLO_RANGE[1]):
            raise InputError("babel interface %s: hello must be a number of seconds, %g-%g"
                             % (entry.get("name"), HELLO_RANGE[0], HELLO_RANGE[1]))
    metric = babel.get("default_metric")
    if metric is not None and (isinstance(metric, bool) or not isinstance(metric, int) or not 0 < metric < 0xFFFF):
        raise InputError("resource babel.default_metric must be a number of 1-65534 or null")
    for prefix in babel.get("announce") or []:
        try:
            ipaddress.ip_network(str(prefix))
        except ValueError:
            raise InputError("resource babel.announce: %r is not a prefix" % (prefix,))


def _tail(path):
    try:
        with open(path, errors="replace") as handle:
            return handle.read().strip()[-1500:] or "(it said nothing)"
    except OSError:
        return "(no log)"
