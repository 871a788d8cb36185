# -*- coding: utf-8 -*-
# Copyright: (c) 2026, gridnet.tenant contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The node agent: the node's recorded state, re-applied without a controller.

    gridnet-tenant-agent boot     converge every record once (what a boot needs), then exit
    gridnet-tenant-agent run      boot, then supervise: every INTERVAL seconds look at each
                                  record's links, and converge again the one whose link died
                                  (a wireguard-go that crashed takes its link with it), whose
                                  babeld died, or whose relay table the host's firewall flushed;
                                  and let tenant bridge frames pass the host's FORWARD again
                                  where br_netfilter sends them there (host_firewall.py);
                                  every METRICS_INTERVAL seconds write the health figures as a
                                  Prometheus text file into METRICS_DIR (metrics.py)
    gridnet-tenant-agent status   each record and what is wrong with it, if anything

It calls the very converge code the modules run (resource.py, exit_gateway.py),
from the records those modules wrote (records.py). systemd runs `run` at boot
and restarts it if it dies; the lab runs the same command inside each node.
One agent per node: it holds RUN_LOCK for as long as it runs.
"""

from __future__ import annotations

import errno
import fcntl
import json
import os
import socket
import sys
import time

from ansible_collections.gridnet.tenant.plugins.module_utils.node import (
    babel, convergence, exit_gateway, health, host_firewall, keys, metrics, netns, options, records, relay, resource)
from ansible_collections.gridnet.tenant.plugins.module_utils.common.errors import GridnetError


RUN_LOCK = "/run/gridnet-tenant/agent.lock"
DEFAULT_INTERVAL = 1.0
MAX_BACKOFF = 30.0
FIREWALL_EVERY = 10  # looks between full checks of the host firewall (iptables-legacy changes give no signal)


def log(text):
    sys.stderr.write("%s gridnet-tenant-agent: %s\n" % (time.strftime("%Y-%m-%dT%H:%M:%S"), text))
    sys.stderr.flush()


def say(text):
    """A line of `status` output, for the user."""
    sys.stdout.write(text + "\n")


def apply(entry, state_dir=records.STATE_DIR):
    """Converge one record, as it is on disk once the node lock is ours; returns the change texts.

    Read again under the lock: a module may have changed or forgotten it (a
    removed resource) while the agent was looking at the kernel.
    """
    with records.node_lock():
        current = records.read(entry["kind"], entry["namespace"], state_dir)
        if current is None:
            return ["nothing: the record is gone"]
        entry = json.loads(current)
        settings, plan = entry["options"], entry["plan"]
        if entry["kind"] == "exit":
            return exit_gateway.converge(plan, "present", nft=settings.get("nft", "nft"), locked=True)["changes"]
        private_key = None
        if any(c.get("connection") == "wireguard" for c in plan.get("connected", [])):
            private_key = keys.read_private_key(keys.key_path(settings["key_dir"], plan["netid"]))
        return resource.converge(plan, "present", private_key, backend_choice=settings.get("wireguard_backend", "auto"),
                                 wireguard_binary=settings.get("wireguard_go", "wireguard-go"), locked=True)["changes"]


def expected_links(entry):
    plan = entry["plan"]
    if entry["kind"] == "exit":
        return {plan["uplink"]["name"]}
    names = {plan["veth_ns"]} | {c["interface"] for c in plan.get("connected", []) if c["connection"] == "wireguard"}
    if plan.get("vxlan"):
        names.add(plan["vxlan"]["name"])
    return names


def _link_names():
    # libc's if_nameindex, not a parsed link dump: the agent looks every second, and pyroute2 parses every
    # attribute of every link (the two costs are measured in docs/node-agent.md)
    return {name for _index, name in socket.if_nameindex()}


def expected_tables(entry):
    """{(nft family, name)} of the tables a record owns in the node's own namespace: a relay's."""
    plan = entry["plan"]
    if entry["kind"] != "resource":
        return set()
    return {(relay.FAMILIES[version][0], relay.table_name(plan["tag"])) for version in plan.get("relay") or {}}


def problems(entry, tables=None):
    """What is missing of a record on this node now (empty when healthy): a cheap look, one dump per namespace.
    tables: the node namespace's nft tables (relay.tables()), read once for every record of a look."""
    namespace = entry["namespace"]
    if not netns.exists(namespace):
        return ["namespace %s is missing" % namespace]
    missing = expected_links(entry) - netns.run_inside(namespace, _link_names)
    wrong = ["link %s is missing in %s" % (name, namespace) for name in sorted(missing)]
    owned = expected_tables(entry)
    if owned:
        gone = owned - (relay.tables() if tables is None else tables)
        wrong += ["nftables table %s %s is missing" % table for table in sorted(gone)]
    if entry["kind"] == "resource" and entry["plan"].get("babel") and babel.running_pid(namespace) is None:
        wrong.append("babeld is not running in %s" % namespace)
    return wrong


def _converge_logged(entry, why, state_dir=records.STATE_DIR):
    label = "%s %s" % (entry["kind"], entry["namespace"])
    started = time.monotonic()
    try:
        changes = apply(entry, state_dir)
    except (GridnetError, OSError, ValueError, KeyError) as exc:
        log("%s (%s): converge failed: %s" % (label, why, exc))
        return False
    said = "; ".join(changes) if changes else "nothing to change"
    log("%s (%s): converged in %.2f s: %s" % (label, why, time.monotonic() - started, said))
    return True


def boot(state_dir=records.STATE_DIR):
    """Converge every record once, resources before exits. Returns how many failed."""
    entries, broken = records.recorded(state_dir)
    for text in broken:
        log("unreadable record %s" % text)
    failed = sum(0 if _converge_logged(entry, "boot", state_dir) else 1 for entry in entries)
    return failed + len(broken)


def firewall_look(last_signal, done, state_dir=records.STATE_DIR):
    """Let tenant bridge frames pass the host's FORWARD again where they no longer do (Docker restarted, its
    rules re-made; a firewall reloaded). A full check (iptables processes) only when the cheap signal moved,
    or every FIREWALL_EVERY looks. Returns the signal seen."""
    try:
        seen = host_firewall.signal()
        if not seen or (seen == last_signal and done % FIREWALL_EVERY):
            return seen
        entries, _unused = records.recorded(state_dir)
        if not any(e["kind"] == "resource" for e in entries):
            return seen
        with records.node_lock():
            result = convergence.converge(host_firewall.HostFirewall())
        if result["changes"]:
            log("host firewall: %s" % "; ".join(result["changes"]))
    except (GridnetError, OSError) as exc:
        log("host firewall: %s" % exc)
    return seen


def run_arguments(interval=DEFAULT_INTERVAL, metrics_dir=options.METRICS_DIR, metrics_interval=options.METRICS_INTERVAL):
    """The launcher's arguments for `run` with these settings (what the unit or a detached start runs)."""
    return ["run", "--interval", str(interval), "--metrics-dir", metrics_dir or options.NO_METRICS,
            "--metrics-interval", str(metrics_interval)]


def refresh_metrics(metrics_dir, state_dir=records.STATE_DIR):
    """Write the node's health figures for node_exporter; a failure is logged, never fatal to supervising."""
    try:
        metrics.write(health.read_node(state_dir), metrics_dir)
    except (GridnetError, OSError, ValueError, KeyError) as exc:
        log("metrics: %s" % exc)


def supervise(interval=DEFAULT_INTERVAL, state_dir=records.STATE_DIR, rounds=None, metrics_dir=None,
              metrics_interval=options.METRICS_INTERVAL):
    """Look at every record each `interval` s; converge again what lost a link. Failing ones back off.
    With metrics_dir, the health figures are written there every metrics_interval s."""
    retry_at = {}
    done = 0
    signal = None
    metrics_due = time.monotonic()
    while rounds is None or done < rounds:
        done += 1
        time.sleep(interval)
        if metrics_dir and time.monotonic() >= metrics_due:
            metrics_due = time.monotonic() + metrics_interval
            refresh_metrics(metrics_dir, state_dir)
        signal = firewall_look(signal, done, state_dir)
        entries, _unused = records.recorded(state_dir)
        now = time.monotonic()
        tables = relay.tables() if any(expected_tables(e) for e in entries) else set()
        for entry in entries:
            key = (entry["kind"], entry["namespace"])
            if retry_at.get(key, (0, 0))[0] > now:
                continue
            try:
                wrong = problems(entry, tables)
            except (OSError, ValueError) as exc:  # the namespace went while we looked
                wrong = [str(exc)]
            if not wrong:
                retry_at.pop(key, None)
                continue
            if _converge_logged(entry, ", ".join(wrong), state_dir):
                retry_at.pop(key, None)
            else:
                failures = retry_at.get(key, (0, 0))[1] + 1
                retry_at[key] = (now + min(interval * 2 ** failures, MAX_BACKOFF), failures)


def hold_run_lock(path=RUN_LOCK, patience=2.0):
    """The descriptor of the held lock, or None when another agent holds it.

    running_pid() takes the lock for an instant to see whether it is free, so a
    refusal is believed only when it lasts `patience` seconds.
    """
    os.makedirs(os.path.dirname(path), mode=0o700, exist_ok=True)
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
    deadline = time.monotonic() + patience
    while True:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            break
        except OSError as exc:
            if exc.errno not in (errno.EAGAIN, errno.EACCES) or time.monotonic() > deadline:
                os.close(fd)
                if exc.errno in (errno.EAGAIN, errno.EACCES):
                    return None
                raise
            time.sleep(0.05)
    os.ftruncate(fd, 0)
    os.write(fd, str(os.getpid()).encode())
    return fd


def running_pid(path=RUN_LOCK):
    """The PID of the agent that holds the run lock, or None: found by what it holds, not by its name."""
    try:
        fd = os.open(path, os.O_RDWR)
    except FileNotFoundError:
        return None
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError:
        with open(path) as handle:
            text = handle.read().strip()
        return int(text) if text.isdigit() else None
    else:
        return None
    finally:
        os.close(fd)


def main(argv):
    usage = ("usage: gridnet-tenant-agent boot|run|status [--interval SECONDS] [--state-dir DIR] "
             "[--metrics-dir DIR|none] [--metrics-interval SECONDS]")
    if not argv or argv[0] not in ("boot", "run", "status"):
        sys.stderr.write(usage + "\n")
        return 2
    arguments = dict(zip(argv[1::2], argv[2::2]))
    interval = float(arguments.get("--interval", DEFAULT_INTERVAL))
    state_dir = arguments.get("--state-dir", records.STATE_DIR)
    metrics_dir = arguments.get("--metrics-dir", options.METRICS_DIR)
    metrics_dir = None if metrics_dir == options.NO_METRICS else metrics_dir
    metrics_interval = float(arguments.get("--metrics-interval", options.METRICS_INTERVAL))
    if argv[0] == "status":
        entries, broken = records.recorded(state_dir)
        unhealthy = 0
        for entry in entries:
            wrong = problems(entry)
            unhealthy += bool(wrong)
            say("%-8s %-16s %s" % (entry["kind"], entry["namespace"], "; ".join(wrong) if wrong else "ok"))
        for text in broken:
            say("unreadable %s" % text)
        pid = running_pid()
        say("agent: %s" % ("running, pid %s" % pid if pid else "not running"))
        return 1 if broken or unhealthy else 0
    if argv[0] == "boot":
        return 1 if boot(state_dir) else 0
    lock = hold_run_lock()
    if lock is None:
        log("another agent runs already (pid %s)" % running_pid())
        return 0
    boot(state_dir)
    supervise(interval, state_dir, metrics_dir=metrics_dir, metrics_interval=metrics_interval)
    return 0
