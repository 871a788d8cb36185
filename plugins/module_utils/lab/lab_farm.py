# -*- coding: utf-8 -*-
# Copyright: (c) 2026, gridnet.tenant contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""A whole lab farm: nodes from a topology, their wiring, reboots, and the inventory.

A node's cables are made by wire_node(), so a rebooted node (a new anchor, its
/var/lib kept) is wired exactly as at the build. Ansible reaches the nodes
with community.docker.nsenter, or over real SSH: an sshd of the node, run in
inetd mode inside the node by each connection (ProxyCommand through nsenter),
so no port is opened on the machine and labs never collide.
"""

from __future__ import annotations

import ipaddress
import os
import shlex
import subprocess
import time

from ansible_collections.gridnet.tenant.plugins.module_utils.node import steering
from ansible_collections.gridnet.tenant.plugins.module_utils.lab.lab import (
    DEFAULT_LAB,
    LabError,
    add_address,
    boot_agent,
    find_anchors,
    is_anchor,
    run,
    start_node,
    stop_node,
)

SSHD = "/usr/sbin/sshd"


def _segment_ifname(segment, index):
    return ("%s%d" % (segment, index))[-15:]


def farm_nodes(topology):
    names = set(topology.get("hosts", {}))
    for segment in topology["segments"].values():
        names.add(segment["router"])
        names.update(segment["attach"])
    return sorted(names)


def validate_topology(topology):
    """Refuse a topology that would fail half-built, naming the item."""
    if not isinstance(topology, dict) or not isinstance(topology.get("segments"), dict):
        raise LabError("topology needs a segments mapping")
    for name, segment in topology["segments"].items():
        what = "segment %r" % name
        if len(name) > 12:
            raise LabError("%s: names are at most 12 characters (they become interface names)" % what)
        if not segment.get("router") or not isinstance(segment.get("attach"), dict):
            raise LabError("%s needs router and attach" % what)
        mtu = segment.get("mtu", 1500)
        if isinstance(mtu, bool) or not isinstance(mtu, int) or not 576 <= mtu <= 65535:
            raise LabError("%s: mtu %r is not a number of bytes from 576 to 65535" % (what, mtu))
        for family in ("ipv6", "ipv4"):
            if segment.get(family):
                net = ipaddress.ip_network(segment[family])
                for node, host in segment["attach"].items():
                    if host is not None and not 1 < int(str(host), 16 if net.version == 6 else 10) < net.num_addresses - 1:
                        raise LabError("%s: host number %s of %s does not fit %s" % (what, host, node, net))


def _default_segments(topology):
    """(node, family) -> the segment giving that node its default route: the first (sorted) of that family."""
    defaults = {}
    for segment_name, segment in sorted(topology["segments"].items()):
        for node, host in segment["attach"].items():
            for family in ("ipv6", "ipv4"):
                if host is not None and segment.get(family):
                    defaults.setdefault((node, family), segment_name)
    return defaults


def _attachments(topology, node):
    """(segment name, segment, index of the router's port) of every segment `node` is attached to."""
    for segment_name, segment in sorted(topology["segments"].items()):
        for index, name in enumerate(sorted(segment["attach"])):
            if name == node:
                yield segment_name, segment, index


def wire_node(topology, pids, node):
    """Cable `node` into every segment it is attached to: veth, addresses, default routes."""
    defaults = _default_segments(topology)
    for segment_name, segment, index in _attachments(topology, node):
        router, port, host = pids[segment["router"]], _segment_ifname(segment_name, index), segment["attach"][node]
        mtu = str(segment.get("mtu", 1500))  # a small one reproduces a node behind a small-MTU path
        subprocess.run(["ip", "link", "add", segment_name, "netns", str(pids[node]), "mtu", mtu, "type", "veth",
                        "peer", "name", port, "netns", str(router), "mtu", mtu], check=True, capture_output=True)
        run(pids[node], ["ip", "link", "set", segment_name, "up"])
        run(router, ["ip", "link", "set", port, "master", "br-" + segment_name, "up"])
        for machine, ifname in ((pids[node], segment_name), (router, port)):
            steer_received(machine, ifname)
        if host is None:
            continue  # an interface without addresses: the exit's uplink parent
        for family in ("ipv6", "ipv4"):
            if segment.get(family):
                add_address(pids[node], segment_name, _host(segment[family], host))
                if defaults.get((node, family)) == segment_name:
                    run(pids[node], ["ip", "-6" if family == "ipv6" else "-4", "route", "add", "default",
                                     "via", _host(segment[family], 1).split("/")[0]])


def steer_received(pid, ifname):
    """What a lab machine receives on a cable, handled on a CPU of its own (RPS) as on a separate machine.

    A veth hands a packet to its peer in the sender's own softirq, so without
    this every router between two nodes (NAT, switch, a relay) runs in the
    sending wireguard-go's thread, one after the other: the lab's internet
    would cost the nodes' CPU serially, which a farm's routers never do (what
    that cost is measured in docs/lab.md). sysfs shows a namespace's devices to
    a mount made in it: a private mount namespace of its own, as `ip netns exec`
    makes.
    """
    mask = steering.wanted_mask()
    if mask:
        run(pid, ["unshare", "--mount", "--propagation", "private", "sh", "-c",
                  'mount -t sysfs sysfs /sys && echo "$1" > "/sys/class/net/$2/queues/rx-0/rps_cpus"', "steer",
                  steering.text(mask), ifname])


def _build_routers(topology, pids):
    routers = set()
    for segment_name, segment in sorted(topology["segments"].items()):
        router = pids[segment["router"]]
        bridge = "br-" + segment_name
        run(router, ["ip", "link", "add", bridge, "mtu", str(segment.get("mtu", 1500)), "type", "bridge"])
        run(router, ["ip", "link", "set", bridge, "up"])
        for family in ("ipv6", "ipv4"):
            if segment.get(family):
                add_address(router, bridge, _host(segment[family], 1))
        if segment["router"] not in routers:
            routers.add(segment["router"])
            # a route whose link lost its carrier (its only node gone: a dead exit's uplink) is not used, as a
            # real router stops using a dead next hop (docs/routing.md, exit failover)
            run(router, ["sysctl", "-qw", "net.ipv6.conf.all.forwarding=1", "net.ipv4.ip_forward=1",
                         "net.ipv6.conf.all.ignore_routes_with_linkdown=1",
                         "net.ipv6.conf.default.ignore_routes_with_linkdown=1",
                         "net.ipv4.conf.all.ignore_routes_with_linkdown=1"])
            # a segment is a switch: where the machine loads br_netfilter (Docker does), bridged frames would
            # go through the router's IP firewall hooks and cost the lab's underlay a quarter of a tunnel's
            # throughput (benchmarks/dataplane_benchmark.py); -e: no such keys without br_netfilter
            run(router, ["sysctl", "-qwe", "net.bridge.bridge-nf-call-iptables=0",
                         "net.bridge.bridge-nf-call-ip6tables=0", "net.bridge.bridge-nf-call-arptables=0"])
        if segment.get("masquerade") and segment.get("ipv4"):
            rules = ("table ip gridnet_lab_nat {\n chain postrouting {\n"
                     "  type nat hook postrouting priority srcnat;\n"
                     '  ip saddr %s oifname != "%s" masquerade\n }\n}\n' % (segment["ipv4"], bridge))
            run(router, ["nft", "-f", "-"], input=rules)


def persistent_dir(directory, node):
    """The machine directory that is `node`'s /var/lib, kept across its reboots."""
    return os.path.join(directory, "nodes", node, "var-lib")


def build_farm(topology, lab=DEFAULT_LAB, on_started=None, directory=None):
    """Start every node and wire the segments. Returns {node: pid}.

    on_started(pids) is called after each node starts, so whoever records the
    lab's state never misses a process, even when the build fails half-way.
    With a `directory`, each node keeps its /var/lib there across reboots.
    """
    validate_topology(topology)
    pids = {}
    for name in farm_nodes(topology):
        pids[name] = start_node(name, lab, persistent_dir(directory, name) if directory else None)
        if on_started:
            on_started(dict(pids))
    _build_routers(topology, pids)
    for name in farm_nodes(topology):
        wire_node(topology, pids, name)
    return pids


def reboot_node(topology, lab, directory, pids, node):
    """Kill `node`'s anchor (every process, namespace and /run of it goes) and boot it again.

    The new anchor keeps the node's /var/lib, is wired as at the build, then
    starts the node agent as a real node's init would. Returns (new pid, the
    monotonic time the new anchor started).
    """
    check_not_a_router(topology, node, "rebooted")
    stop_node(pids[node])
    return boot_node(topology, lab, directory, pids, node)


def check_not_a_router(topology, node, what):
    if any(segment["router"] == node for segment in topology["segments"].values()):
        raise LabError("node %s routes a segment; only nodes that are not segment routers can be %s" % (node, what))


def boot_node(topology, lab, directory, pids, node):
    """Boot `node` whose anchor is gone (killed, or stopped by reboot_node): a new anchor with its /var/lib kept,
    wired as at the build, its agent started. Returns (new pid, the monotonic time it started)."""
    # the dead node's network namespace (and the router end of each of its cables) goes a moment later
    ports = [(pids[segment["router"]], _segment_ifname(name, index)) for name, segment, index in _attachments(topology, node)]
    deadline = time.monotonic() + 10
    while any(run(router, ["ip", "link", "show", port], check=False).returncode == 0 for router, port in ports):
        if time.monotonic() > deadline:
            raise LabError("the cables of %s did not go with its old anchor" % node)
        time.sleep(0.05)
    started = time.monotonic()
    pids = dict(pids, **{node: start_node(node, lab, persistent_dir(directory, node))})
    wire_node(topology, pids, node)
    boot_agent(pids[node])
    return pids[node], started


def _host(net, number):
    """Host N of a segment: .N in IPv4, ::N (the same digits) in IPv6, as address/len."""
    network = ipaddress.ip_network(net)
    index = int(str(number), 16) if network.version == 6 else int(number)
    return "%s/%d" % (network[index], network.prefixlen)


def stop_farm(lab, recorded=None):
    """Stop every anchor of `lab`: those recorded (checked against PID reuse) and any found by their mark."""
    pids = {name: pid for name, pid in (recorded or {}).items() if is_anchor(pid, name, lab)}
    pids.update(find_anchors(lab))
    for pid in pids.values():
        stop_node(pid)
    return sorted(pids)


# ---------------------------------------------------------------- SSH and the inventory

_SSHD_CONFIG = """# The lab's sshd, run in inetd mode inside a node (sshd -i) by each connection.
HostKey {dir}/host_ed25519
AuthorizedKeysFile {dir}/authorized_keys
PermitRootLogin prohibit-password
PasswordAuthentication no
KbdInteractiveAuthentication no
UsePAM no
StrictModes no
PidFile none
LogLevel ERROR
Subsystem sftp internal-sftp
"""


def ssh_setup(directory):
    """Keys and an sshd configuration for the lab's nodes, under DIRECTORY/ssh; returns that folder."""
    folder = os.path.join(directory, "ssh")
    os.makedirs(folder, mode=0o700, exist_ok=True)
    for key in ("host_ed25519", "id_ed25519"):
        if not os.path.exists(os.path.join(folder, key)):
            subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", "gridnet-lab",
                            "-f", os.path.join(folder, key)], check=True, capture_output=True)
    with open(os.path.join(folder, "id_ed25519.pub")) as handle:
        public = handle.read()
    for name, text in (("authorized_keys", public), ("sshd_config", _SSHD_CONFIG.format(dir=folder))):
        with open(os.path.join(folder, name), "w") as handle:
            handle.write(text)
    return folder


def ssh_vars(lab, node, pid, folder):
    """How Ansible reaches a node over real SSH: the node's sshd, started inside it by each connection."""
    proxy = "nsenter --target %d --net --mount --uts --ipc --pid %s -i -f %s" % (
        pid, SSHD, shlex.quote(os.path.join(folder, "sshd_config")))
    return {
        "ansible_connection": "ssh",
        "ansible_host": "%s.%s" % (lab, node),  # unique per lab: ssh's ControlPath is keyed on it
        "ansible_user": "root",
        "ansible_ssh_private_key_file": os.path.join(folder, "id_ed25519"),
        "ansible_ssh_common_args": "-o ProxyCommand=%s -o StrictHostKeyChecking=no -o UserKnownHostsFile=/dev/null"
                                   " -o LogLevel=ERROR" % shlex.quote(proxy),
    }


def inventory(topology, networks, pids, python, lab=DEFAULT_LAB, connection="nsenter", ssh_folder=None):
    """The lab's Ansible inventory: its hosts, their variables, reached by nsenter or ssh."""
    hosts, groups = {}, {}
    for name, variables in sorted((topology.get("hosts") or {}).items()):
        variables = dict(variables or {})
        for group in variables.pop("groups", []):
            groups.setdefault(group, {"hosts": {}})["hosts"][name] = None
        if connection == "ssh":
            variables.update(ssh_vars(lab, name, pids[name], ssh_folder))
        else:
            variables["ansible_nsenter_pid"] = pids[name]
        hosts[name] = variables
    common = {
        "ansible_python_interpreter": python,
        "gridnet_tenant_networks": networks,
        "gridnet_tenant_verify_internet": topology.get("internet") or {},
    }
    if connection != "ssh":
        common["ansible_connection"] = "community.docker.nsenter"
    return {"all": {"vars": common, "hosts": hosts, "children": groups}}
