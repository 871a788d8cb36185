"""Data-plane throughput and RTT: the mesh against a bare wireguard-go tunnel and a veth.

Paths, each one TCP stream of iperf3 (Debian's) for 10 s, IPv6, and 20 pings:
  veth       two fresh namespaces joined by a veth with the mesh's MTU (the ceiling)
  bare       a bare wireguard-go tunnel between two fresh namespaces (veth underlay,
             the mesh link's MTU): what one tunnel costs on this machine
  bare-tuned the same, tuned as the collection tunes its own wireguard-go links
             (userspace_tuning.py: UDP socket buffers raised, received packets steered to
             every CPU): what the mesh adds on top of a tunnel, like for like
  bare-lab   that tuned tunnel between the lab nodes dc1 and dc2 themselves, over the
             lab's underlay (its segment)
  mesh       workload dc1 -> workload dc2 of the default lab: bridge, veths, the
             resource namespaces' routing and one WireGuard link of the mesh
  direct     workload home1 -> workload dc1: a hidden node over its direct link
  relayed    workload home1 -> workload home2: hidden to hidden, through the exit
The paths are measured in turn, 3 rounds (interleaved: veth, bare, mesh, direct,
relayed, then again); medians printed with mesh/bare and relayed/direct, and TCP
retransmits (each a datagram lost on the way, mostly at a full socket buffer). The
lab (its own name) and the two fresh namespaces (anchors in their own network
and mount namespaces) are removed afterwards. Needs root.

    .venv/bin/python benchmarks/dataplane_benchmark.py
"""

import json
import os
import re
import signal
import statistics
import subprocess
import tempfile
import time

import sys

import yaml

from labrun import ROOT, lab_env, load, playbook

sys.path.insert(0, os.path.join(ROOT, ".build", "collections"))
from ansible_collections.gridnet.tenant.plugins.module_utils.lab import lab_farm
from ansible_collections.gridnet.tenant.plugins.module_utils.node import udp_buffers  # noqa: E402
SECONDS = 10
ROUNDS = 3


def sh(argv, **kwargs):
    return subprocess.run(argv, capture_output=True, text=True, check=True, **kwargs).stdout


def inside(pid, argv, namespace=None):
    """argv in a lab node or an anchor (its network and mount namespaces), optionally in a netns of its own."""
    return ["nsenter", "-t", str(pid), "-n", "-m", "--"] + (["ip", "netns", "exec", namespace] if namespace else []) + argv


class Anchor(object):
    """A process holding a fresh network namespace and a mount namespace with its own /run."""

    def __init__(self):
        self.process = subprocess.Popen(
            ["unshare", "--net", "--mount", "--fork", "sh", "-c",
             "mount -t tmpfs gridnet-bench /run && mkdir -p /run/wireguard && exec sleep 100000"],
            start_new_session=True)
        deadline = time.monotonic() + 5
        while time.monotonic() < deadline:
            children = sh(["ps", "-o", "pid=", "--ppid", str(self.process.pid)]).split()
            if children and os.path.isdir("/proc/%s/root/run/wireguard" % children[0]):
                self.pid = int(children[0])
                return
            time.sleep(0.05)
        raise RuntimeError("anchor did not start")

    def stop(self):
        os.killpg(self.process.pid, signal.SIGKILL)
        self.process.wait()


def bare_pair(mtu):
    """Two anchors joined by a veth underlay (mtu 1500), a veth (mtu) and a wireguard-go tunnel (mtu)."""
    a, b = Anchor(), Anchor()
    tag = str(os.getpid())
    for kind, suffix, link_mtu in (("under", "u", 1500), ("plain", "p", mtu)):
        left, right = "gb%s%sa" % (tag, suffix), "gb%s%sb" % (tag, suffix)
        sh(["ip", "link", "add", left, "mtu", str(link_mtu), "type", "veth", "peer", "name", right, "mtu", str(link_mtu)])
        sh(["ip", "link", "set", left, "netns", str(a.pid)])
        sh(["ip", "link", "set", right, "netns", str(b.pid)])
        for anchor, name, host in ((a, left, 1), (b, right, 2)):
            net = "2001:db8:b0::" if kind == "under" else "2001:db8:b1::"
            sh(inside(anchor.pid, ["ip", "link", "set", name, "name", kind, "up"]))
            sh(inside(anchor.pid, ["ip", "addr", "add", "%s%d/64" % (net, host), "dev", kind, "nodad"]))
            sh(inside(anchor.pid, ["ip", "link", "set", "lo", "up"]))
    return a, b, tunnel([(a.pid, "2001:db8:b0::1"), (b.pid, "2001:db8:b0::2")], mtu, "wg0", "2001:db8:b2::") \
        + tunnel([(a.pid, "2001:db8:b0::1"), (b.pid, "2001:db8:b0::2")], mtu, "wg1", "2001:db8:b4::", 51821,
                 tuned=True)


def tunnel(ends, mtu, ifname, subnet, port=51820, tuned=False):
    """A bare wireguard-go tunnel `ifname` between two namespaces [(pid, underlay address)], subnet::1 and ::2
    on it, `tuned` as the collection tunes its links or left as wireguard-go leaves them. Returns the daemons
    (the interfaces go with them)."""
    keys, daemons = [], []
    for pid, _address in ends:
        private = sh(["wg", "genkey"]).strip()
        keys.append((private, sh(["wg", "pubkey"], input=private).strip()))
        daemons.append(subprocess.Popen(inside(pid, ["wireguard-go", "-f", ifname]), stdout=subprocess.DEVNULL,
                                        stderr=subprocess.DEVNULL, start_new_session=True))
    for me, (pid, _address) in enumerate(ends):
        peer_address = ends[1 - me][1]
        deadline = time.monotonic() + 5
        while subprocess.run(inside(pid, ["wg", "show", ifname]), capture_output=True, check=False).returncode:
            if time.monotonic() > deadline:
                raise RuntimeError("wireguard-go did not start")
            time.sleep(0.05)
        with tempfile.NamedTemporaryFile("w") as key_file:
            key_file.write(keys[me][0])
            key_file.flush()
            sh(inside(pid, ["wg", "set", ifname, "private-key", key_file.name, "listen-port", str(port), "peer",
                            keys[1 - me][1], "endpoint", "[%s]:%d" % (peer_address, port), "allowed-ips",
                            subnet + "/64"]))
        sh(inside(pid, ["ip", "link", "set", ifname, "mtu", str(mtu), "up"]))
        sh(inside(pid, ["ip", "addr", "add", "%s%d/64" % (subnet, me + 1), "dev", ifname, "nodad"]))
    for daemon, (pid, _address) in zip(daemons, ends) if tuned else ():  # nsenter execs wireguard-go
        deadline = time.monotonic() + 5
        while udp_buffers.smallest(daemon.pid) is None and time.monotonic() < deadline:
            time.sleep(0.01)
        udp_buffers.raise_to(daemon.pid)
        lab_farm.steer_received(pid, ifname)  # as the collection steers its wireguard-go links
    return daemons


def measure(client, server, address):
    """(Mbit/s of one TCP stream for SECONDS, average RTT in ms, retransmits). client/server: (pid, netns or None)."""
    listener = subprocess.Popen(inside(server[0], ["iperf3", "-s", "-1", "-p", "5299"], server[1]),
                                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
    try:
        time.sleep(0.5)
        out = sh(inside(client[0], ["iperf3", "-c", address, "-p", "5299", "-t", str(SECONDS), "-J"], client[1]))
        end = json.loads(out)["end"]
        mbits, retransmits = end["sum_received"]["bits_per_second"] / 1e6, end["sum_sent"]["retransmits"]
    finally:
        listener.wait(timeout=20)
    pings = sh(inside(client[0], ["ping", "-n", "-q", "-c", "20", "-i", "0.05", address], client[1]))
    rtt = float(re.search(r"= [\d.]+/([\d.]+)/", pings).group(1))
    return mbits, rtt, retransmits


def workload(pid, peer_pid):
    """(a workload namespace on node pid in a network node peer_pid is in too, its peer's IPv6 address there)."""
    mine = set(sh(inside(pid, ["ip", "netns", "list"])).split())
    theirs = set(sh(inside(peer_pid, ["ip", "netns", "list"])).split())
    name = sorted(n for n in mine & theirs if n.startswith("gtv-"))[0]
    addresses = sh(inside(peer_pid, ["ip", "-6", "-o", "addr", "show", "dev", "eth0", "scope", "global"], name))
    return name, addresses.split()[3].split("/")[0]


def main():
    print("load average: %s" % load())
    directory = tempfile.mkdtemp(prefix="gridnet-dataplane-")
    env = lab_env("gridnet-dataplane", directory)
    inventory = os.path.join(directory, "inventory")
    anchors, daemons = [], []
    try:
        playbook(env, os.path.join(ROOT, "playbooks", "lab", "up.yml"))
        playbook(env, "-i", inventory, os.path.join(ROOT, "playbooks", "site.yml"))
        playbook(env, "-i", inventory, os.path.join(ROOT, "playbooks", "verify.yml"))  # leaves the workloads
        pids = json.load(open(os.path.join(directory, "state.json")))["nodes"]  # node -> its anchor's pid
        name, dc2 = workload(pids["dc1"], pids["dc2"])
        mtu = int(sh(inside(pids["dc1"], ["cat", "/sys/class/net/eth0/mtu"], name)))
        a, b, daemons = bare_pair(mtu)
        anchors = [a, b]
        # the same bare tunnel between the lab nodes dc1 and dc2 themselves, over the lab's underlay
        underlay = yaml.safe_load(open(os.path.join(inventory, "hosts.yml")))["all"]["hosts"]
        daemons += tunnel([(pids[n], underlay[n]["gridnet_tenant_underlay"]["ipv6"]) for n in ("dc1", "dc2")], mtu,
                          "wgbench0", "2001:db8:b3::", port=51998, tuned=True)
        home_net, home2 = workload(pids["home1"], pids["home2"])
        direct_net, dc1_for_home = workload(pids["home1"], pids["dc1"])
        paths = [
            ("veth", (a.pid, None), (b.pid, None), "2001:db8:b1::2"),
            ("bare", (a.pid, None), (b.pid, None), "2001:db8:b2::2"),
            ("bare-tuned", (a.pid, None), (b.pid, None), "2001:db8:b4::2"),
            ("bare-lab", (pids["dc1"], None), (pids["dc2"], None), "2001:db8:b3::2"),
            ("mesh", (pids["dc1"], name), (pids["dc2"], name), dc2),
            ("direct", (pids["home1"], direct_net), (pids["dc1"], direct_net), dc1_for_home),
            ("relayed", (pids["home1"], home_net), (pids["home2"], home_net), home2),
        ]
        results = {p[0]: [] for p in paths}
        for _unused in range(ROUNDS):
            for label, client, server, address in paths:
                results[label].append(measure(client, server, address))
    finally:
        for daemon in daemons:
            os.killpg(daemon.pid, signal.SIGTERM)
            daemon.wait()
        for anchor in anchors:
            anchor.stop()
        playbook(env, os.path.join(ROOT, "playbooks", "lab", "down.yml"))
    median = {k: tuple(statistics.median(r[i] for r in v) for i in range(3)) for k, v in results.items()}
    print("one TCP stream for %d s, IPv6, MTU %d, medians of %d interleaved rounds:" % (SECONDS, mtu, ROUNDS))
    for label, (mbits, rtt, retransmits) in median.items():
        print("  %-11s %6.0f Mbit/s   RTT %6.3f ms   retransmits %6d   (rounds: %s)"
              % (label, mbits, rtt, retransmits, " ".join("%.0f" % r[0] for r in results[label])))
    print("  mesh / bare tunnel:   %.2f throughput, %.2f RTT  (target >= 0.9)"
          % (median["mesh"][0] / median["bare"][0], median["mesh"][1] / median["bare"][1]))
    print("  mesh / bare tunnel tuned as the mesh's links are:   %.2f throughput, %.2f RTT"
          % (median["mesh"][0] / median["bare-tuned"][0], median["mesh"][1] / median["bare-tuned"][1]))
    print("  mesh / bare tunnel over the lab's underlay (dc1-dc2): %.2f throughput, %.2f RTT"
          % (median["mesh"][0] / median["bare-lab"][0], median["mesh"][1] / median["bare-lab"][1]))
    print("  relayed / direct:     %.2f throughput, %.2f RTT  (target >= 0.8)"
          % (median["relayed"][0] / median["direct"][0], median["relayed"][1] / median["direct"][1]))
    print("load average: %s" % load())


if __name__ == "__main__":
    main()
